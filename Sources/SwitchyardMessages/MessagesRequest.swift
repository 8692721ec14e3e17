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

/// A validated `POST /v1/messages` body that can be forwarded byte for byte.
///
/// Validation decodes nothing but the few strings it returns; the full tree (``root``) is parsed only when
/// something asks for it (translation, moderation, token estimates).
public struct MessagesRequest: Sendable {
    /// The requested model (id or alias, before routing).
    public let model: String
    /// `max_tokens`.
    public let maxTokens: Int
    /// `stream` (absent or null means `false`).
    public let stream: Bool
    /// The `models` extension: fallback models in order (empty when absent).
    public let fallbackModels: [String]
    /// `stop_sequences` (empty when absent or null).
    public let stopSequences: [String]
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
    /// Whether a `thinking` block in the history has an empty `signature` (one that a translated upstream made):
    /// Anthropic rejects those, so ``anthropicBody(model:)`` leaves them out.
    public let hasUnsignedThinking: Bool
    /// The original body bytes.
    public let body: [UInt8]
    let members: [TopLevelMember]
    private let lazyRoot: LazyJSONRoot

    /// The whole parsed body, parsed on first use (the pass-through path never needs it).
    public var root: JSONObject { lazyRoot.object }

    /// Parses and validates a body (SPEC §4, 400 rows). Unknown fields and unknown block types are accepted.
    public static func parse(_ body: [UInt8]) throws(InvalidRequest) -> MessagesRequest {
        try RequestBody.skim(body) { (root, members) throws(InvalidRequest) in
            try check(root, body: body, members: members)
        }
    }

    /// Validates a body through the full ``JSONValue`` tree: the reference that skim validation must agree with.
    static func parseWithFullTree(_ body: [UInt8]) throws(InvalidRequest) -> MessagesRequest {
        let (root, members) = try RequestBody.parse(body)
        return try check(root, body: body, members: members)
    }

    private static func check<Root: JSONTreeObject>(
        _ root: Root, body: [UInt8], members: [TopLevelMember]
    ) throws(InvalidRequest) -> MessagesRequest {
        var checker = RequestChecker<Root.Value>()

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
        let stopSequences = try checker.optionalStringArray(root, "stop_sequences")
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
            stopSequences: stopSequences, providerPreferences: providerPreferences, thinking: thinking,
            usesTools: checker.usesTools, usesImages: checker.usesImages, usesDocuments: checker.usesDocuments,
            hasUnsignedThinking: checker.hasUnsignedThinking, body: body, members: members,
            lazyRoot: LazyJSONRoot(body: body)
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
        RequestBody.forwarded(body, members: members, model: upstreamModel)
    }

    /// The body for an Anthropic upstream: ``forwardedBody(model:)``, except that when the history holds thinking
    /// blocks without a signature (made by a translated upstream earlier in the conversation), those blocks are
    /// dropped and the body is written anew from the parsed value (same members and order, compact spacing).
    public func anthropicBody(model upstreamModel: String) -> [UInt8] {
        guard hasUnsignedThinking else { return forwardedBody(model: upstreamModel) }
        return rewrittenAnthropicBody(model: upstreamModel)
    }

    /// ``anthropicBody(model:)`` handed to `write` in order, in pieces, so that the caller can copy it straight
    /// into its own buffer (one copy of a large body instead of two).
    public func writeAnthropicBody(model upstreamModel: String, _ write: (UnsafeRawBufferPointer) -> Void) {
        guard hasUnsignedThinking else {
            return RequestBody.forEachForwardedPiece(body, members: members, model: upstreamModel, write)
        }
        rewrittenAnthropicBody(model: upstreamModel).withUnsafeBytes(write)
    }

    private func rewrittenAnthropicBody(model upstreamModel: String) -> [UInt8] {
        var members: [(key: String, value: JSONValue)] = []
        for member in root.members {
            switch member.key {
            case "models", "provider":
                continue
            case "model":
                members.append((member.key, .string(upstreamModel)))
            case "messages":
                members.append((member.key, Self.droppingUnsignedThinking(member.value)))
            default:
                members.append(member)
            }
        }
        return JSONValue.object(JSONObject(members)).jsonBytes
    }

    private static func droppingUnsignedThinking(_ messages: JSONValue) -> JSONValue {
        guard let list = messages.arrayValue else { return messages }
        return .array(list.map { message in
            guard var object = message.objectValue, let content = object["content"]?.arrayValue else { return message }
            let kept = content.filter { block in
                !(block["type"]?.stringValue == "thinking" && block["signature"]?.stringValue?.isEmpty == true)
            }
            guard kept.count != content.count else { return message }
            object.members = object.members.map { $0.key == "content" ? ($0.key, .array(kept)) : $0 }
            return .object(object)
        })
    }
}
