/// What one OpenAI-compatible Chat Completions endpoint accepts, so that a Messages request is translated into a
/// body it takes (issue 3).
///
/// The defaults suit servers that follow api.openai.com's request shape: `max_tokens`, `reasoning_effort`, no
/// `top_k`, images but no `file` parts, no `reasoning_content` sent back. The configuration sets the rest per
/// endpoint.
public struct OpenAIDialect: Sendable, Equatable {
    /// The name under which the output limit is sent.
    public enum MaxTokensField: String, Sendable, Equatable, CaseIterable {
        /// `max_tokens`: accepted by nearly every OpenAI-compatible server.
        case maxTokens = "max_tokens"
        /// `max_completion_tokens`: what api.openai.com's reasoning models require.
        case maxCompletionTokens = "max_completion_tokens"
    }

    /// How a request's `thinking` setting reaches the endpoint.
    public enum Reasoning: Sendable, Equatable {
        /// Not sent: the endpoint has no reasoning control (thinking requests are answered without it).
        case none
        /// `reasoning_effort: "low" | "medium" | "high"` (OpenAI, Groq, DeepSeek, vLLM).
        case effort
        /// The effort string under a configured member name; a dotted name nests, so `"reasoning.effort"` sends
        /// `"reasoning": {"effort": "high"}` (OpenRouter).
        case field(String)
    }

    /// The member that carries `max_tokens`. Default ``MaxTokensField/maxTokens``.
    public var maxTokensField: MaxTokensField
    /// How thinking is expressed. Default ``Reasoning/effort``.
    public var reasoning: Reasoning
    /// Whether `top_k` is sent (vLLM, Together, Ollama accept it; api.openai.com does not). Default `false`:
    /// the parameter is dropped.
    public var supportsTopK: Bool
    /// Whether base64 PDF `document` blocks may be sent as `file` content parts. Default `false`: such a request
    /// is refused with 400 naming the limitation (plain-text documents are always sent as text).
    public var supportsDocuments: Bool
    /// Whether `image_url` content parts may be sent. Default `true`; when `false` a request with images is
    /// refused with 400 naming the limitation.
    public var supportsImages: Bool
    /// Whether earlier thinking is sent back as `reasoning_content` on assistant tool-call turns (DeepSeek's
    /// thinking mode rejects a tool-call turn without it). Default `false`.
    public var echoReasoningContent: Bool

    /// A dialect; every argument has the api.openai.com-like default.
    public init(
        maxTokensField: MaxTokensField = .maxTokens,
        reasoning: Reasoning = .effort,
        supportsTopK: Bool = false,
        supportsDocuments: Bool = false,
        supportsImages: Bool = true,
        echoReasoningContent: Bool = false
    ) {
        self.maxTokensField = maxTokensField
        self.reasoning = reasoning
        self.supportsTopK = supportsTopK
        self.supportsDocuments = supportsDocuments
        self.supportsImages = supportsImages
        self.echoReasoningContent = echoReasoningContent
    }

    /// The defaults.
    public static let standard = OpenAIDialect()
}
