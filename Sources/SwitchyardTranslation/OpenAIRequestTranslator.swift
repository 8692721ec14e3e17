import SwitchyardMessages

/// Turns a validated Anthropic Messages request into an OpenAI Chat Completions request body (issue 3).
///
/// What is carried over, and how:
/// - `system` (string or text blocks) becomes the first `system` message; `cache_control` is dropped, and a
///   system block that starts with `x-anthropic-billing-header:` (Claude Code's attribution line, different on
///   every request) is left out so that the upstream's prefix cache can hit. Text blocks are joined with a blank
///   line. `role: "system"` messages inside `messages` (SPEC §3) stay where they are, as `system` messages.
/// - User content: text (empty text dropped), images (`base64` → a `data:` URI, `url` → the URL) as
///   `image_url` parts, plain-text and content documents as text, base64 documents as `file` parts where the
///   dialect supports them. A user turn with text only is sent as one string (several blocks joined with a blank
///   line), since several servers accept only strings; with images or files it is a list of parts.
/// - `tool_result` blocks become `tool` messages (text joined with a newline; `is_error` prefixes `Error: `),
///   placed before the rest of the user's turn and directly after the assistant's tool calls (ahead of any
///   system message in between), as Chat Completions requires. Images inside a tool result go into the user
///   message that follows them, since many servers take text only in `tool` messages.
/// - Assistant content: text joined with a blank line; `tool_use` becomes `tool_calls` (ids kept, input as a
///   JSON-string `arguments`); `thinking` / `redacted_thinking` are never sent as text — with
///   ``OpenAIDialect/echoReasoningContent`` the thinking text goes to `reasoning_content` on turns that carry
///   tool calls (an empty string when there was none, which DeepSeek accepts).
/// - Consecutive messages of the same role (after the steps above) are merged into one, so servers whose chat
///   templates require alternation accept the conversation.
/// - `tools`: `input_schema` → `parameters` (top-level `$schema` dropped); server tools (a `type` other than
///   `custom`) and tools with `defer_loading: true` are left out — the first cannot run on another provider,
///   the second are, as on Anthropic, not shown to the model until discovered. `strict`, `cache_control` and
///   `input_examples` are dropped.
/// - `tool_choice` auto/any/tool/none → `auto`/`required`/`{"type":"function",…}`/`none`;
///   `disable_parallel_tool_use: true` → `parallel_tool_calls: false`. Both are sent only with tools.
/// - `max_tokens` under the dialect's name, `temperature`, `top_p`, `stop_sequences` → `stop`, `top_k` only
///   where supported, `metadata.user_id` → `user`, `output_config.format` (JSON schema) → `response_format`.
/// - `thinking`: an enabled budget maps to effort `low` (≤ 1024), `medium` (≤ 8192) or `high`; adaptive
///   thinking uses `output_config.effort` (`max` counts as `high`), else `medium`; sent per
///   ``OpenAIDialect/reasoning``.
/// - `stream: true` adds `stream_options: {"include_usage": true}` so that the final chunk carries usage.
///
/// Dropped because Chat Completions has no equivalent: `cache_control` everywhere, `context_management`,
/// `container`, `mcp_servers`, `service_tier`, `inference_geo`, `thinking.display`, document `citations` /
/// `context`, the Anthropic-only headers (the caller never copies them).
///
/// Refused with ``InvalidRequest`` (400) because dropping them would change the answer's meaning: block types
/// this translator does not know (SPEC §3), images where the endpoint takes none, base64 documents where it
/// takes no files, document and image sources that are URLs or Files-API ids where no equivalent exists, and a
/// `tool_choice` naming a tool that is not sent.
public enum OpenAIRequestTranslator {
    /// The Chat Completions JSON body for `request`.
    ///
    /// - Parameters:
    ///   - request: the validated Messages request.
    ///   - upstreamModel: the model name the endpoint knows.
    ///   - dialect: what the endpoint accepts.
    /// - Returns: the compact JSON body.
    /// - Throws: ``InvalidRequest`` for content the endpoint cannot express (see the type's documentation).
    public static func translate(
        _ request: MessagesRequest, upstreamModel: String, dialect: OpenAIDialect
    ) throws(InvalidRequest) -> [UInt8] {
        var builder = Builder(dialect: dialect)
        try builder.build(root: request.root)
        return builder.encode(
            root: request.root, upstreamModel: upstreamModel, maxTokens: request.maxTokens,
            stream: request.stream, thinking: request.thinking,
            // The same texts in other framing: reserved once, not regrown by doubling through large allocations.
            capacity: request.body.count + 1024
        )
    }

