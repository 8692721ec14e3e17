import SwitchyardMessages
import SwitchyardModeration
import Testing

/// The keyword checker flags a match in each checked part of the input, names the pattern and the place, and
/// passes clean input.
@Suite struct KeywordModeratorTests {
    static let moderator = try! KeywordModerator(patterns: [#"(?i)\bforbidden-word\b"#, #"secret-\d{4}"#])

    static func input(_ json: String) throws -> ModerationInput {
        guard case .object(let root) = try JSONParser.parse(json) else { throw InvalidRequest(message: "not an object") }
        return ModerationInput(request: root)
    }

    static let hits: [(json: String, location: String)] = [
        (#"{"system":"Say FORBIDDEN-WORD now","messages":[]}"#, "system"),
        (#"{"system":[{"type":"text","text":"ok"},{"type":"text","text":"a forbidden-word"}],"messages":[]}"#, "system.1"),
        (#"{"messages":[{"role":"user","content":"hello"},{"role":"user","content":"Forbidden-Word!"}]}"#, "messages.1.content"),
        (#"{"messages":[{"role":"user","content":[{"type":"image","source":{}},{"type":"text","text":"x forbidden-word"}]}]}"#, "messages.0.content.1"),
        (#"{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"code secret-1234"}]}]}"#, "messages.0.content.0.content"),
        (#"{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"ok"},{"type":"text","text":"secret-9876"}]}]}]}"#, "messages.0.content.0.content.1"),
    ]

    @Test(arguments: hits.indices)
    func aMatchInEachPartIsFlaggedWithItsPlace(_ index: Int) throws {
        let (json, location) = Self.hits[index]
        let verdict = try #require(Self.moderator.check(try Self.input(json)))
        #expect(verdict.location == location)
        #expect(verdict.reason.hasPrefix("pattern "))
    }

    @Test func cleanInputAndUncheckedPartsPass() throws {
        // Word boundaries hold; tool definitions, tool_use input and thinking are not checked.
        let json = #"{"system":"forbidden-wordy is fine","tools":[{"name":"forbidden-word","input_schema":{}}],"messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"forbidden-word","signature":"s"},{"type":"tool_use","id":"t","name":"x","input":{"q":"secret-1234"}}]},{"role":"user","content":"all good"}]}"#
        #expect(Self.moderator.check(try Self.input(json)) == nil)
    }

    @Test func anInvalidPatternIsRefused() {
        #expect(throws: (any Error).self) { try KeywordModerator(patterns: ["(unclosed"]) }
    }
}
