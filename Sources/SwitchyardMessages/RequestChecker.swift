/// Problems, worded like the Anthropic API's own validation messages.
enum Problem {
    static let fieldRequired = "Field required"
    static let string = "Input should be a valid string"
    static let integer = "Input should be a valid integer"
    static let number = "Input should be a valid number"
    static let boolean = "Input should be a valid boolean"
    static let list = "Input should be a valid list"
    static let dictionary = "Input should be a valid dictionary"
    static let nonEmptyString = "String should have at least 1 character"
    static let stringOrBlocks = "Input should be a valid string or a list of content blocks"
    static let stringOrTextBlocks = "Input should be a valid string or a list of text blocks"
    static let role = "Input should be 'user', 'assistant' or 'system'"
    static let toolChoiceType = "Input should be 'auto', 'any', 'tool' or 'none'"
    static let imageSourceType = "Input should be 'base64', 'url' or 'file'"
    static let textType = "Input should be 'text'"
}

extension InvalidRequest {
    /// `path: problem`.
    static func at(_ path: String, _ problem: String) -> InvalidRequest {
        InvalidRequest(message: "\(path): \(problem)")
    }
}

/// `path.key`, or `key` at the top level.
@inline(__always)
func join(_ path: () -> String, _ key: String) -> String {
    let prefix = path()
    return prefix.isEmpty ? key : "\(prefix).\(key)"
}

/// The body as parsed once: original bytes, root object, and the spans of the root's members.
struct ParsedBody: Sendable {
    let bytes: [UInt8]
    let root: JSONObject
    let spans: [MemberSpan]

    static func parse(_ bytes: [UInt8]) throws(InvalidRequest) -> ParsedBody {
        let result: Result<(value: JSONValue, spans: [MemberSpan]), JSONSyntaxError> = bytes.withUnsafeBytes { buffer in
            do throws(JSONSyntaxError) {
                return .success(try JSONParser.parseRecordingTopLevel(buffer))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .failure(let error):
            throw InvalidRequest(message: "The request body is not valid JSON: \(error.reason) at byte \(error.offset)")
        case .success(let parsed):
            guard case .object(let root) = parsed.value else {
                throw InvalidRequest(message: "The request body must be a JSON object")
            }
            return ParsedBody(bytes: bytes, root: root, spans: parsed.spans)
        }
    }

    /// The original bytes with every top-level `model` value replaced by `upstreamModel` and every top-level
    /// `models` and `provider` member removed together with one separating comma. All other bytes are kept.
    func forwardedBody(model upstreamModel: String) -> [UInt8] {
        guard let first = spans.first, let last = spans.last else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + upstreamModel.utf8.count + 2)
        bytes.withUnsafeBufferPointer { source in
            out.append(contentsOf: UnsafeBufferPointer(rebasing: source[0..<first.keyStart]))
            var previousKept: Int?
            for (index, span) in spans.enumerated() {
                let key = root.members[index].key
                if key == "models" || key == "provider" { continue }
                if let previous = previousKept {
                    // The separator that originally followed the previous kept member (its comma included).
                    let separator = spans[previous].valueEnd..<spans[previous + 1].keyStart
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: source[separator]))
                }
                if key == "model" {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: source[span.keyStart..<span.valueStart]))
                    JSONText.appendQuoted(upstreamModel, to: &out)
                } else {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: source[span.keyStart..<span.valueEnd]))
                }
                previousKept = index
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: source[last.valueEnd...]))
        }
        return out
    }
}

/// Validates the parts shared by Messages and count_tokens bodies and notes which features are used.
struct RequestChecker {
    var usesTools = false
    var usesImages = false
    var usesDocuments = false
    var hasUnsignedThinking = false

    // MARK: Field helpers

    func requiredString(_ object: JSONObject, _ key: String, _ path: () -> String) throws(InvalidRequest) -> String {
        guard let value = object[key] else { throw .at(join(path, key), Problem.fieldRequired) }
        guard case .string(let string) = value else { throw .at(join(path, key), Problem.string) }
        return string
    }

    func requiredNonEmptyString(_ object: JSONObject, _ key: String, _ path: () -> String) throws(InvalidRequest) -> String {
        let string = try requiredString(object, key, path)
        if string.isEmpty { throw .at(join(path, key), Problem.nonEmptyString) }
        return string
    }

