import Foundation
import Testing
import SwitchyardAccounts

/// Every failure gets its SPEC §4 status and an Anthropic-shaped body; bad requests never reach an upstream.
@Suite struct ErrorMappingTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let scenario: String
        let status: Int
        let type: String
        let messageContains: String
        var testDescription: String { "\(scenario) → \(status)" }
    }

    static let upstreamCases = [
        Case(scenario: "error-400", status: 400, type: "invalid_request_error", messageContains: "upstream says 400"),
        Case(scenario: "error-401", status: 502, type: "api_error", messageContains: "credentials"),
        Case(scenario: "error-403", status: 502, type: "api_error", messageContains: "credentials"),
        Case(scenario: "error-429", status: 429, type: "rate_limit_error", messageContains: "upstream says 429"),
        Case(scenario: "error-500", status: 502, type: "api_error", messageContains: "upstream says 500"),
        Case(scenario: "error-529", status: 502, type: "api_error", messageContains: "overloaded"),
        Case(scenario: "garbage", status: 502, type: "api_error", messageContains: "invalid"),
    ]

    @Test(arguments: upstreamCases)
    func upstreamErrorsAreMapped(_ expected: Case) async throws {
        try await MockUpstream.run { upstreamPort, _ in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                for stream in [false, true] {
                    let answer = try await RawHTTPClient.request(
                        port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                        body: Requests.body(model: "test/\(expected.scenario)", stream: stream))
                    let json = Requests.json(answer.body)
                    let error = json["error"] as? [String: Any]
                    if expected.scenario == "garbage" && stream { continue }  // a stream request gets no JSON garbage
                    #expect(answer.status == expected.status)
                    #expect(error?["type"] as? String == expected.type)
                    #expect((error?["message"] as? String)?.contains(expected.messageContains) == true)
                    #expect(answer.header("request-id") == json["request_id"] as? String)
                    if expected.status == 429 { #expect(answer.header("retry-after") == "7") }
                }
                #expect(try await gateway.storedBalance() == Money(usd: "10")!)
            }
        }
    }

    static let invalidBodies: [(body: String, field: String)] = [
        ("{not json", "JSON"),
        (#"{"max_tokens":10,"messages":[{"role":"user","content":"x"}]}"#, "model"),
        (#"{"model":"test/text","messages":[{"role":"user","content":"x"}]}"#, "max_tokens"),
        (#"{"model":"test/text","max_tokens":10,"messages":[]}"#, "messages"),
        (#"{"model":"test/text","max_tokens":10,"temperature":1.5,"messages":[{"role":"user","content":"x"}]}"#, "temperature"),
        (#"{"model":"test/text","max_tokens":10,"top_k":-1,"messages":[{"role":"user","content":"x"}]}"#, "top_k"),
        (#"{"model":"test/text","max_tokens":10,"messages":[{"role":"robot","content":"x"}]}"#, "role"),
        (#"{"model":"test/text","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text"}]}]}"#, "text"),
        (#"{"model":"test/text","max_tokens":100,"thinking":{"type":"enabled","budget_tokens":100},"messages":[{"role":"user","content":"x"}]}"#, "budget_tokens"),
        (#"{"model":"no/such-model","max_tokens":10,"messages":[{"role":"user","content":"x"}]}"#, "no/such-model"),
    ]

    @Test func invalidRequestsAre400NamingTheFieldAndNeverReachTheUpstream() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                for (body, field) in Self.invalidBodies {
                    let answer = try await RawHTTPClient.request(
                        port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret), body: body)
                    let error = Requests.json(answer.body)["error"] as? [String: Any]
                    #expect(answer.status == 400, "\(body)")
                    #expect(error?["type"] as? String == "invalid_request_error")
                    #expect((error?["message"] as? String)?.contains(field) == true, "\(error?["message"] ?? "") should name \(field)")
                }
                #expect(mock.requests.isEmpty)
            }
        }
    }

    @Test func aKeyWithoutCreditsGets402ThatSaysDoNotRetry() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort, credits: "0") { gateway in
                let answer = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                    body: Requests.body(model: "test/text"))
                #expect(answer.status == 402)
                #expect((Requests.json(answer.body)["error"] as? [String: Any])?["type"] as? String == "billing_error")
                #expect(answer.header("x-should-retry") == "false")
                #expect(mock.requests.isEmpty)
            }
        }
    }

    @Test func aBodyOverTheLimitIs413() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let huge = Requests.body(model: "test/text", extra: #","padding":""# + String(repeating: "x", count: 40 << 20) + #"""#)
                let answer = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret), body: huge)
                #expect(answer.status == 413)
                #expect((Requests.json(answer.body)["error"] as? [String: Any])?["type"] as? String == "request_too_large")
                #expect(mock.requests.isEmpty)
            }
        }
    }

    @Test func anUpstreamSilentPastTheFirstByteLimitIsA408() async throws {
        try await MockUpstream.run { upstreamPort, _ in
            try await GatewayHarness.run(
                upstreamPort: upstreamPort, timeouts: "{ connect_s: 2, first_byte_s: 0.4, idle_s: 5, total_s: 30 }"
            ) { gateway in
                for stream in [false, true] {
                    let started = ContinuousClock.now
                    let answer = try await RawHTTPClient.request(
                        port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                        body: Requests.body(model: "test/silent", stream: stream))
                    #expect(answer.status == 408)
                    #expect((Requests.json(answer.body)["error"] as? [String: Any])?["type"] as? String == "timeout_error")
                    #expect(ContinuousClock.now - started < .seconds(3))
                }
            }
        }
    }
}

/// A key limited to some models gets 403 for the others (SPEC §4), with `x-should-retry: false`.
@Suite struct ModelPermissionTests {
    @Test func aKeyLimitedToSomeModelsGets403ForOthersAndReachesItsOwn() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort, models: ["test/text"]) { gateway in
                let refused = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                    body: Requests.body(model: "test/cut"))
                #expect(refused.status == 403)
                #expect((Requests.json(refused.body)["error"] as? [String: Any])?["type"] as? String == "permission_error")
                #expect(refused.header("x-should-retry") == "false")
                #expect(mock.requests.isEmpty)
                // Its allowed model, also through an alias of it.
                for name in ["test/text", "claude-haiku-4-5-20251001"] {
                    let allowed = try await RawHTTPClient.request(
                        port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                        body: Requests.body(model: name))
                    #expect(allowed.status == 200)
                }
            }
        }
    }
}
