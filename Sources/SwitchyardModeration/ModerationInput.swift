import SwitchyardMessages

/// The parts of a request that moderation checks, each with where it came from: the system prompt, the text of
/// every message, and tool results. Images, documents, tool definitions and thinking are not checked.
public struct ModerationInput: Sendable, Equatable {
    public struct Part: Sendable, Equatable {
        /// Where the text is, as a field path: `system`, `system.1`, `messages.2.content`,
        /// `messages.3.content.0.content.1` (a tool result's text block).
        public var location: String
        public var text: String
    }

    public var parts: [Part]

    /// The checked parts of a validated request body.
    public init(request root: JSONObject) {
        var parts: [Part] = []
        switch root["system"] {
        case .string(let text)?:
            parts.append(Part(location: "system", text: text))
        case .array(let blocks)?:
            for (index, block) in blocks.enumerated() {
                if let text = block["text"]?.stringValue { parts.append(Part(location: "system.\(index)", text: text)) }
            }
        default:
            break
        }
        for (messageIndex, message) in (root["messages"]?.arrayValue ?? []).enumerated() {
            let base = "messages.\(messageIndex).content"
            switch message["content"] {
            case .string(let text)?:
                parts.append(Part(location: base, text: text))
            case .array(let blocks)?:
                for (blockIndex, block) in blocks.enumerated() {
                    Self.collect(block, at: "\(base).\(blockIndex)", into: &parts)
                }
            default:
                break
            }
        }
        self.parts = parts
    }

    private static func collect(_ block: JSONValue, at location: String, into parts: inout [Part]) {
        switch block["type"]?.stringValue {
        case "text":
            if let text = block["text"]?.stringValue { parts.append(Part(location: location, text: text)) }
        case "tool_result":
            switch block["content"] {
            case .string(let text)?:
                parts.append(Part(location: "\(location).content", text: text))
            case .array(let inner)?:
                for (index, item) in inner.enumerated() where item["type"]?.stringValue == "text" {
                    if let text = item["text"]?.stringValue {
                        parts.append(Part(location: "\(location).content.\(index)", text: text))
                    }
                }
            default:
                break
            }
        default:
            break
        }
    }
}

/// What a moderation check found.
public struct ModerationVerdict: Sendable, Equatable {
    /// The category or pattern that matched.
    public var reason: String
    /// Where in the request it matched (``ModerationInput/Part/location``).
    public var location: String

    public init(reason: String, location: String) {
        self.reason = reason
        self.location = location
    }
}
