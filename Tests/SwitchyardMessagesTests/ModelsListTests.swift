import SwitchyardMessages
import Testing

struct ModelsListTests {
    @Test func anEmptyCatalogHasNullBounds() {
        #expect(text(ModelsList.jsonBody([])) == #"{"data":[],"has_more":false,"first_id":null,"last_id":null}"#)
    }

    @Test func listsModelsInTheAnthropicShape() throws {
        let body = ModelsList.jsonBody([
            (id: "anthropic/claude-sonnet-4.5", displayName: "Claude \"Sonnet\" 4.5", createdAt: "2025-09-29T00:00:00Z"),
            (id: "deepseek/deepseek-chat", displayName: "DeepSeek Chat", createdAt: "1970-01-01T00:00:00Z"),
        ])
        let list = try parseJSON(text(body)).get()
        let data = try #require(list["data"]?.arrayValue)
        #expect(data.count == 2)
        #expect(data[0]["type"] == .string("model"))
        #expect(data[0]["id"] == .string("anthropic/claude-sonnet-4.5"))
        #expect(data[0]["display_name"] == .string("Claude \"Sonnet\" 4.5"))
        #expect(data[0]["created_at"] == .string("2025-09-29T00:00:00Z"))
        #expect(data[1]["id"] == .string("deepseek/deepseek-chat"))
        #expect(list["has_more"] == .bool(false))
        #expect(list["first_id"] == .string("anthropic/claude-sonnet-4.5"))
        #expect(list["last_id"] == .string("deepseek/deepseek-chat"))
    }
}