    /// The effort (`low`, `medium`, `high`) a thinking setting maps to, or `nil` when no reasoning is asked for.
    public static func reasoningEffort(for thinking: Thinking?, outputConfig: JSONObject?) -> String? {
        switch thinking {
        case .enabled(let budget)?:
            if budget <= 1024 { return "low" }
            if budget <= 8192 { return "medium" }
            return "high"
        case .adaptive?:
            switch outputConfig?["effort"]?.stringValue {
            case "low"?, "minimal"?: return "low"
            case "high"?, "max"?, "xhigh"?: return "high"
            default: return "medium"
            }
        case .disabled?, .other?, nil:
            return nil
        }
    }

    /// The prefix of Claude Code's per-request attribution block.
    static let billingHeaderPrefix = "x-anthropic-billing-header:"
}

// MARK: - The conversation in Chat Completions terms

/// One content part of a Chat Completions message.
enum ChatPart: Equatable {
    case text(String)
    case imageURL(String)
    case file(filename: String, data: String)
}

/// One `tool_calls` entry.
struct ChatToolCall {
    var id: String
    var name: String
    var arguments: [UInt8]
}

/// One Chat Completions message before encoding.
struct ChatMessage {
    enum Role { case system, user, assistant, tool }
    var role: Role
    var parts: [ChatPart] = []
    var toolCalls: [ChatToolCall] = []
    var toolCallID = ""
    /// `reasoning_content` to send (assistant turns with tool calls, when the dialect echoes it).
    var reasoning: String?
}

private struct Builder {
    let dialect: OpenAIDialect
    var messages: [ChatMessage] = []
    var tools: [(name: String, json: [UInt8])] = []

    init(dialect: OpenAIDialect) {
        self.dialect = dialect
    }

    // MARK: Building

    mutating func build(root: JSONObject) throws(InvalidRequest) {
        if let system = root["system"] {
            let text = systemText(system)
            if !text.isEmpty { push(ChatMessage(role: .system, parts: [.text(text)])) }
        }
        for (index, message) in (root["messages"]?.arrayValue ?? []).enumerated() {
            let content = message["content"] ?? .string("")
            switch message["role"]?.stringValue {
            case "system": try systemMessage(content, index: index)
            case "assistant": try assistantMessage(content, index: index)
            default: try userMessage(content, index: index)
            }
        }
        if messages.isEmpty {
            throw InvalidRequest(message: "messages: nothing to send: every message is empty once translated")
        }
        tools = collectTools(root["tools"]?.arrayValue ?? [])
        if let choice = root["tool_choice"]?.objectValue, choice["type"]?.stringValue == "tool",
           let name = choice["name"]?.stringValue, !tools.contains(where: { $0.name == name }) {
            throw InvalidRequest(
                message: "tool_choice.name: tool '\(name)' is not among the tools this model's upstream is sent (server tools and deferred tools are not)"
            )
        }
    }

    /// Appends `message`, merging it into the previous one when both have the same role (not `tool`).
    mutating func push(_ message: ChatMessage) {
        guard var last = messages.last, last.role == message.role, message.role != .tool else {
            messages.append(message)
            return
        }
        last.parts.append(contentsOf: message.parts)
        last.toolCalls.append(contentsOf: message.toolCalls)
        if let reasoning = message.reasoning { last.reasoning = (last.reasoning ?? "") + reasoning }
        messages[messages.count - 1] = last
    }

