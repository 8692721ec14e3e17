import SwitchyardMessages
import Testing

/// `count_tokens` bodies: model and messages required, the same message checks, no max_tokens.
struct CountTokensRequestTests {
    private func countRejection(_ body: String) -> String? {
        do throws(InvalidRequest) {
            _ = try CountTokensRequest.parse(utf8(body))
            return nil
        } catch {
            return error.message
        }
    }

    @Test func acceptsABodyWithoutMaxTokens() throws {
        let request = try CountTokensRequest.parse(utf8(#"{"model":"m","messages":[{"role":"user","content":"hi"}],"system":"s","tools":[{"name":"f","input_schema":{}}],"models":["n"]}"#))
        #expect(request.model == "m")
        #expect(request.usesTools)
        #expect(request.fallbackModels == ["n"])
    }

    @Test func doesNotTieTheThinkingBudgetToMaxTokens() throws {
        let request = try CountTokensRequest.parse(utf8(#"{"model":"m","messages":[{"role":"user","content":"hi"}],"thinking":{"type":"enabled","budget_tokens":50000}}"#))
        #expect(request.thinking == .enabled(budgetTokens: 50000))
    }

    @Test(arguments: [
        (#"{"messages":[{"role":"user","content":"hi"}]}"#, "model: Field required"),
        (#"{"model":"m"}"#, "messages: Field required"),
        (#"{"model":"m","messages":[]}"#, "messages: at least one message is required"),
        (#"{"model":"m","messages":[{"role":"bot","content":"hi"}]}"#, "messages.0.role: Input should be 'user', 'assistant' or 'system'"),
        (#"{"model":"m","messages":[{"role":"user","content":[{"type":"tool_use","id":"t","name":"f"}]}]}"#, "messages.0.content.0.input: Field required"),
        (#"{"model":"m","messages":[{"role":"user","content":"hi"}],"thinking":{"type":"enabled","budget_tokens":0}}"#, "thinking.budget_tokens: Input should be greater than or equal to 1"),
        (#"{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"tool"}}"#, "tool_choice.name: Field required"),
        ("{", "The request body is not valid JSON: unexpected end of input in object at byte 1"),
    ])
    func refusesTheSameMistakes(body: String, message: String) {
        #expect(countRejection(body) == message)
    }
}
