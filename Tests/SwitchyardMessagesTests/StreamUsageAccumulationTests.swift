import SwitchyardMessages
import Testing

/// Usage follows `message_start` then cumulative `message_delta` events (WIRE §4.5).
struct StreamUsageAccumulationTests {
    static let messageStart = #"{"type":"message_start","message":{"id":"msg_01X","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":1,"cache_creation_input_tokens":12,"cache_read_input_tokens":2048}}}"#

    @Test func readsMessageStartThenOverwritesWithDeltas() {
        var accumulator = StreamUsageAccumulator()
        #expect(!accumulator.sawMessageStart)
        accumulator.observe(eventType: .messageStart, data: utf8(Self.messageStart))
        #expect(accumulator.sawMessageStart)
        #expect(accumulator.upstreamMessageID == "msg_01X")
        #expect(accumulator.upstreamModel == "claude-sonnet-4-5-20250929")
        #expect(accumulator.usage == Usage(inputTokens: 472, outputTokens: 1, cacheReadInputTokens: 2048, cacheCreationInputTokens: 12))

        accumulator.observe(eventType: .contentBlockDelta, data: utf8(#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"usage"}}"#))
        accumulator.observe(eventType: .ping, data: utf8(#"{"type":"ping"}"#))

        // Only output_tokens present: the other counts stay.
        accumulator.observe(eventType: .messageDelta, data: utf8(#"{"type":"message_delta","delta":{"stop_reason":null,"stop_sequence":null},"usage":{"output_tokens":40}}"#))
        #expect(accumulator.usage == Usage(inputTokens: 472, outputTokens: 40, cacheReadInputTokens: 2048, cacheCreationInputTokens: 12))
        #expect(accumulator.stopReason == nil)

        // Cumulative counts overwrite, they are not added.
        accumulator.observe(eventType: .messageDelta, data: utf8(#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":500,"output_tokens":89,"cache_read_input_tokens":0,"cache_creation_input_tokens":null}}"#))
        #expect(accumulator.usage == Usage(inputTokens: 500, outputTokens: 89, cacheReadInputTokens: 0, cacheCreationInputTokens: 12))
        #expect(accumulator.stopReason == "tool_use")

        #expect(!accumulator.sawMessageStop)
        accumulator.observe(eventType: .messageStop, data: utf8(#"{"type":"message_stop"}"#))
        #expect(accumulator.sawMessageStop)
    }

    @Test func acceptsEventNamesAndRawBuffers() {
        var accumulator = StreamUsageAccumulator()
        utf8(Self.messageStart).withUnsafeBytes { accumulator.observe(eventName: "message_start", data: $0) }
        utf8(#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}"#).withUnsafeBytes {
            accumulator.observe(eventName: "message_delta", data: $0)
        }
        #expect(accumulator.usage.outputTokens == 7)
        #expect(accumulator.usage.inputTokens == 472)
        #expect(accumulator.stopReason == "end_turn")
        #expect(StreamEventKind(name: "content_block_start") == .contentBlockStart)
        #expect(StreamEventKind(name: "error") == .error)
        #expect(StreamEventKind(name: "brand_new_event") == .other)
        #expect(utf8("message_delta").withUnsafeBytes { StreamEventKind(name: $0) } == .messageDelta)
    }

    @Test func ignoresUndecodableDataAndUnrelatedEvents() {
        var accumulator = StreamUsageAccumulator()
        accumulator.observe(eventType: .messageStart, data: utf8(#"{"type":"message_start","message":{"usage":{"input_tokens":3"#))
        #expect(!accumulator.sawMessageStart)
        accumulator.observe(eventType: .messageStart, data: utf8(Self.messageStart))
        accumulator.observe(eventType: .messageDelta, data: utf8("not json"))
        accumulator.observe(eventType: .other, data: utf8(#"{"usage":{"output_tokens":999}}"#))
        accumulator.observe(eventType: .error, data: utf8(#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#))
        #expect(accumulator.usage.outputTokens == 1)
        #expect(!accumulator.sawMessageStop)
        accumulator.markStop()
        #expect(accumulator.sawMessageStop)
    }

    @Test func readsANonStreamingAnswer() throws {
        let answer = #"{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":120,"output_tokens":45,"cache_creation_input_tokens":0,"cache_read_input_tokens":2048,"cache_creation":{"ephemeral_5m_input_tokens":0},"service_tier":"standard"}}"#
        let result = try #require(AnthropicResponse.usage(fromMessageJSON: utf8(answer)))
        #expect(result.usage == Usage(inputTokens: 120, outputTokens: 45, cacheReadInputTokens: 2048, cacheCreationInputTokens: 0))
        #expect(result.stopReason == "end_turn")

        let partial = try #require(AnthropicResponse.usage(fromMessageJSON: utf8(#"{"usage":{"output_tokens":3}}"#)))
        #expect(partial.usage == Usage(outputTokens: 3))
        #expect(partial.stopReason == nil)

        #expect(AnthropicResponse.usage(fromMessageJSON: utf8(#"{"type":"message"}"#)) == nil)
        #expect(AnthropicResponse.usage(fromMessageJSON: utf8("<html>")) == nil)
    }

    @Test func readsUpstreamErrorEnvelopes() throws {
        let anthropic = try #require(AnthropicResponse.upstreamError(fromJSON: utf8(#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}"#)))
        #expect(anthropic.type == "overloaded_error")
        #expect(anthropic.message == "Overloaded")

        let openAIStyle = try #require(AnthropicResponse.upstreamError(fromJSON: utf8(#"{"error":{"message":"Invalid model","code":400}}"#)))
        #expect(openAIStyle.type == "api_error")
        #expect(openAIStyle.message == "Invalid model")

        let bare = try #require(AnthropicResponse.upstreamError(fromJSON: utf8(#"{"error":"upstream connect error"}"#)))
        #expect(bare.message == "upstream connect error")

        let messageOnly = try #require(AnthropicResponse.upstreamError(fromJSON: utf8(#"{"message":"Forbidden"}"#)))
        #expect(messageOnly.message == "Forbidden")

        #expect(AnthropicResponse.upstreamError(fromJSON: utf8("Bad Gateway")) == nil)
        #expect(AnthropicResponse.upstreamError(fromJSON: utf8(#"{"detail":1}"#)) == nil)
    }
}
