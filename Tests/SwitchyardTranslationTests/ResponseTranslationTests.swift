import SwitchyardMessages
import SwitchyardTranslation
import Testing

/// Non-streaming Chat Completions answers become Anthropic messages: golden fixtures, then the rules one by one.
struct ResponseTranslationTests {
    static let model = "claude-via-openai"

    func translate(_ body: String, stopSequences: [String] = []) throws -> (message: JSONValue, usage: Usage) {
        let result: (message: [UInt8], usage: Usage)
        do throws(TranslationError) {
            result = try OpenAIResponseTranslator.translate(utf8(body), requestedModel: Self.model, stopSequences: stopSequences)
        } catch {
            throw TestFailure(description: "translation failed: \(error.message)")
        }
        return (try json(result.message), result.usage)
    }

    func failure(_ body: String) -> TranslationError? {
        do throws(TranslationError) {
            _ = try OpenAIResponseTranslator.translate(utf8(body), requestedModel: Self.model, stopSequences: [])
            return nil
        } catch {
            return error
        }
    }

    /// A minimal completion with `message` (a JSON object text) and `finish`.
    static func completion(_ message: String, finish: String = "stop", usage: String = #"{"prompt_tokens":10,"completion_tokens":5}"#, extraChoice: String = "") -> String {
        #"{"id":"chatcmpl-x1","object":"chat.completion","choices":[{"index":0,"message":\#(message),"finish_reason":"\#(finish)"\#(extraChoice)}],"usage":\#(usage)}"#
    }