    func systemText(_ system: JSONValue) -> String {
        switch system {
        case .string(let text):
            return text
        case .array(let blocks):
            var texts: [String] = []
            for block in blocks {
                guard let text = block["text"]?.stringValue, !text.isEmpty else { continue }
                if text.hasPrefix(OpenAIRequestTranslator.billingHeaderPrefix) { continue }
                texts.append(text)
            }
            return texts.joined(separator: "\n\n")
        default:
            return ""
        }
    }

    mutating func systemMessage(_ content: JSONValue, index: Int) throws(InvalidRequest) {
        var parts: [ChatPart] = []
        switch content {
        case .string(let text):
            if !text.isEmpty { parts.append(.text(text)) }
        case .array(let blocks):
            for (blockIndex, block) in blocks.enumerated() {
                let type = block["type"]?.stringValue ?? ""
                guard type == "text" else {
                    throw refusal(index, blockIndex, "a '\(type)' block cannot be sent in a system message to this model's upstream")
                }
                if let text = block["text"]?.stringValue, !text.isEmpty { parts.append(.text(text)) }
            }
        default:
            break
        }
        if !parts.isEmpty { push(ChatMessage(role: .system, parts: parts)) }
    }

    mutating func userMessage(_ content: JSONValue, index: Int) throws(InvalidRequest) {
        var parts: [ChatPart] = []
        var toolMessages: [ChatMessage] = []
        switch content {
        case .string(let text):
            if !text.isEmpty { parts.append(.text(text)) }
        case .array(let blocks):
            for (blockIndex, block) in blocks.enumerated() {
                let type = block["type"]?.stringValue ?? ""
                switch type {
                case "text":
                    if let text = block["text"]?.stringValue, !text.isEmpty { parts.append(.text(text)) }
                case "image":
                    parts.append(try image(block, index, blockIndex))
                case "document":
                    parts.append(contentsOf: try document(block, index, blockIndex))
                case "tool_result":
                    let (message, extra) = try toolResult(block, index, blockIndex)
                    toolMessages.append(message)
                    parts.append(contentsOf: extra)
                case "thinking", "redacted_thinking":
                    continue  // never sent as text
                case "tool_use":
                    throw refusal(index, blockIndex, "tool_use blocks belong in assistant messages")
                default:
                    throw unknownBlock(type, index, blockIndex)
                }
            }
        default:
            break
        }
        if !toolMessages.isEmpty {
            // Tool messages must follow the assistant's tool calls directly: go ahead of system messages that
            // were placed in between.
            var insertion = messages.endIndex
            while insertion > messages.startIndex, messages[insertion - 1].role == .system { insertion -= 1 }
            if insertion > messages.startIndex, messages[insertion - 1].role == .assistant || messages[insertion - 1].role == .tool {
                messages.insert(contentsOf: toolMessages, at: insertion)
            } else {
                messages.append(contentsOf: toolMessages)
            }
        }
        if !parts.isEmpty { push(ChatMessage(role: .user, parts: parts)) }
    }

    mutating func assistantMessage(_ content: JSONValue, index: Int) throws(InvalidRequest) {
        var parts: [ChatPart] = []
        var calls: [ChatToolCall] = []
        var thinking: [String] = []
        switch content {
        case .string(let text):
            if !text.isEmpty { parts.append(.text(text)) }
        case .array(let blocks):
            for (blockIndex, block) in blocks.enumerated() {
                let type = block["type"]?.stringValue ?? ""
                switch type {
                case "text":
                    if let text = block["text"]?.stringValue, !text.isEmpty { parts.append(.text(text)) }
                case "tool_use":
                    var arguments: [UInt8] = []
                    arguments.append(json: block["input"] ?? .object(JSONObject()))
                    calls.append(ChatToolCall(
                        id: block["id"]?.stringValue ?? "", name: block["name"]?.stringValue ?? "", arguments: arguments
                    ))
                case "thinking":
                    if let text = block["thinking"]?.stringValue { thinking.append(text) }
                case "redacted_thinking":
                    continue  // opaque to any other provider
                case "image", "document", "tool_result":
                    throw refusal(index, blockIndex, "a '\(type)' block cannot be sent in an assistant message to this model's upstream")
                default:
                    throw unknownBlock(type, index, blockIndex)
                }
            }
        default:
            break
        }
        guard !parts.isEmpty || !calls.isEmpty else { return }
        var message = ChatMessage(role: .assistant, parts: parts, toolCalls: calls)
        if dialect.echoReasoningContent, !calls.isEmpty { message.reasoning = thinking.joined() }
        push(message)
    }

