import SwitchyardMessages
import SwitchyardTranslation
import Testing

/// An upstream that dies, sends garbage or reports an error mid-stream yields an `error` event, never a silently
/// truncated success; odd but valid streams still end well.
struct StreamFailureTests {
    static let start = #"data: {"id":"chatcmpl-f","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}"# + "\n\n"

    /// The single `error` event at the end of `run`, checked against SPEC §4's body shape.
    func errorEvent(_ run: StreamRun) throws -> JSONValue {
        let events = sseEvents(run.output)
        let last = try #require(events.last)
        #expect(last.name == "error")
        #expect(events.filter { $0.name == "error" }.count == 1)
        #expect(!events.contains { $0.name == "message_stop" })
        let body = try json(last.data)
        #expect(body["type"]?.stringValue == "error")
        #expect(body["error"]?["type"]?.stringValue == "api_error")
        #expect(body["request_id"]?.stringValue == testRequestID)
        return body
    }

    @Test func garbageMidStreamBecomesAnErrorEvent() throws {
        let run = runStream(sseEvents(utf8(Self.start + "data: {\"id\":\"chatcmpl-f\",\"choices\":[{\"index\n\n" + "data: [DONE]\n\n")))
        #expect(run.error != nil)
        #expect(!run.completed)
        let body = try errorEvent(run)
        #expect(body["error"]?["message"]?.stringValue?.hasPrefix("The upstream stream sent data that is not JSON") == true)
        // What came before the garbage was delivered, correctly started.
        var accumulator = accumulate(run.output)
        #expect(accumulator.violations == [])
        #expect(accumulator.content.first?["text"]?.stringValue == "Hel")
        accumulator.checkComplete()
        #expect(accumulator.violations.contains("no message_stop"))
    }

