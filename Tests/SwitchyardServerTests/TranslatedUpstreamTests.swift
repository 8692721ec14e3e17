import Foundation
import Testing
import SwitchyardAccounts

/// A `kind: openai` model behind the Anthropic API: the upstream sees Chat Completions, the client sees Anthropic.
@Suite struct TranslatedUpstreamTests {
    /// OpenAI usage: prompt 12 (4 cached) and completion 6 → input 8 × 3 + cache read 4 × 0.3 + output 6 × 15
    /// (USD per million) = 115.2 µUSD.
    static let expectedCost = Money(nanos: 115_200)

    @Test func jsonIsTranslatedBothWaysAndBilledWithCacheSplitOut() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                var headers = Requests.headers(key: gateway.secret)
                headers.append(("anthropic-beta", "interleaved-thinking-2025-05-14"))
                let body = #"{"model":"test/oai-text","max_tokens":100,"system":"Be brief.","stop_sequences":["END"],"metadata":{"user_id":"u-1"},"messages":[{"role":"user","content":"Hi"}]}"#
                let answer = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, uri: "/v1/messages?beta=true", headers: headers, body: body)
                #expect(answer.status == 200)
                let message = Requests.json(answer.body)
                #expect(message["type"] as? String == "message")
                #expect((message["id"] as? String)?.hasPrefix("msg_") == true)
                #expect(message["stop_reason"] as? String == "end_turn")
                let content = message["content"] as? [[String: Any]]
                #expect(content?.first?["text"] as? String == MockUpstream.text)
                let usage = message["usage"] as? [String: Any]
                #expect(usage?["input_tokens"] as? Int == 8)
                #expect(usage?["cache_read_input_tokens"] as? Int == 4)
                #expect(usage?["output_tokens"] as? Int == 6)

                let seen = try #require(mock.requests.first)
                #expect(seen.uri == "/v1/chat/completions")
                #expect(seen.header("authorization") == "Bearer openai-provider-key")
                #expect(seen.header("x-api-key") == nil)
                #expect(seen.header("anthropic-beta") == nil)
                #expect(!seen.headers.contains { $0.value.contains(gateway.secret) })
                let sent = seen.json
                #expect(sent["model"] as? String == "up-oai-text")
                #expect(sent["max_tokens"] as? Int == 100)
                #expect(sent["stop"] as? [String] == ["END"])
                #expect(sent["user"] as? String == "u-1")
                let messages = sent["messages"] as? [[String: Any]]
                #expect(messages?.first?["role"] as? String == "system")
                #expect(messages?.first?["content"] as? String == "Be brief.")
                #expect(messages?.last?["role"] as? String == "user")

                let records = try await gateway.storedUsage()
                #expect(records.first?.usage == TokenUsage(input: 8, output: 6, cacheRead: 4, cacheWrite: 0))
                #expect(try await gateway.storedBalance() == Money(usd: "10")! - Self.expectedCost)
            }
        }
    }

    @Test func streamBecomesAnthropicEventsAndIsBilledOnce() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let answer = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                    body: Requests.body(model: "test/oai-text", stream: true))
                #expect(answer.status == 200)
                let events = answer.body.components(separatedBy: "\n\n").filter { !$0.isEmpty }
                let names = events.compactMap { $0.split(separator: "\n").first.map(String.init) }
                #expect(names.first == "event: message_start")
                #expect(names.last == "event: message_stop")
                #expect(names.filter { $0 == "event: message_start" }.count == 1)
                #expect(names.contains("event: content_block_start"))
                #expect(names.contains("event: message_delta"))
                let text = events.filter { $0.hasPrefix("event: content_block_delta") }.compactMap { event -> String? in
                    let data = event.components(separatedBy: "data: ").last ?? ""
                    return (Requests.json(data)["delta"] as? [String: Any])?["text"] as? String
                }.joined()
                #expect(text == MockUpstream.text)
                let sent = try #require(mock.requests.first).json
                #expect((sent["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true)
                let records = try await gateway.storedUsage()
                #expect(records.count == 1)
                #expect(records.first?.usage == TokenUsage(input: 8, output: 6, cacheRead: 4, cacheWrite: 0))
                #expect(records.first?.ttftMs != nil)
                #expect(try await gateway.storedBalance() == Money(usd: "10")! - Self.expectedCost)
            }
        }
    }

    @Test func aStreamCutBeforeItsFinishEndsWithAnErrorEvent() async throws {
        try await MockUpstream.run { upstreamPort, _ in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let answer = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                    body: Requests.body(model: "test/oai-cut", stream: true))
                #expect(answer.status == 200)
                let events = answer.body.components(separatedBy: "\n\n").filter { !$0.isEmpty }
                #expect(events.first?.hasPrefix("event: message_start") == true)
                #expect(events.last?.hasPrefix("event: error\ndata: ") == true)
                #expect(!answer.body.contains("message_stop"))
                let records = try await gateway.storedUsage()
                #expect(records.count == 1)
                #expect(records.first?.errorType != nil)
                // No usage chunk ever came: the prompt the upstream read is billed from the gateway's estimate.
                #expect((records.first?.usage.input ?? 0) > 0)
                #expect(records.first?.cost.isPositive == true)
            }
        }
    }

    @Test func countTokensIsEstimatedLocallyAndFree() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let text = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 40)
                let answer = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, uri: "/v1/messages/count_tokens",
                    headers: Requests.headers(key: gateway.secret),
                    body: #"{"model":"test/oai-text","messages":[{"role":"user","content":"\#(text)"}]}"#)
                #expect(answer.status == 200)
                // 400 words: a real tokenizer counts about 400 tokens; the estimate errs high, never low.
                let estimate = try #require(Requests.json(answer.body)["input_tokens"] as? Int)
                #expect(estimate >= 400)
                #expect(estimate < 1600)
                #expect(mock.requests.isEmpty)
                #expect(try await gateway.storedUsage().isEmpty)
            }
        }
    }
}