    func image(_ block: JSONValue, _ index: Int, _ blockIndex: Int) throws(InvalidRequest) -> ChatPart {
        guard dialect.supportsImages else {
            throw refusal(index, blockIndex, "this model's upstream does not accept images")
        }
        let source = block["source"]
        switch source?["type"]?.stringValue {
        case "base64":
            let mediaType = source?["media_type"]?.stringValue ?? "image/jpeg"
            return .imageURL("data:\(mediaType);base64,\(source?["data"]?.stringValue ?? "")")
        case "url":
            return .imageURL(source?["url"]?.stringValue ?? "")
        case let other:
            throw refusal(index, blockIndex, "image source type '\(other ?? "")' cannot be sent to this model's upstream")
        }
    }

    func document(_ block: JSONValue, _ index: Int, _ blockIndex: Int) throws(InvalidRequest) -> [ChatPart] {
        let source = block["source"]
        switch source?["type"]?.stringValue {
        case "text":
            let text = source?["data"]?.stringValue ?? ""
            return text.isEmpty ? [] : [.text(text)]
        case "content":
            switch source?["content"] {
            case .string(let text)?:
                return text.isEmpty ? [] : [.text(text)]
            case .array(let blocks)?:
                var parts: [ChatPart] = []
                for nested in blocks {
                    switch nested["type"]?.stringValue {
                    case "text":
                        if let text = nested["text"]?.stringValue, !text.isEmpty { parts.append(.text(text)) }
                    case "image":
                        parts.append(try image(nested, index, blockIndex))
                    case let other:
                        throw refusal(index, blockIndex, "a '\(other ?? "")' block inside a document cannot be sent to this model's upstream")
                    }
                }
                return parts
            default:
                return []
            }
        case "base64":
            guard dialect.supportsDocuments else {
                throw refusal(index, blockIndex, "this model's upstream does not accept PDF documents")
            }
            let mediaType = source?["media_type"]?.stringValue ?? "application/pdf"
            let filename = block["title"]?.stringValue ?? "document.pdf"
            return [.file(filename: filename, data: "data:\(mediaType);base64,\(source?["data"]?.stringValue ?? "")")]
        case let other:
            throw refusal(index, blockIndex, "document source type '\(other ?? "")' cannot be sent to this model's upstream")
        }
    }

    /// The `tool` message for a `tool_result` block, and the parts (images, files) that must travel in the user
    /// message instead.
    func toolResult(_ block: JSONValue, _ index: Int, _ blockIndex: Int) throws(InvalidRequest) -> (ChatMessage, [ChatPart]) {
        var texts: [String] = []
        var extra: [ChatPart] = []
        switch block["content"] {
        case .string(let text)?:
            if !text.isEmpty { texts.append(text) }
        case .array(let blocks)?:
            for nested in blocks {
                let type = nested["type"]?.stringValue ?? ""
                switch type {
                case "text":
                    if let text = nested["text"]?.stringValue, !text.isEmpty { texts.append(text) }
                case "image":
                    extra.append(try image(nested, index, blockIndex))
                case "document":
                    for part in try document(nested, index, blockIndex) {
                        if case .text(let text) = part { texts.append(text) } else { extra.append(part) }
                    }
                default:
                    throw refusal(index, blockIndex, "a '\(type)' block inside a tool_result cannot be sent to this model's upstream")
                }
            }
        default:
            break
        }
        var text = texts.joined(separator: "\n")
        if block["is_error"]?.boolValue == true { text = text.isEmpty ? "Error" : "Error: \(text)" }
        let message = ChatMessage(
            role: .tool, parts: [.text(text)], toolCallID: block["tool_use_id"]?.stringValue ?? ""
        )
        return (message, extra)
    }

