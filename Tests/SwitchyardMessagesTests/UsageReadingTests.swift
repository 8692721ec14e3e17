@testable import SwitchyardMessages
import Testing

/// Usage is read from answers and stream events on a skim tree. It must read what the full `JSONValue` tree reads:
/// escaped strings and keys, the last of duplicate keys, numbers that are not exact integers, invalid bodies.
struct UsageReadingTests {
    /// The full-tree reading of an answer, as the gateway did it before the skim tree.
    private func fullTreeUsage(_ json: String) -> (usage: Usage, stopReason: String?)? {
        let bytes = Array(json.utf8)
        guard let message = try? bytes.withUnsafeBytes({ try JSONParser.parse($0) }),
              let usage = message["usage"]?.objectValue else { return nil }
        return (Usage(anthropic: usage), message["stop_reason"]?.stringValue)
    }

    static let answers: [String] = [
        #"{"usage":{"input_tokens":12,"output_tokens":34},"stop_reason":"end_turn"}"#,
        #"{"usage":{"input_tokens":12,"output_tokens":34,"cache_read_input_tokens":5,"cache_creation_input_tokens":6}}"#,
        #"{"us\u0061ge":{"input_\u0074okens":7},"stop_reason":"stop_\u0073equence"}"#,
        #"{"usage":{"input_tokens":1},"usage":{"output_tokens":2},"stop_reason":"a","stop_reason":"b"}"#,
        #"{"usage":{"input_tokens":1.0,"output_tokens":1e3,"cache_read_input_tokens":-4}}"#,
        #"{"usage":{"input_tokens":99999999999999999999,"output_tokens":"3"}}"#,
        #"{"usage":{"input_tokens":1},"stop_reason":"\ud83d\ude00 \ud800"}"#,
        #"{"usage":[1,2],"stop_reason":null}"#,
        #"{"usage":{"input_tokens":1}"#,
        #"["usage"]"#,
        "{\"usage\":{\"input_tokens\":1},\"stop_reason\":\"\u{7F}\u{1}\"}",
        "not json",
    ]

    @Test(arguments: answers)
    func answerUsageMatchesTheFullTree(json: String) {
        let skimmed = AnthropicResponse.usage(fromMessageJSON: Array(json.utf8))
        let full = fullTreeUsage(json)
        #expect(skimmed?.usage == full?.usage)
        #expect(skimmed?.stopReason == full?.stopReason)
        #expect((skimmed == nil) == (full == nil))
    }

    @Test func streamEventsReadEscapedFieldsAndTheLastDuplicate() {
        var accumulator = StreamUsageAccumulator()
        accumulator.observe(eventType: .messageStart, data: Array(#"""
            {"type":"message_start","message":{"id":"msg_\u0031","model":"m\"x","usage":{"input_tokens":10,"input_tokens":11}}}
            """#.utf8))
        accumulator.observe(eventType: .messageDelta, data: Array(#"""
            {"type":"message_delta","delta":{"stop_reason":"tool_\u0075se"},"usage":{"output_tokens":5}}
            """#.utf8))
        accumulator.observe(eventType: .messageDelta, data: Array("{broken".utf8))
        #expect(accumulator.sawMessageStart)
        #expect(accumulator.upstreamMessageID == "msg_1")
        #expect(accumulator.upstreamModel == "m\"x")
        #expect(accumulator.usage == Usage(inputTokens: 11, outputTokens: 5))
        #expect(accumulator.stopReason == "tool_use")
        #expect(accumulator.sawMessageDelta)
    }
}
