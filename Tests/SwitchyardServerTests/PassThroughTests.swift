import Testing
import SwitchyardAccounts

/// The Anthropic pass-through: what the upstream receives, what the client gets back, and what is billed.
@Suite struct PassThroughTests {
    /// input 10 × 3 + output 5 × 15 + cache read 2 × 0.3 + cache write 3 × 3.75 (USD per million) = 116.85 µUSD.
    static let expectedCost = Money(nanos: 116_850)

    @Test func jsonRequestReachesTheUpstreamRewrittenAndIsBilledOnce() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let body = #"{"model":"test/text","models":["test/cut"],"max_tokens":256,"provider":{"sort":"price"},"messages":[{"role":"user","content":[{"type":"text","text":"Hi","future_field":{"x":1}}]}],"brand_new_field":[1,2,3]}"#
                var headers = Requests.headers(key: gateway.secret, bearer: true)
                headers.append(("anthropic-beta", "context-management-2025-06-27,interleaved-thinking-2025-05-14"))
                let answer = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, uri: "/v1/messages?beta=true", headers: headers, body: body)
                #expect(answer.status == 200)
                #expect(answer.body == MockUpstream.messageJSON(model: "up-text"))
                #expect(answer.header("x-switchyard-provider") == "mock")
                #expect(answer.header("x-switchyard-model") == "test/text")
                #expect(answer.header("request-id")?.hasPrefix("req_") == true)

                let seen = try #require(mock.requests.first)
                #expect(seen.uri == "/v1/messages?beta=true")
                // Only `model` changed, the gateway's extensions are gone, every other byte is the client's.
                #expect(String(decoding: seen.body, as: UTF8.self) == #"{"model":"up-text","max_tokens":256,"messages":[{"role":"user","content":[{"type":"text","text":"Hi","future_field":{"x":1}}]}],"brand_new_field":[1,2,3]}"#)
                #expect(seen.header("x-api-key") == "upstream-provider-key")
                #expect(seen.header("authorization") == nil)
                #expect(!seen.headers.contains { $0.value.contains(gateway.secret) })
                #expect(seen.header("anthropic-beta") == "context-management-2025-06-27,interleaved-thinking-2025-05-14")
                #expect(seen.header("anthropic-version") == "2023-06-01")

                let records = try await gateway.storedUsage()
                #expect(records.count == 1)
                #expect(records.first?.usage == TokenUsage(input: 10, output: 5, cacheRead: 2, cacheWrite: 3))
                #expect(records.first?.cost == Self.expectedCost)
                #expect(records.first?.provider == "mock")
                #expect(records.first?.model == "test/text")
                #expect(try await gateway.storedBalance() == Money(usd: "10")! - Self.expectedCost)
            }
        }
    }

    @Test func anAliasResolvesToItsModel() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let answer = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                    body: Requests.body(model: "claude-haiku-4-5-20251001"))
                #expect(answer.status == 200)
                #expect(mock.requests.first?.json["model"] as? String == "up-text")
            }
        }
    }

    @Test func countTokensIsForwardedAndCostsNothing() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let answer = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, uri: "/v1/messages/count_tokens?beta=true",
                    headers: Requests.headers(key: gateway.secret),
                    body: #"{"model":"test/text","messages":[{"role":"user","content":"Hi"}]}"#)
                #expect(answer.status == 200)
                #expect(Requests.json(answer.body)["input_tokens"] as? Int == 42)
                #expect(mock.requests.first?.uri == "/v1/messages/count_tokens?beta=true")
                #expect(try await gateway.storedUsage().isEmpty)
                #expect(try await gateway.storedBalance() == Money(usd: "10")!)
            }
        }
    }

    @Test func fiftyConcurrentRequestsOnOneKeyLoseNoDeduction() async throws {
        try await MockUpstream.run { upstreamPort, _ in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                try await withThrowingTaskGroup(of: Int.self) { tasks in
                    for index in 0..<50 {
                        tasks.addTask {
                            try await RawHTTPClient.request(
                                port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                                body: Requests.body(model: "test/text", stream: index % 2 == 0)).status
                        }
                    }
                    for try await status in tasks { #expect(status == 200) }
                }
                let records = try await gateway.storedUsage()
                #expect(records.count == 50)
                #expect(Set(records.map(\.id)).count == 50)
                let expected = Money(usd: "10")! - Money(nanos: Self.expectedCost.nanos * 50)
                #expect(try await gateway.storedBalance() == expected)
            }
        }
    }
}
