import SwitchyardMessages
import SwitchyardTranslation
import Testing

/// OpenAI chunk streams (shapes from the Chat Completions streaming reference, DeepSeek's and OpenRouter's
/// variants) become exactly the Anthropic event sequences written next to them, and those sequences pass the
/// Anthropic SDK's accumulation rules.
struct StreamTranslationGoldenTests {
    static let streams = ["text", "reasoning-then-text", "parallel-tools", "empty-arguments", "content-and-finish"]

    @Test(arguments: streams)
    func producesTheExpectedEventSequence(_ name: String) throws {
        let run = runStream(sseEvents(try fixture("streams/\(name).openai.sse")))
        #expect(run.error == nil)
        #expect(run.completed)
        #expect(text(run.output) == text(try fixture("streams/\(name).anthropic.sse")))
    }

    @Test(arguments: streams)
    func theOutputFollowsTheSDKAccumulationRules(_ name: String) throws {
        let run = runStream(sseEvents(try fixture("streams/\(name).openai.sse")))
        var accumulator = accumulate(run.output)
        accumulator.checkComplete()
        #expect(accumulator.violations == [])
        #expect(accumulator.errorEvent == nil)
        // The usage the server bills equals the usage the client ends up with.
        let usage = accumulator.message["usage"]
        #expect(usage?["input_tokens"]?.intValue == run.usage.inputTokens)
        #expect(usage?["output_tokens"]?.intValue == run.usage.outputTokens)
        #expect(usage?["cache_read_input_tokens"]?.intValue == run.usage.cacheReadInputTokens)
    }

    @Test func theMessageDeltaIsHeldUntilTheUsageChunk() throws {
        let events = sseEvents(try fixture("streams/text.openai.sse"))
        var translator = OpenAIStreamTranslator(requestedModel: "claude-via-openai", requestID: testRequestID)
        func feed(_ index: Int) throws -> [String] {
            sseEvents(try translator.feed(data: events[index].data)).map { $0.name ?? "" }
        }
        // Events: role, 4 × content, finish_reason, usage, [DONE].
        #expect(events.count == 8)
        #expect(try feed(0) == ["message_start"])  // role and empty content: no block yet
        #expect(try feed(1) == ["content_block_start", "content_block_delta"])
        for index in 2...4 { #expect(try feed(index) == ["content_block_delta"]) }
        #expect(try feed(5) == ["content_block_stop"])  // finish_reason: the block stops, the message_delta waits
        #expect(translator.sawFinish && !translator.completed && !translator.usageReported)
        #expect(try feed(6) == ["message_delta", "message_stop"])  // the usage chunk releases it, with real usage
        #expect(translator.completed && translator.usageReported && !translator.sawDone)
        #expect(try feed(7) == [])  // [DONE] after completion adds nothing
        #expect(translator.finish().isEmpty)
        #expect(translator.usage == Usage(inputTokens: 215, outputTokens: 9, cacheReadInputTokens: 2304))
        #expect(translator.stopReason == "end_turn")
        #expect(translator.messageID == "msg_C0text1234")
    }

    @Test func parallelToolCallsAccumulateToTheirInputs() throws {
        let run = runStream(sseEvents(try fixture("streams/parallel-tools.openai.sse")))
        let message = accumulate(run.output).finalMessage
        let expected = try json(#"""
        {"id":"msg_C0tools5678","type":"message","role":"assistant","model":"claude-via-openai",
         "content":[{"id":"call_aaa","input":{"city":"Parisé\""},"name":"get_weather","type":"tool_use"},
                    {"id":"call_bbb","input":{"tz":"Europe/Paris"},"name":"get_time","type":"tool_use"}],
         "stop_reason":"tool_use","stop_sequence":null,
         "usage":{"input_tokens":152,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":51}}
        """#)
        #expect(canonical(message) == canonical(expected))
    }

    @Test func theStreamAndTheNonStreamingAnswerAgree() throws {
        // The same answer as a stream and as one JSON body: same content, stop reason and usage.
        let stream = #"""
        data: {"id":"chatcmpl-same","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"Think."}}]}

        data: {"id":"chatcmpl-same","choices":[{"index":0,"delta":{"content":"Calling."}}]}

        data: {"id":"chatcmpl-same","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":[1,"}}]}}]}

        data: {"id":"chatcmpl-same","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"2]}"}}]}}]}

        data: {"id":"chatcmpl-same","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

        data: {"id":"chatcmpl-same","choices":[],"usage":{"prompt_tokens":50,"completion_tokens":20,"prompt_tokens_details":{"cached_tokens":32}}}

        data: [DONE]
        """#
        let body = #"{"id":"chatcmpl-same","choices":[{"index":0,"message":{"role":"assistant","reasoning_content":"Think.","content":"Calling.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":[1,2]}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":50,"completion_tokens":20,"prompt_tokens_details":{"cached_tokens":32}}}"#
        let run = runStream(sseEvents(utf8(stream)))
        var accumulator = accumulate(run.output)
        accumulator.checkComplete()
        #expect(accumulator.violations == [])
        let single = try OpenAIResponseTranslator.translate(utf8(body), requestedModel: "claude-via-openai", stopSequences: [])
        #expect(canonical(accumulator.finalMessage) == canonical(try json(single.message)))
        #expect(run.usage == single.usage)
    }
}