    func requiredObject(_ object: JSONObject, _ key: String, _ path: () -> String) throws(InvalidRequest) -> JSONObject {
        guard let value = object[key] else { throw .at(join(path, key), Problem.fieldRequired) }
        guard case .object(let member) = value else { throw .at(join(path, key), Problem.dictionary) }
        return member
    }

    func requiredInteger(_ object: JSONObject, _ key: String, _ path: () -> String) throws(InvalidRequest) -> Int {
        guard let value = object[key] else { throw .at(join(path, key), Problem.fieldRequired) }
        guard let integer = value.intValue else { throw .at(join(path, key), Problem.integer) }
        return integer
    }

    /// An optional member: absent or `null` give `nil`.
    func optional(_ object: JSONObject, _ key: String) -> JSONValue? {
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    func optionalBool(_ object: JSONObject, _ key: String, _ path: () -> String) throws(InvalidRequest) -> Bool? {
        guard let value = optional(object, key) else { return nil }
        guard case .bool(let bool) = value else { throw .at(join(path, key), Problem.boolean) }
        return bool
    }

    func optionalObject(_ object: JSONObject, _ key: String, _ path: () -> String) throws(InvalidRequest) -> JSONObject? {
        guard let value = optional(object, key) else { return nil }
        guard case .object(let member) = value else { throw .at(join(path, key), Problem.dictionary) }
        return member
    }

    func optionalStringArray(_ object: JSONObject, _ key: String, nonEmpty: Bool = false) throws(InvalidRequest) -> [String] {
        guard let value = optional(object, key) else { return [] }
        guard case .array(let elements) = value else { throw .at(key, Problem.list) }
        var strings: [String] = []
        strings.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            guard case .string(let string) = element else { throw .at("\(key).\(index)", Problem.string) }
            if nonEmpty, string.isEmpty { throw .at("\(key).\(index)", Problem.nonEmptyString) }
            strings.append(string)
        }
        return strings
    }

    /// A number in `0...1` (temperature, top_p).
    func optionalUnitNumber(_ object: JSONObject, _ key: String) throws(InvalidRequest) {
        guard let value = optional(object, key) else { return }
        guard let number = value.doubleValue else { throw .at(key, Problem.number) }
        if number < 0 { throw .at(key, "Input should be greater than or equal to 0") }
        if number > 1 { throw .at(key, "Input should be less than or equal to 1") }
    }

    // MARK: Top-level parts

    func model(_ root: JSONObject) throws(InvalidRequest) -> String {
        try requiredNonEmptyString(root, "model", { "" })
    }

    mutating func messages(_ root: JSONObject) throws(InvalidRequest) {
        guard let value = root["messages"] else { throw .at("messages", Problem.fieldRequired) }
        guard case .array(let messages) = value else { throw .at("messages", Problem.list) }
        if messages.isEmpty { throw .at("messages", "at least one message is required") }
        for (index, message) in messages.enumerated() {
            try self.message(message, index: index)
        }
    }

    private mutating func message(_ value: JSONValue, index: Int) throws(InvalidRequest) {
        let path = { "messages.\(index)" }
        guard case .object(let message) = value else { throw .at(path(), Problem.dictionary) }
        guard let role = message["role"] else { throw .at(join(path, "role"), Problem.fieldRequired) }
        switch role.stringValue {
        case "user", "assistant", "system": break
        default: throw .at(join(path, "role"), Problem.role)
        }
        guard let content = message["content"] else { throw .at(join(path, "content"), Problem.fieldRequired) }
        switch content {
        case .string: break
        case .array(let blocks):
            for (blockIndex, block) in blocks.enumerated() {
                try self.block(block, path: { "messages.\(index).content.\(blockIndex)" })
            }
        default: throw .at(join(path, "content"), Problem.stringOrBlocks)
        }
    }