    @Test(arguments: ["text", "parallel-tools", "reasoning"])
    func translatesToTheExpectedMessage(_ name: String) throws {
        let body = text(try fixture("responses/\(name).openai.json"))
        let translated = try translate(body)
        let expected = try json(fixture("responses/\(name).anthropic.json"))
        #expect(canonical(translated.message) == canonical(expected))
        // The returned usage is the one written into the message.
        let written = expected["usage"]
        #expect(translated.usage == Usage(
            inputTokens: written?["input_tokens"]?.intValue ?? -1, outputTokens: written?["output_tokens"]?.intValue ?? -1,
            cacheReadInputTokens: written?["cache_read_input_tokens"]?.intValue ?? -1, cacheCreationInputTokens: 0))
    }

    @Test func toolCallsMeanToolUseEvenWhenTheUpstreamSaysStop() throws {
        let body = text(try fixture("responses/text-then-empty-tool.openai.json"))
        let (message, usage) = try translate(body)
        #expect(message["stop_reason"]?.stringValue == "tool_use")
        let content = message["content"]?.arrayValue ?? []
        #expect(content.count == 2)
        #expect(content[0] == (try json(#"{"type":"text","text":"Let me look at the directory."}"#)))
        #expect(content[1]["name"]?.stringValue == "ListDirectory")
        #expect(content[1]["input"] == .object(JSONObject()))  // empty arguments → {}
        let id = content[1]["id"]?.stringValue ?? ""
        #expect(id.hasPrefix("toolu_") && id.count == 30)  // the upstream sent an empty id
        #expect(message["id"]?.stringValue == "msg_gen-1752855123-xYzAbCdEfGhIjKlMnOpQ")
        #expect(usage == Usage(inputTokens: 412, outputTokens: 17))
    }

    @Test(arguments: [
        ("stop", "end_turn"), ("length", "max_tokens"), ("content_filter", "refusal"), ("tool_calls", "end_turn"),
        ("function_call", "end_turn"), ("something_new", "end_turn"),
    ])
    func finishReasonsMap(_ finish: String, _ stopReason: String) throws {
        let (message, _) = try translate(Self.completion(#"{"role":"assistant","content":"x"}"#, finish: finish))
        #expect(message["stop_reason"]?.stringValue == stopReason)
    }

    @Test func anOpenAIRefusalIsTextWithStopReasonRefusal() throws {
        let (message, _) = try translate(Self.completion(#"{"role":"assistant","content":null,"refusal":"I can't help with that."}"#))
        #expect(message["content"] == (try json(#"[{"type":"text","text":"I can't help with that."}]"#)))
        #expect(message["stop_reason"]?.stringValue == "refusal")
        let (empty, _) = try translate(Self.completion(#"{"role":"assistant","content":"","refusal":"No."}"#))
        #expect(empty["content"] == (try json(#"[{"type":"text","text":"No."}]"#)))
        #expect(empty["stop_reason"]?.stringValue == "refusal")
    }

    @Test func aStopSequenceIsReportedWhenTheUpstreamShowsIt() throws {
        // vLLM names the matched stop string in the choice's stop_reason.
        let vllm = try translate(Self.completion(#"{"role":"assistant","content":"1, 2, 3"}"#, extraChoice: #","stop_reason":"END""#), stopSequences: ["STOP", "END"])
        #expect(vllm.message["stop_reason"]?.stringValue == "stop_sequence")
        #expect(vllm.message["stop_sequence"]?.stringValue == "END")
        // A server that keeps the stop string in the text; the longest match wins.
        let kept = try translate(Self.completion(#"{"role":"assistant","content":"a b\n\nHuman:"}"#), stopSequences: ["Human:", "\n\nHuman:"])
        #expect(kept.message["stop_sequence"]?.stringValue == "\n\nHuman:")
        #expect(kept.message["content"]?.arrayValue?.first?["text"]?.stringValue == "a b\n\nHuman:")
        // api.openai.com shows nothing: end_turn.
        let plain = try translate(Self.completion(#"{"role":"assistant","content":"1, 2, 3"}"#), stopSequences: ["END"])
        #expect(plain.message["stop_reason"]?.stringValue == "end_turn")
        #expect(plain.message["stop_sequence"] == .null)
        // Not for other finish reasons.
        let length = try translate(Self.completion(#"{"role":"assistant","content":"END"}"#, finish: "length"), stopSequences: ["END"])
        #expect(length.message["stop_reason"]?.stringValue == "max_tokens")
    }

    @Test func reasoningFieldBecomesThinkingToo() throws {
        let (message, _) = try translate(Self.completion(#"{"role":"assistant","content":"4","reasoning":"2+2"}"#))
        #expect(message["content"] == (try json(#"[{"type":"thinking","thinking":"2+2","signature":""},{"type":"text","text":"4"}]"#)))
    }

    @Test func cachedTokensAreSplitOutOfInputAndNeverGoNegative() throws {
        let deepseek = try translate(Self.completion(#"{"role":"assistant","content":"x"}"#, usage: #"{"prompt_tokens":100,"completion_tokens":3,"prompt_cache_hit_tokens":64,"prompt_cache_miss_tokens":36}"#))
        #expect(deepseek.usage == Usage(inputTokens: 36, outputTokens: 3, cacheReadInputTokens: 64))
        let odd = try translate(Self.completion(#"{"role":"assistant","content":"x"}"#, usage: #"{"prompt_tokens":10,"completion_tokens":3.0,"prompt_tokens_details":{"cached_tokens":12}}"#))
        #expect(odd.usage == Usage(inputTokens: 0, outputTokens: 3, cacheReadInputTokens: 12))
    }

    @Test func withoutUsageTheOutputIsEstimatedHigh() throws {
        let longText = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 20)
        let (message, usage) = try translate(#"{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"\#(longText)"},"finish_reason":"stop"}]}"#)
        #expect(usage.inputTokens == 0)
        #expect(usage.outputTokens >= 200)  // 180 real tokens (cl100k); the estimate errs high
        #expect(message["usage"]?["output_tokens"]?.intValue == usage.outputTokens)
    }

    @Test func argumentsThatAreNotAnObjectMakeTheAnswerInvalid() {
        for arguments in [#""{\"a\":""#, #""[1,2]""#, #""null""#, "42"] {
            let body = Self.completion(#"{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":\#(arguments)}}]}"#, finish: "tool_calls")
            #expect(failure(body)?.message == "The upstream model called tool 'f' with arguments that are not a JSON object", "\(arguments)")
        }
        let object = Self.completion(#"{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":{"a":1}}}]}"#, finish: "tool_calls")
        #expect(failure(object) == nil)
    }

    @Test func garbageIsATranslationErrorThatBecomesA502() {
        #expect(failure("<html>502 Bad Gateway</html>")?.message.hasPrefix("The upstream answer is not valid JSON") == true)
        #expect(failure("[]")?.message == "The upstream answer is not a JSON object")
        #expect(failure(#"{"id":"x","choices":[]}"#)?.message == "The upstream answer has no choices[0].message")
        let error = failure(#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#)
        #expect(error?.message == "The upstream reported an error: Rate limit reached")
        #expect(error?.apiError.status == 502)
        #expect(error?.apiError.type == .api)
        #expect(failure(Self.completion(#"{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"arguments":"{}"}}]}"#)) != nil)
    }

    @Test func messageIDsAreAnthropicStyle() throws {
        let (withID, _) = try translate(Self.completion(#"{"role":"assistant","content":"x"}"#))
        #expect(withID["id"]?.stringValue == "msg_x1")
        let (withoutID, _) = try translate(#"{"choices":[{"message":{"role":"assistant","content":"x"},"finish_reason":"stop"}]}"#)
        let id = withoutID["id"]?.stringValue ?? ""
        #expect(id.hasPrefix("msg_") && id.count == 28)
        let (odd, _) = try translate(#"{"id":"a/b c+d","choices":[{"message":{"role":"assistant","content":"x"},"finish_reason":"stop"}]}"#)
        #expect(odd["id"]?.stringValue == "msg_abcd")
    }
}
