import Foundation
import Testing
import SwitchyardAccounts

/// RPM and TPM limits through the gateway: 429 with `retry-after`, and `anthropic-ratelimit-*` on every answer.
@Suite struct RateLimitTests {
    @Test func requestsOverTheRPMLimitGet429AndNeverReachTheUpstream() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort, rpm: 3) { gateway in
                for expectedRemaining in [2, 1, 0] {
                    let answer = try await RawHTTPClient.request(
                        port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                        body: Requests.body(model: "test/text", stream: expectedRemaining == 1))
                    #expect(answer.status == 200)
                    #expect(answer.header("anthropic-ratelimit-requests-limit") == "3")
                    #expect(answer.header("anthropic-ratelimit-requests-remaining") == String(expectedRemaining))
                    let reset = try #require(answer.header("anthropic-ratelimit-requests-reset"))
                    let resetDate = try #require(ISO8601DateFormatter().date(from: reset))
                    #expect(resetDate.timeIntervalSinceNow > 50 && resetDate.timeIntervalSinceNow < 62)
                }
                let refused = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                    body: Requests.body(model: "test/text"))
                #expect(refused.status == 429)
                #expect((Requests.json(refused.body)["error"] as? [String: Any])?["type"] as? String == "rate_limit_error")
                let retryAfter = try #require(refused.header("retry-after").flatMap(Int.init))
                #expect((55...61).contains(retryAfter))
                #expect(refused.header("anthropic-ratelimit-requests-remaining") == "0")
                #expect(mock.requests.count == 3)
                // Every answer to a limited key carries the figures, also a 400 decided before admission.
                let invalid = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                    body: #"{"model":"test/text","messages":[]}"#)
                #expect(invalid.status == 400)
                #expect(invalid.header("anthropic-ratelimit-requests-remaining") == "0")
                let records = try await gateway.storedUsage()
                #expect(records.filter { $0.status == 429 }.count == 1)
            }
        }
    }

    @Test func tokensUsedCountAgainstTheTPMLimitOnceKnown() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            // Each answer uses input 10 + cache write 3 + output 5 = 18 tokens (cache reads do not count).
            try await GatewayHarness.run(upstreamPort: upstreamPort, tpm: 20) { gateway in
                let first = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                    body: Requests.body(model: "test/text"))
                #expect(first.status == 200)
                #expect(first.header("anthropic-ratelimit-tokens-remaining") == "20")
                let second = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                    body: Requests.body(model: "test/text", stream: true))
                #expect(second.status == 200)
                #expect(second.header("anthropic-ratelimit-tokens-remaining") == "2")
                let third = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                    body: Requests.body(model: "test/text"))
                #expect(third.status == 429)
                #expect(third.header("anthropic-ratelimit-tokens-remaining") == "0")
                #expect(mock.requests.count == 2)
            }
        }
    }
}
