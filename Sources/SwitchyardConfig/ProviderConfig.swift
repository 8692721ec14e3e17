/// One entry of `providers`: an upstream API the gateway forwards to.
public struct ProviderConfig: Sendable, Equatable {
    /// The provider's id, unique in the file; endpoints refer to it (`id`, required).
    public var id: String
    /// The wire dialect the provider speaks (`kind`, required).
    public var kind: ProviderKind
    /// The API's base URL (`base_url`, required), e.g. `https://api.anthropic.com` or `https://api.deepseek.com/v1`.
    public var baseURL: UpstreamURL
    /// The secret sent to the provider (`api_key`); usually `"${SOME_ENV_VAR}"`. Default `""` (no key sent).
    public var apiKey: String
    /// TLS options (`tls`). Default `nil`: the system trust roots.
    public var tls: TLSSettings?
    /// Per-provider timeout overrides (`timeouts`). Default `nil`: the top-level timeouts apply.
    public var timeouts: TimeoutOverrides?
    /// What an OpenAI-compatible API accepts (`openai`, only for `kind: openai`). Default: OpenAI's own dialect.
    public var openAI: OpenAIOptions

    /// Creates a provider entry.
    public init(
        id: String,
        kind: ProviderKind,
        baseURL: UpstreamURL,
        apiKey: String = "",
        tls: TLSSettings? = nil,
        timeouts: TimeoutOverrides? = nil,
        openAI: OpenAIOptions = OpenAIOptions()
    ) {
        self.openAI = openAI
        self.id = id
        self.kind = kind
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.tls = tls
        self.timeouts = timeouts
    }
}

/// The wire dialect of a provider; a struct with static members so kinds can be added.
public struct ProviderKind: Sendable, Hashable, CustomStringConvertible {
    /// The name used in the configuration file.
    public let rawValue: String

    private init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    /// The Anthropic Messages API (Anthropic itself, or any Anthropic-compatible endpoint): forwarded as is.
    public static let anthropic = ProviderKind("anthropic")
    /// Any OpenAI-compatible Chat Completions API (OpenAI, DeepSeek, vLLM, …): translated.
    public static let openai = ProviderKind("openai")
    /// Google Gemini's `generateContent` API: translated.
    public static let gemini = ProviderKind("gemini")

    /// Every kind the configuration accepts.
    public static let allKinds: [ProviderKind] = [.anthropic, .openai, .gemini]

    /// The kind named `name` in a configuration file, if any.
    public init?(name: String) {
        guard let kind = Self.allKinds.first(where: { $0.rawValue == name }) else { return nil }
        self = kind
    }

    public var description: String { self.rawValue }
}

/// A provider's `tls` section.
public struct TLSSettings: Sendable, Equatable {
    /// A PEM file of CA certificates to trust for this provider instead of the system roots (`ca_file`); for a
    /// private or test endpoint. Default `nil`.
    public var caFile: String?

    /// Creates TLS settings.
    ///
    /// - Parameter caFile: The CA bundle to trust, `nil` (the default) for the system roots.
    public init(caFile: String? = nil) {
        self.caFile = caFile
    }
}

/// The `openai:` block of a `kind: openai` provider: how its Chat Completions dialect differs.
public struct OpenAIOptions: Sendable, Equatable {
    /// The request field for the answer's length (`max_tokens_field`: `max_tokens` or `max_completion_tokens`).
    /// Default `max_tokens`.
    public var maxTokensField: String
    /// How extended thinking is asked for (`reasoning`): `effort` sends `reasoning_effort: low|medium|high`,
    /// `none` sends nothing, any other value names the field to send the effort in (a dotted name nests, e.g.
    /// `reasoning.effort`). Default `effort`.
    public var reasoning: String
    /// Whether `top_k` is sent (`top_k`). Default false: most OpenAI-compatible APIs refuse it.
    public var topK: Bool
    /// Whether the previous turns' reasoning is sent back as `reasoning_content` on assistant tool-call turns, as
    /// DeepSeek's thinking mode requires (`echo_reasoning_content`). Default false.
    public var echoReasoningContent: Bool

    public init(maxTokensField: String = "max_tokens", reasoning: String = "effort", topK: Bool = false,
                echoReasoningContent: Bool = false) {
        self.maxTokensField = maxTokensField
        self.reasoning = reasoning
        self.topK = topK
        self.echoReasoningContent = echoReasoningContent
    }
}