    func collectTools(_ list: [JSONValue]) -> [(name: String, json: [UInt8])] {
        var tools: [(name: String, json: [UInt8])] = []
        for tool in list {
            if let type = tool["type"]?.stringValue, type != "custom" { continue }  // server tool
            if tool["defer_loading"]?.boolValue == true { continue }
            let name = tool["name"]?.stringValue ?? ""
            var json: [UInt8] = []
            json.append(literal: #"{"type":"function","function":{"name":"#)
            json.append(quoted: name)
            if let description = tool["description"]?.stringValue {
                json.append(literal: #","description":"#)
                json.append(quoted: description)
            }
            json.append(literal: #","parameters":"#)
            if case .object(var schema)? = tool["input_schema"] {
                schema.members.removeAll { $0.key == "$schema" }
                json.append(json: .object(schema))
            } else {
                json.append(literal: #"{"type":"object","properties":{}}"#)
            }
            json.append(literal: "}}")
            tools.append((name, json))
        }
        return tools
    }

    // MARK: Encoding

    func encode(
        root: JSONObject, upstreamModel: String, maxTokens: Int, stream: Bool, thinking: Thinking?, capacity: Int
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(capacity)
        out.append(literal: #"{"model":"#)
        out.append(quoted: upstreamModel)
        out.append(literal: #","messages":["#)
        for (index, message) in messages.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            encode(message, to: &out)
        }
        out.append(UInt8(ascii: "]"))

        if !tools.isEmpty {
            out.append(literal: #","tools":["#)
            for (index, tool) in tools.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: tool.json)
            }
            out.append(UInt8(ascii: "]"))
            if let choice = root["tool_choice"]?.objectValue {
                let type = choice["type"]?.stringValue
                switch type {
                case "auto": out.append(literal: #","tool_choice":"auto""#)
                case "any": out.append(literal: #","tool_choice":"required""#)
                case "none": out.append(literal: #","tool_choice":"none""#)
                case "tool":
                    out.append(literal: #","tool_choice":{"type":"function","function":{"name":"#)
                    out.append(quoted: choice["name"]?.stringValue ?? "")
                    out.append(literal: "}}")
                default: break
                }
                if type != "none", choice["disable_parallel_tool_use"]?.boolValue == true {
                    out.append(literal: #","parallel_tool_calls":false"#)
                }
            }
        }

        switch dialect.maxTokensField {
        case .maxTokens: out.append(literal: #","max_tokens":"#)
        case .maxCompletionTokens: out.append(literal: #","max_completion_tokens":"#)
        }
        out.append(integer: maxTokens)
        if let temperature = root["temperature"], case .number = temperature {
            out.append(literal: #","temperature":"#)
            out.append(json: temperature)
        }
        if let topP = root["top_p"], case .number = topP {
            out.append(literal: #","top_p":"#)
            out.append(json: topP)
        }
        if dialect.supportsTopK, let topK = root["top_k"], case .number = topK {
            out.append(literal: #","top_k":"#)
            out.append(json: topK)
        }
        if let stops = root["stop_sequences"]?.arrayValue, !stops.isEmpty {
            out.append(literal: #","stop":"#)
            out.append(json: .array(stops))
        }
        if let user = root["metadata"]?["user_id"]?.stringValue {
            out.append(literal: #","user":"#)
            out.append(quoted: user)
        }
        if let effort = OpenAIRequestTranslator.reasoningEffort(for: thinking, outputConfig: root["output_config"]?.objectValue) {
            switch dialect.reasoning {
            case .none:
                break
            case .effort:
                out.append(literal: #","reasoning_effort":"#)
                out.append(quoted: effort)
            case .field(let path):
                let names = path.split(separator: ".", omittingEmptySubsequences: true)
                guard !names.isEmpty else { break }
                // `a.b.c` → `"a":{"b":{"c":"high"}}`.
                for (level, name) in names.enumerated() {
                    out.append(UInt8(ascii: level == 0 ? "," : "{"))
                    out.append(quoted: String(name))
                    out.append(UInt8(ascii: ":"))
                }
                out.append(quoted: effort)
                for _ in 1..<names.count { out.append(UInt8(ascii: "}")) }
            }
        }
        if let format = root["output_config"]?["format"] ?? root["output_format"],
           format["type"]?.stringValue == "json_schema", let schema = format["schema"], case .object = schema {
            out.append(literal: #","response_format":{"type":"json_schema","json_schema":{"name":"response","schema":"#)
            out.append(json: schema)
            out.append(literal: "}}")
        }
        if stream {
            out.append(literal: #","stream":true,"stream_options":{"include_usage":true}"#)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    func encode(_ message: ChatMessage, to out: inout [UInt8]) {
        switch message.role {
        case .system:
            out.append(literal: #"{"role":"system","content":"#)
            out.append(quoted: joinedText(message.parts))
        case .user:
            out.append(literal: #"{"role":"user","content":"#)
            if message.parts.allSatisfy({ if case .text = $0 { true } else { false } }) {
                out.append(quoted: joinedText(message.parts))
            } else {
                out.append(UInt8(ascii: "["))
                for (index, part) in message.parts.enumerated() {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    encode(part, to: &out)
                }
                out.append(UInt8(ascii: "]"))
            }
        case .assistant:
            out.append(literal: #"{"role":"assistant","content":"#)
            if message.parts.isEmpty {
                out.append(literal: "null")
            } else {
                out.append(quoted: joinedText(message.parts))
            }
            if let reasoning = message.reasoning {
                out.append(literal: #","reasoning_content":"#)
                out.append(quoted: reasoning)
            }
            if !message.toolCalls.isEmpty {
                out.append(literal: #","tool_calls":["#)
                for (index, call) in message.toolCalls.enumerated() {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    out.append(literal: #"{"id":"#)
                    out.append(quoted: call.id)
                    out.append(literal: #","type":"function","function":{"name":"#)
                    out.append(quoted: call.name)
                    out.append(literal: #","arguments":"#)
                    call.arguments.withUnsafeBytes { JSONText.appendQuoted(utf8: $0, to: &out) }
                    out.append(literal: "}}")
                }
                out.append(UInt8(ascii: "]"))
            }
        case .tool:
            out.append(literal: #"{"role":"tool","tool_call_id":"#)
            out.append(quoted: message.toolCallID)
            out.append(literal: #","content":"#)
            out.append(quoted: joinedText(message.parts))
        }
        out.append(UInt8(ascii: "}"))
    }

    func encode(_ part: ChatPart, to out: inout [UInt8]) {
        switch part {
        case .text(let text):
            out.append(literal: #"{"type":"text","text":"#)
            out.append(quoted: text)
            out.append(UInt8(ascii: "}"))
        case .imageURL(let url):
            out.append(literal: #"{"type":"image_url","image_url":{"url":"#)
            out.append(quoted: url)
            out.append(literal: "}}")
        case .file(let filename, let data):
            out.append(literal: #"{"type":"file","file":{"filename":"#)
            out.append(quoted: filename)
            out.append(literal: #","file_data":"#)
            out.append(quoted: data)
            out.append(literal: "}}")
        }
    }

    /// The text parts joined with a blank line (other parts never reach here for system, assistant and tool
    /// messages).
    func joinedText(_ parts: [ChatPart]) -> String {
        var texts: [String] = []
        texts.reserveCapacity(parts.count)
        for part in parts { if case .text(let text) = part { texts.append(text) } }
        return texts.count == 1 ? texts[0] : texts.joined(separator: "\n\n")
    }

    // MARK: Refusals

    func refusal(_ index: Int, _ blockIndex: Int, _ reason: String) -> InvalidRequest {
        InvalidRequest(message: "messages.\(index).content.\(blockIndex): \(reason)")
    }

    func unknownBlock(_ type: String, _ index: Int, _ blockIndex: Int) -> InvalidRequest {
        refusal(index, blockIndex, "content block type '\(type)' is not supported for this model, whose upstream is not Anthropic")
    }
}