    @Test func anUpstreamErrorObjectBecomesAnErrorEvent() throws {
        let run = runStream(sseEvents(utf8(Self.start + #"data: {"error":{"message":"Provider returned error","code":502}}"# + "\n\n")))
        let body = try errorEvent(run)
        #expect(body["error"]?["message"]?.stringValue == "The upstream reported an error: Provider returned error")
    }

    @Test func anUpstreamThatEndsWithoutFinishingGetsAnErrorFromFinish() throws {
        var translator = OpenAIStreamTranslator(requestedModel: "m", requestID: testRequestID)
        let first = try translator.feed(data: utf8(#"{"id":"chatcmpl-f","choices":[{"index":0,"delta":{"content":"Hel"}}]}"#))
        #expect(text(first).hasPrefix("event: message_start\n"))
        let end = translator.finish()
        #expect(!translator.sawFinish)
        #expect(!translator.completed)
        #expect(translator.failed)
        let events = sseEvents(end)
        #expect(events.map(\.name) == ["error"])
        #expect(try json(events[0].data)["error"]?["message"]?.stringValue == "The upstream ended the stream before the answer was complete")
        #expect(translator.finish().isEmpty)  // only once
        #expect(translator.usage.outputTokens >= 1)  // the text streamed so far is still billed
    }

    @Test func anUpstreamThatSendsNothingGetsAnErrorFromFinish() throws {
        var translator = OpenAIStreamTranslator(requestedModel: "m", requestID: testRequestID)
        #expect(try translator.feed(data: utf8("  ")).isEmpty)
        #expect(sseEvents(translator.finish()).map(\.name) == ["error"])
    }

    @Test func afterAFailureLaterInputIsIgnored() throws {
        var translator = OpenAIStreamTranslator(requestedModel: "m", requestID: testRequestID)
        #expect(throws: TranslationError.self) { _ = try translator.feed(data: utf8("nonsense")) }
        #expect(try translator.feed(data: utf8(#"{"choices":[{"index":0,"delta":{"content":"x"}}]}"#)).isEmpty)
        #expect(translator.finish().isEmpty)
    }

    @Test func brokenToolArgumentsAreAnErrorNotAnUnparseableInput() throws {
        let stream = Self.start
            + #"data: {"id":"chatcmpl-f","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"f","arguments":"{\"a\": "}}]}}]}"# + "\n\n"
            + #"data: {"id":"chatcmpl-f","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"# + "\n\n"
        let run = runStream(sseEvents(utf8(stream)))
        let body = try errorEvent(run)
        #expect(body["error"]?["message"]?.stringValue == "The upstream model called tool 'f' with arguments that are not a JSON object")
    }

    @Test func argumentsForACallWhoseBlockStoppedAreAnError() throws {
        let stream = Self.start
            + #"data: {"id":"chatcmpl-f","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"f","arguments":"{"}}]}}]}"# + "\n\n"
            + #"data: {"id":"chatcmpl-f","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"c2","function":{"name":"g","arguments":"{}"}}]}}]}"# + "\n\n"
        // Call 0's block is stopped when call 1 starts; its arguments "{" were incomplete.
        let run = runStream(sseEvents(utf8(stream)))
        _ = try errorEvent(run)
    }

    @Test func doneWithoutFinishReasonIsACompleteAnswer() throws {
        let run = runStream(sseEvents(utf8(Self.start + "data: [DONE]\n\n")))
        #expect(run.error == nil)
        var accumulator = accumulate(run.output)
        accumulator.checkComplete()
        #expect(accumulator.violations == [])
        #expect(accumulator.message["stop_reason"]?.stringValue == "end_turn")
        // No usage reported: output tokens are estimated and marked so.
        #expect(accumulator.message["usage"]?["output_tokens"]?.intValue == run.usage.outputTokens)
        #expect(run.usage.outputTokens >= 1)
    }

    @Test func aToolCallWhoseNameComesLateIsHeldUntilItArrives() throws {
        let stream = #"""
        data: {"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_late","function":{"arguments":"{\"x\""}}]}}]}

        data: {"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"f","arguments":":1}"}}]}}]}

        data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

        data: [DONE]
        """#
        let run = runStream(sseEvents(utf8(stream)))
        var accumulator = accumulate(run.output)
        accumulator.checkComplete()
        #expect(accumulator.violations == [])
        #expect(accumulator.content.first?["input"] == (try json(#"{"x":1}"#)))
        #expect(accumulator.content.first?["id"]?.stringValue == "call_late")
    }

    @Test func aToolCallThatNeverGetsANameIsAnError() throws {
        let stream = #"""
        data: {"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_x","function":{"arguments":"{}"}}]}}]}

        data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}
        """#
        _ = try errorEvent(runStream(sseEvents(utf8(stream))))
    }

    @Test func toolCallsWithoutIndexAreToldApartByID() throws {
        let stream = #"""
        data: {"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{\"n\":1}"}},{"id":"b","function":{"name":"f","arguments":"{\"n\":"}}]}}]}

        data: {"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":"2}"}}]}}]}

        data: {"id":"c","choices":[{"index":0,"delta":{"content":"\n"},"finish_reason":"stop"}]}
        """#
        let run = runStream(sseEvents(utf8(stream)))
        var accumulator = accumulate(run.output)
        accumulator.checkComplete()
        #expect(accumulator.violations == [])
        #expect(accumulator.content.map { $0["input"] } == [try json(#"{"n":1}"#), try json(#"{"n":2}"#)])
        #expect(accumulator.message["stop_reason"]?.stringValue == "tool_use")
    }

    @Test func aStopSequenceShownByTheUpstreamIsReported() throws {
        let stream = #"""
        data: {"id":"c","choices":[{"index":0,"delta":{"content":"one two "}}]}

        data: {"id":"c","choices":[{"index":0,"delta":{"content":"three"},"finish_reason":"stop","stop_reason":"four"}]}

        data: [DONE]
        """#
        let run = runStream(sseEvents(utf8(stream)), stopSequences: ["four", "five"])
        let accumulator = accumulate(run.output)
        #expect(accumulator.message["stop_reason"]?.stringValue == "stop_sequence")
        #expect(accumulator.message["stop_sequence"]?.stringValue == "four")
        let kept = runStream(sseEvents(utf8(#"data: {"id":"c","choices":[{"index":0,"delta":{"content":"a\n\nHum"}}]}"# + "\n\n" + #"data: {"id":"c","choices":[{"index":0,"delta":{"content":"an:"},"finish_reason":"stop"}]}"# + "\n\n")), stopSequences: ["\n\nHuman:"])
        #expect(accumulate(kept.output).message["stop_sequence"]?.stringValue == "\n\nHuman:")
    }

    @Test func contentAfterFinishReasonIsIgnoredButUsageIsTaken() throws {
        let stream = #"""
        data: {"id":"c","choices":[{"index":0,"delta":{"content":"done"},"finish_reason":"stop"}]}

        data: {"id":"c","choices":[{"index":0,"delta":{"content":" extra"},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":2}}

        data: [DONE]
        """#
        let run = runStream(sseEvents(utf8(stream)))
        var accumulator = accumulate(run.output)
        accumulator.checkComplete()
        #expect(accumulator.violations == [])
        #expect(accumulator.content.map { $0["text"]?.stringValue } == ["done"])
        #expect(run.usage == Usage(inputTokens: 7, outputTokens: 2))
    }

    @Test func thinkingAfterTextOpensANewBlockWithTheNextIndex() throws {
        let stream = #"""
        data: {"id":"c","choices":[{"index":0,"delta":{"reasoning":"a"}}]}

        data: {"id":"c","choices":[{"index":0,"delta":{"content":"b","reasoning":"c"}}]}

        data: {"id":"c","choices":[{"index":0,"delta":{"refusal":"no"},"finish_reason":"content_filter"}]}
        """#
        let run = runStream(sseEvents(utf8(stream)))
        var accumulator = accumulate(run.output)
        accumulator.checkComplete()
        #expect(accumulator.violations == [])
        // Within a chunk: thinking before text; a new kind is a new block.
        #expect(accumulator.content.map { $0["type"]?.stringValue ?? "" } == ["thinking", "text"])
        #expect(accumulator.content.map { ($0["thinking"] ?? $0["text"])?.stringValue ?? "" } == ["ac", "bno"])
        #expect(accumulator.message["stop_reason"]?.stringValue == "refusal")
    }
}
