/// A validated `POST /v1/messages/count_tokens` body, parsed once, that can be forwarded byte for byte.
public struct CountTokensRequest: Sendable {
    /// The requested model (id or alias, before routing).
    public let model: String
    /// The `models` extension: fallback models in order (empty when absent).
    public let fallbackModels: [String]
    /// The `provider` extension: routing preferences, only checked to be an object here.
    public let providerPreferences: JSONObject?
    /// The `thinking` setting, if given (no `max_tokens` here, so only `budget_tokens` ≥ 1 is checked).
    public let thinking: Thinking?
    /// Whether tools are declared or tool_use / tool_result blocks appear.
    public let usesTools: Bool
    /// Whether any image block appears.
    public let usesImages: Bool
    /// Whether any document block appears.
    public let usesDocuments: Bool
    /// The whole parsed body.
    public let root: JSONObject
    /// The original body bytes.
    public let body: [UInt8]
    let members: [TopLevelMember]

    /// Parses and validates a body: `model` and non-empty `messages` required, the same message, block, `system`,
    /// `tools`, `tool_choice` and `thinking` checks as Messages; no `max_tokens`.
    public static func parse(_ body: [UInt8]) throws(InvalidRequest) -> CountTokensRequest {
        let (root, members) = try RequestBody.parse(body)
        var checker = RequestChecker<JSONValue>()
        let model = try checker.model(root)
        try checker.messages(root)
        try checker.system(root)
        try checker.tools(root)
        try checker.toolChoice(root)
        let thinking = try checker.thinking(root, maxTokens: nil)
        let fallbackModels = try checker.fallbackModels(root)
        let providerPreferences = try checker.providerPreferences(root)
        return CountTokensRequest(
            model: model, fallbackModels: fallbackModels, providerPreferences: providerPreferences,
            thinking: thinking, usesTools: checker.usesTools, usesImages: checker.usesImages,
            usesDocuments: checker.usesDocuments, root: root, body: body, members: members
        )
    }

    /// Parses and validates a body (the bytes are copied).
    public static func parse(_ body: UnsafeRawBufferPointer) throws(InvalidRequest) -> CountTokensRequest {
        try parse([UInt8](body))
    }

    /// The original body with the top-level `model` value replaced and `models`/`provider` removed; see
    /// ``MessagesRequest/forwardedBody(model:)``.
    public func forwardedBody(model upstreamModel: String) -> [UInt8] {
        RequestBody.forwarded(body, members: members, model: upstreamModel)
    }
}
