import SwitchyardMessages
import SwitchyardTranslation
import Testing

/// Real Claude Code 2.1.331 request bodies (copied from Tests/e2e/fixtures) translate into bodies an OpenAI
/// upstream accepts, without the traps of WIRE §3: no billing-header block, no server or deferred tools, no
/// thinking text in content, tool results right after their calls, usage requested on streams.
struct ClaudeCodeRequestTranslationTests {
    static let bodies = ["claude-code-agent-turn1", "claude-code-agent-turn2", "claude-code-sonnet-oneshot"]

    /// Every key that occurs anywhere in `value`.
    static func allKeys(_ value: JSONValue) -> Set<String> {
        switch value {
        case .object(let object):
            var keys = Set(object.keys)
            for member in object.members { keys.formUnion(allKeys(member.value)) }
            return keys
        case .array(let elements):
            return elements.reduce(into: Set<String>()) { $0.formUnion(allKeys($1)) }
        default:
            return []
        }
    }

    @Test(arguments: bodies)
    func theTranslationCarriesNoAnthropicOnlyParts(_ name: String) throws {
        let request = try messagesRequest("requests/\(name).anthropic.json")
        let bytes = try OpenAIRequestTranslator.translate(request, upstreamModel: "deepseek-chat", dialect: .standard)
        let body = try json(bytes)
        #expect(!text(bytes).contains("x-anthropic-billing-header"))
        let keys = Self.allKeys(body)
        for key in ["cache_control", "context_management", "defer_loading", "metadata", "thinking", "output_config", "input_schema", "signature"] {
            #expect(!keys.contains(key), "\(key) leaked")
        }
        #expect(body["stream"] == .bool(true))
        #expect(body["stream_options"] == (try json(#"{"include_usage":true}"#)))
        #expect(body["max_tokens"]?.intValue == 32000)
        #expect(body["reasoning_effort"]?.stringValue == "high")  // adaptive + effort high, or a 31,999 budget
        #expect(body["user"]?.stringValue == request.root["metadata"]?["user_id"]?.stringValue)

        let tools = body["tools"]?.arrayValue ?? []
        let names = tools.compactMap { $0["function"]?["name"]?.stringValue }
        #expect(names.count == 11)
        #expect(!names.contains("DeferredToolPlaceholder"))
        #expect(names.contains("Bash") && names.contains("ToolSearch"))
        for tool in tools {
            #expect(tool["type"]?.stringValue == "function")
            #expect(tool["function"]?["parameters"]?["type"]?.stringValue == "object")
            #expect(tool["function"]?["parameters"]?["$schema"] == nil)
        }

        let system = body["messages"]?.arrayValue?.first
        #expect(system?["role"]?.stringValue == "system")
        #expect(system?["content"]?.stringValue?.hasPrefix("You are a Claude agent, built on Anthropic's Claude Agent SDK.\n\n") == true)
    }

    @Test func theToolTurnIsAnAssistantCallThenItsToolMessage() throws {
        let request = try messagesRequest("requests/claude-code-agent-turn2.anthropic.json")
        let messages = try translateRequest(request)["messages"]?.arrayValue ?? []
        #expect(messages.compactMap { $0["role"]?.stringValue } == ["system", "user", "system", "assistant", "tool"])
        // The system-role message Claude Code put inside `messages` stays a system message, in place.
        #expect(messages[2]["content"]?.stringValue?.hasPrefix("# Environment\n") == true)
        let assistant = messages[3]
        #expect(assistant["content"]?.stringValue == "Running a command.")  // no thinking text
        #expect(assistant["reasoning_content"] == nil)
        let call = assistant["tool_calls"]?.arrayValue?.first
        #expect(call?["id"]?.stringValue == "toolu_mock_000001")
        #expect(call?["function"]?["name"]?.stringValue == "Bash")
        let arguments = try json(call?["function"]?["arguments"]?.stringValue ?? "")
        #expect(arguments["command"]?.stringValue == "echo switchyard-e2e-$((40+2))")
        #expect(messages[4] == (try json(#"{"role":"tool","tool_call_id":"toolu_mock_000001","content":"switchyard-e2e-42"}"#)))
    }

    @Test func deepSeekGetsTheThinkingBackAsReasoningContent() throws {
        let request = try messagesRequest("requests/claude-code-agent-turn2.anthropic.json")
        let messages = try translateRequest(request, dialect: OpenAIDialect(echoReasoningContent: true))["messages"]?.arrayValue ?? []
        #expect(messages[3]["reasoning_content"]?.stringValue == "The user wants the marker; I will ask for Bash.")
        #expect(messages[3]["content"]?.stringValue == "Running a command.")
    }

    @Test func theUserTurnKeepsItsTextBlocksInOrder() throws {
        let request = try messagesRequest("requests/claude-code-agent-turn1.anthropic.json")
        let messages = try translateRequest(request)["messages"]?.arrayValue ?? []
        let user = messages[1]["content"]?.stringValue ?? ""
        #expect(user.hasPrefix("<system-reminder>\nAttribution"))
        #expect(user.hasSuffix("</system-reminder>\n\n\nrun the marker command"))
    }
}