    /// Checks one content block. Known types are checked for shape; unknown types only need a string `type`.
    mutating func block(_ value: JSONValue, path: () -> String) throws(InvalidRequest) {
        guard case .object(let block) = value else { throw .at(path(), Problem.dictionary) }
        let type = try requiredString(block, "type", path)
        switch type {
        case "text":
            _ = try requiredString(block, "text", path)
        case "image":
            usesImages = true
            let source = try requiredObject(block, "source", path)
            let sourcePath = { join(path, "source") }
            switch try requiredString(source, "type", sourcePath) {
            case "base64":
                _ = try requiredString(source, "media_type", sourcePath)
                _ = try requiredString(source, "data", sourcePath)
            case "url":
                _ = try requiredString(source, "url", sourcePath)
            case "file":
                _ = try requiredString(source, "file_id", sourcePath)
            default:
                throw .at(join(sourcePath, "type"), Problem.imageSourceType)
            }
        case "document":
            usesDocuments = true
            let source = try requiredObject(block, "source", path)
            _ = try requiredString(source, "type", { join(path, "source") })
        case "tool_use":
            usesTools = true
            _ = try requiredString(block, "id", path)
            _ = try requiredString(block, "name", path)
            _ = try requiredObject(block, "input", path)
        case "tool_result":
            usesTools = true
            _ = try requiredString(block, "tool_use_id", path)
            if let content = optional(block, "content") {
                switch content {
                case .string: break
                case .array(let blocks):
                    for (index, nested) in blocks.enumerated() {
                        try self.block(nested, path: { "\(join(path, "content")).\(index)" })
                    }
                default: throw .at(join(path, "content"), Problem.stringOrBlocks)
                }
            }
            _ = try optionalBool(block, "is_error", path)
        case "thinking":
            _ = try requiredString(block, "thinking", path)
            if try requiredString(block, "signature", path).isEmpty { hasUnsignedThinking = true }
        case "redacted_thinking":
            _ = try requiredString(block, "data", path)
        default:
            break  // A type this gateway does not know may be a new API feature: forwarded as is.
        }
    }

    func system(_ root: JSONObject) throws(InvalidRequest) {
        guard let system = optional(root, "system") else { return }
        switch system {
        case .string: break
        case .array(let blocks):
            for (index, value) in blocks.enumerated() {
                let path = { "system.\(index)" }
                guard case .object(let block) = value else { throw .at(path(), Problem.dictionary) }
                if try requiredString(block, "type", path) != "text" { throw .at(join(path, "type"), Problem.textType) }
                _ = try requiredString(block, "text", path)
            }
        default: throw .at("system", Problem.stringOrTextBlocks)
        }
    }

    mutating func tools(_ root: JSONObject) throws(InvalidRequest) {
        guard let tools = optional(root, "tools") else { return }
        guard case .array(let list) = tools else { throw .at("tools", Problem.list) }
        if !list.isEmpty { usesTools = true }
        for (index, value) in list.enumerated() {
            let path = { "tools.\(index)" }
            guard case .object(let tool) = value else { throw .at(path(), Problem.dictionary) }
            if let type = optional(tool, "type") {
                guard case .string(let typeName) = type else { throw .at(join(path, "type"), Problem.string) }
                if typeName != "custom" { continue }  // a server tool (web_search_…, bash_…): accepted as is
            }
            _ = try requiredString(tool, "name", path)
            _ = try requiredObject(tool, "input_schema", path)
        }
    }

    func toolChoice(_ root: JSONObject) throws(InvalidRequest) {
        guard let choice = try optionalObject(root, "tool_choice", { "" }) else { return }
        let path = { "tool_choice" }
        switch try requiredString(choice, "type", path) {
        case "auto", "any", "none": break
        case "tool": _ = try requiredString(choice, "name", path)
        default: throw .at("tool_choice.type", Problem.toolChoiceType)
        }
        _ = try optionalBool(choice, "disable_parallel_tool_use", path)
    }

    /// Checks `thinking`; with `maxTokens`, an enabled budget must be below it.
    func thinking(_ root: JSONObject, maxTokens: Int?) throws(InvalidRequest) -> Thinking? {
        guard let thinking = try optionalObject(root, "thinking", { "" }) else { return nil }
        let path = { "thinking" }
        let type = try requiredString(thinking, "type", path)
        switch type {
        case "enabled":
            let budget = try requiredInteger(thinking, "budget_tokens", path)
            if budget < 1 { throw .at("thinking.budget_tokens", "Input should be greater than or equal to 1") }
            if let maxTokens, budget >= maxTokens {
                throw .at("thinking.budget_tokens", "must be less than max_tokens (\(maxTokens))")
            }
            return .enabled(budgetTokens: budget)
        case "disabled": return .disabled
        case "adaptive": return .adaptive
        default: return .other(type: type)
        }
    }

    func fallbackModels(_ root: JSONObject) throws(InvalidRequest) -> [String] {
        try optionalStringArray(root, "models", nonEmpty: true)
    }

    func providerPreferences(_ root: JSONObject) throws(InvalidRequest) -> JSONObject? {
        try optionalObject(root, "provider", { "" })
    }
}
