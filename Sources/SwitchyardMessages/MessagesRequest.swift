/// The `thinking` setting of a request.
public enum Thinking: Sendable, Equatable {
    /// `{"type":"enabled","budget_tokens":N}`.
    case enabled(budgetTokens: Int)
    /// `{"type":"disabled"}`.
    case disabled
    /// `{"type":"adaptive"}` (the model decides; Claude Code sends it for models it does not recognise).
    case adaptive
    /// A type this gateway does not know yet; kept and forwarded unchanged.
    case other(type: String)
}

/// A validated `POST /v1/messages` body, parsed once, that can be forwarded byte for byte.
public struct MessagesRequest: Sendable {
    /// The requested model (id or alias, before routing).
    public let model: String
    /// `max_tokens`.
    public let maxTokens: Int
    /// `stream` (absent or null means `false`).
    public let stream: Bool
    /// The `models` extension: fallback models in order (empty when absent).
    public let fallbackModels: [String]
    /// The `provider` extension: routing preferences, only checked to be an object here.
    public let providerPreferences: JSONObject?
    /// The `thinking` setting, if given.
    public let thinking: Thinking?
    /// Whether tools are declared or tool_use / tool_result blocks appear.
    public let usesTools: Bool
    /// Whether any image block appears (also inside tool results).
    public let usesImages: Bool
    /// Whether any document block appears (also inside tool results).
    public let usesDocuments: Bool
    /// The whole parsed body.
    public let root: JSONObject
    /// The original body bytes.
    public let body: [UInt8]
    let spans: [MemberSpan]

    /// Parses and validates a body (SPEC §4, 400 rows). Unknown fields and unknown block types are accepted.
    public static func parse(_ body: [UInt8]) throws(InvalidRequest) -> MessagesRequest {
        let parsed = try ParsedBody.parse(body)
        let root = parsed.root
        var checker = RequestChecker()

        let model = try checker.model(root)
        let maxTokens = try checker.requiredInteger(root, "max_tokens", { "" })
        if maxTokens < 1 { throw .at("max_tokens", "Input should be greater than or equal to 1") }
        try checker.messages(root)
        try checker.system(root)
        try checker.optionalUnitNumber(root, "temperature")
        try checker.optionalUnitNumber(root, "top_p")
        if let topK = checker.optional(root, "top_k") {
            guard let k = topK.intValue else { throw .at("top_k", Problem.integer) }
            if k < 0 { throw .at("top_k", "Input should be greater than or equal to 0") }
        }
        _ = try checker.optionalStringArray(root, "stop_sequences")
        let stream = try checker.optionalBool(root, "stream", { "" }) ?? false
        if let metadata = try checker.optionalObject(root, "metadata", { "" }),
           let userID = metadata["user_id"], !userID.isNull, userID.stringValue == nil {
            throw .at("metadata.user_id", Problem.string)
        }
        try checker.tools(root)
        try checker.toolChoice(root)
        let thinking = try checker.thinking(root, maxTokens: maxTokens)
        let fallbackModels = try checker.fallbackModels(root)
        let providerPreferences = try checker.providerPreferences(root)

        return MessagesRequest(
            model: model, maxTokens: maxTokens, stream: stream, fallbackModels: fallbackModels,
            providerPreferences: providerPreferences, thinking: thinking, usesTools: checker.usesTools,
            usesImages: checker.usesImages, usesDocuments: checker.usesDocuments, root: root,
            body: parsed.bytes, spans: parsed.spans
        )
    }

    /// Parses and validates a body (the bytes are copied).
    public static func parse(_ body: UnsafeRawBufferPointer) throws(InvalidRequest) -> MessagesRequest {
        try parse([UInt8](body))
    }

    /// The original body with only the top-level `model` value replaced by `upstreamModel` (JSON-quoted) and the
    /// top-level `models` and `provider` members removed together with their separating comma. Every other byte
    /// (whitespace, key order, escapes, thinking signatures, unknown fields) is exactly as received.
    /// If the body repeats a top-level key, every `model` is replaced and every `models`/`provider` removed.
    public func forwardedBody(model upstreamModel: String) -> [UInt8] {
        ParsedBody(bytes: body, root: root, spans: spans).forwardedBody(model: upstreamModel)
    }
}
