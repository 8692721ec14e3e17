import SwitchyardMessages
import SwitchyardTranslation
import Testing

/// Anthropic requests translate to the Chat Completions bodies written by hand next to them (shapes from the
/// Anthropic Messages and OpenAI Chat Completions API references).
struct RequestTranslationGoldenTests {
    static let cases: [(request: String, expected: String, model: String, dialect: OpenAIDialect)] = [
        ("text-system", "text-system", "gpt-4o-mini-2024-07-18", .standard),
        ("image", "image", "gpt-4o", .standard),
        ("tools-roundtrip", "tools-roundtrip", "gpt-4.1", .standard),
        ("thinking-history", "thinking-history", "deepseek-reasoner", .standard),
        ("thinking-history", "thinking-history.deepseek", "deepseek-reasoner",
         OpenAIDialect(maxTokensField: .maxCompletionTokens, reasoning: .field("reasoning.effort"), supportsTopK: true,
                       echoReasoningContent: true)),
    ]

    @Test(arguments: cases.indices)
    func translatesToTheExpectedBody(_ index: Int) throws {
        let testCase = Self.cases[index]
        let request = try messagesRequest("requests/\(testCase.request).anthropic.json")
        let translated = try translateRequest(request, model: testCase.model, dialect: testCase.dialect)
        let expected = try json(fixture("requests/\(testCase.expected).openai.json"))
        #expect(canonical(translated) == canonical(expected), "\(testCase.expected)")
    }

    @Test func toolArgumentsKeepTheInputExactlyIncludingNumberLiterals() throws {
        let request = try messagesRequest("requests/tools-roundtrip.anthropic.json")
        let body = try translateRequest(request)
        let calls = body["messages"]?.arrayValue?[1]["tool_calls"]?.arrayValue ?? []
        let arguments = calls.compactMap { $0["function"]?["arguments"]?.stringValue }
        // The input object re-parses to the original, with the literal 1.50 unchanged.
        #expect(arguments == [#"{"city":"Paris"}"#, #"{"tz":"Europe/Paris","precision":1.50}"#])
        #expect(try json(arguments[1]) == request.root["messages"]?.arrayValue?[1]["content"]?.arrayValue?[2]["input"])
    }

    @Test func theBodyIsCompactJSONWithModelFirst() throws {
        let request = try messagesRequest("requests/text-system.anthropic.json")
        let body = text(try OpenAIRequestTranslator.translate(request, upstreamModel: "gpt-4o-mini", dialect: .standard))
        #expect(body.hasPrefix(#"{"model":"gpt-4o-mini","messages":[{"role":"system","#))
        #expect(!body.contains("\n  "))
    }
}
