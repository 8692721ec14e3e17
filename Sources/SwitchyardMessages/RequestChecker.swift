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

/// Validates the parts shared by Messages and count_tokens bodies and notes which features are used. It reads
/// the full ``JSONValue`` tree or a skim tree (``SkimValue``) alike.
struct RequestChecker<Value: JSONTreeValue> {
    typealias Object = Value.Object
    typealias Text = Value.Text

    var usesTools = false
    var usesImages = false
    var usesDocuments = false
    var hasUnsignedThinking = false

    // MARK: Field helpers

    func requiredString(_ object: Object, _ key: String, _ path: () -> String) throws(InvalidRequest) -> Text {
        guard let value = object[key] else { throw .at(join(path, key), Problem.fieldRequired) }
        guard let string = value.stringValue else { throw .at(join(path, key), Problem.string) }
        return string
    }

    func requiredNonEmptyString(_ object: Object, _ key: String, _ path: () -> String) throws(InvalidRequest) -> Text {
        let string = try requiredString(object, key, path)
        if string.isEmpty { throw .at(join(path, key), Problem.nonEmptyString) }
        return string
    }

    func requiredObject(_ object: Object, _ key: String, _ path: () -> String) throws(InvalidRequest) -> Object {
        guard let value = object[key] else { throw .at(join(path, key), Problem.fieldRequired) }
        guard let member = value.objectValue else { throw .at(join(path, key), Problem.dictionary) }
        return member
    }

    func requiredInteger(_ object: Object, _ key: String, _ path: () -> String) throws(InvalidRequest) -> Int {
        guard let value = object[key] else { throw .at(join(path, key), Problem.fieldRequired) }
        guard let integer = value.intValue else { throw .at(join(path, key), Problem.integer) }
        return integer
    }

    /// An optional member: absent or `null` give `nil`.
    func optional(_ object: Object, _ key: String) -> Value? {
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    func optionalBool(_ object: Object, _ key: String, _ path: () -> String) throws(InvalidRequest) -> Bool? {
        guard let value = optional(object, key) else { return nil }
        guard let bool = value.boolValue else { throw .at(join(path, key), Problem.boolean) }
        return bool
    }

    func optionalObject(_ object: Object, _ key: String, _ path: () -> String) throws(InvalidRequest) -> Object? {
        guard let value = optional(object, key) else { return nil }
        guard let member = value.objectValue else { throw .at(join(path, key), Problem.dictionary) }
        return member
    }

    func optionalStringArray(_ object: Object, _ key: String, nonEmpty: Bool = false) throws(InvalidRequest) -> [String] {
        guard let value = optional(object, key) else { return [] }
        guard let elements = value.arrayValue else { throw .at(key, Problem.list) }
        var strings: [String] = []
        for (index, element) in elements.enumerated() {
            guard let string = element.stringValue else { throw .at("\(key).\(index)", Problem.string) }
            if nonEmpty, string.isEmpty { throw .at("\(key).\(index)", Problem.nonEmptyString) }
            strings.append(string.decoded)
        }
        return strings
    }

    /// A number in `0...1` (temperature, top_p).
    func optionalUnitNumber(_ object: Object, _ key: String) throws(InvalidRequest) {
        guard let value = optional(object, key) else { return }
        guard let number = value.doubleValue else { throw .at(key, Problem.number) }
        if number < 0 { throw .at(key, "Input should be greater than or equal to 0") }
        if number > 1 { throw .at(key, "Input should be less than or equal to 1") }
    }

    // MARK: Top-level parts

    func model(_ root: Object) throws(InvalidRequest) -> String {
        try requiredNonEmptyString(root, "model", { "" }).decoded
    }

    mutating func messages(_ root: Object) throws(InvalidRequest) {
        guard let value = root["messages"] else { throw .at("messages", Problem.fieldRequired) }
        guard let messages = value.arrayValue else { throw .at("messages", Problem.list) }
        if messages.isEmpty { throw .at("messages", "at least one message is required") }
        for (index, message) in messages.enumerated() {
            try self.message(message, index: index)
        }
    }

    private mutating func message(_ value: Value, index: Int) throws(InvalidRequest) {
        let path = { "messages.\(index)" }
        guard let message = value.objectValue else { throw .at(path(), Problem.dictionary) }
        guard let role = message["role"] else { throw .at(join(path, "role"), Problem.fieldRequired) }
        switch role.stringValue {
        case "user"?, "assistant"?, "system"?: break
        default: throw .at(join(path, "role"), Problem.role)
        }
        guard let content = message["content"] else { throw .at(join(path, "content"), Problem.fieldRequired) }
        if content.stringValue != nil { return }
        guard let blocks = content.arrayValue else { throw .at(join(path, "content"), Problem.stringOrBlocks) }
        for (blockIndex, block) in blocks.enumerated() {
            try self.block(block, path: { "messages.\(index).content.\(blockIndex)" })
        }
    }

    /// Checks one content block. Known types are checked for shape; unknown types only need a string `type`.
    mutating func block(_ value: Value, path: () -> String) throws(InvalidRequest) {
        guard let block = value.objectValue else { throw .at(path(), Problem.dictionary) }
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
            if let content = optional(block, "content"), content.stringValue == nil {
                guard let blocks = content.arrayValue else { throw .at(join(path, "content"), Problem.stringOrBlocks) }
                for (index, nested) in blocks.enumerated() {
                    try self.block(nested, path: { "\(join(path, "content")).\(index)" })
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

    func system(_ root: Object) throws(InvalidRequest) {
        guard let system = optional(root, "system"), system.stringValue == nil else { return }
        guard let blocks = system.arrayValue else { throw .at("system", Problem.stringOrTextBlocks) }
        for (index, value) in blocks.enumerated() {
            let path = { "system.\(index)" }
            guard let block = value.objectValue else { throw .at(path(), Problem.dictionary) }
            let type = try requiredString(block, "type", path)
            guard type.equals("text") else { throw .at(join(path, "type"), Problem.textType) }
            _ = try requiredString(block, "text", path)
        }
    }

    mutating func tools(_ root: Object) throws(InvalidRequest) {
        guard let tools = optional(root, "tools") else { return }
        guard let list = tools.arrayValue else { throw .at("tools", Problem.list) }
        if !list.isEmpty { usesTools = true }
        for (index, value) in list.enumerated() {
            let path = { "tools.\(index)" }
            guard let tool = value.objectValue else { throw .at(path(), Problem.dictionary) }
            if let type = optional(tool, "type") {
                guard let typeName = type.stringValue else { throw .at(join(path, "type"), Problem.string) }
                if !typeName.equals("custom") { continue }  // a server tool (web_search_…, bash_…): accepted as is
            }
            _ = try requiredString(tool, "name", path)
            _ = try requiredObject(tool, "input_schema", path)
        }
    }

    func toolChoice(_ root: Object) throws(InvalidRequest) {
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
    func thinking(_ root: Object, maxTokens: Int?) throws(InvalidRequest) -> Thinking? {
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
        default: return .other(type: type.decoded)
        }
    }

    func fallbackModels(_ root: Object) throws(InvalidRequest) -> [String] {
        try optionalStringArray(root, "models", nonEmpty: true)
    }

    /// The `provider` object, as a full ``JSONObject`` (it is small).
    func providerPreferences(_ root: Object) throws(InvalidRequest) -> JSONObject? {
        try optionalObject(root, "provider", { "" })?.jsonObject
    }
}
