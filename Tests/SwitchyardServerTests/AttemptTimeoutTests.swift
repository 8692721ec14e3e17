import Foundation
import NIOCore
import Testing
import SwitchyardAccounts

/// Timeouts per attempt: the first-byte limit (the provider's override when it has one) moves on to the next endpoint;
/// the total limit covers every attempt and ends the request with a 408; a stream kept alive with comments while an
/// endpoint fails is still served by the next one.
@Suite struct AttemptTimeoutTests {
    @Test func aProvidersOwnFirstByteLimitMovesOnSooner() async throws {
        let models = FallbackTests.model("to/quick", [("mock-quick", "up-silent"), ("mock2", "up-text")])
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort, extraModels: models) { gateway in
                let started = ContinuousClock.now
                let answer = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                    body: Requests.body(model: "to/quick"))
                let elapsed = ContinuousClock.now - started
                #expect(answer.status == 200)
                #expect(answer.header("x-switchyard-provider") == "mock2")
                // The global first-byte limit is 5 s; the provider's 0.3 s override applied.
                #expect(elapsed < .seconds(2), "\(elapsed)")
                let attempt = try await gateway.storedUsage().first?.attempts.first
                #expect(attempt?.outcome == "timeout_first_byte")
                #expect((300..<1500).contains(attempt?.latencyMs ?? 0), "\(attempt?.latencyMs ?? 0) ms")
                #expect(mock.requests.count == 2)
            }
        }
    }

    @Test func theTotalLimitCoversEveryAttemptAndEndsWithA408() async throws {
        let models = FallbackTests.model("to/total", [("mock", "up-silent"), ("mock2", "up-text")])
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(
                upstreamPort: upstreamPort, timeouts: "{ connect_s: 2, first_byte_s: 5, idle_s: 5, total_s: 1 }",
                extraModels: models
            ) { gateway in
                for stream in [false, true] {
                    mock.reset()
                    let answer = try await RawHTTPClient.request(
                        port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                        body: Requests.body(model: "to/total", stream: stream))
                    let error = Requests.json(answer.body)["error"] as? [String: Any]
                    #expect(answer.status == 408)
                    #expect(error?["type"] as? String == "timeout_error")
                    #expect((error?["message"] as? String)?.contains("total time limit") == true)
                    #expect(mock.requests.map { $0.json["model"] as? String ?? "" } == ["up-silent"], "no attempt after the total limit")
                }
                let records = try await gateway.storedUsage()
                #expect(records.map { $0.attempts.map(\.outcome) } == [["timeout_total"], ["timeout_total"]])
                #expect(records.allSatisfy { $0.status == 408 && $0.cost == .zero })
            }
        }
    }

    @Test func aStreamKeptAliveWhileItsFirstEndpointHangsIsServedByTheNext() async throws {
        let models = FallbackTests.model("to/keepalive", [("mock", "up-silent"), ("mock2", "up-text")])
        try await MockUpstream.run { upstreamPort, _ in
            try await GatewayHarness.run(
                upstreamPort: upstreamPort, timeouts: "{ connect_s: 2, first_byte_s: 1, idle_s: 1, total_s: 30 }",
                keepAliveInterval: .milliseconds(200), extraModels: models
            ) { gateway in
                let answer = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                    body: Requests.body(model: "to/keepalive", stream: true))
                #expect(answer.status == 200)
                #expect(answer.body.hasPrefix(": keepalive\n\n"))
                #expect(answer.body.contains("event: message_start"))
                #expect(answer.body.hasSuffix("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
                #expect(!answer.body.contains("event: error"))
                // Committed before any endpoint answered, the head names none; the usage record does.
                #expect(answer.header("x-switchyard-provider") == nil)
                let record = try await gateway.storedUsage().first
                #expect(record?.provider == "mock2")
                #expect(record?.attempts.map(\.outcome) == ["timeout_first_byte", "ok"])
            }
        }
    }

    @Test func anOpenAICompatibleEndpointAndAnAnthropicOneBackEachOtherUp() async throws {
        let models = FallbackTests.model("tr/oai-first", [("mockoai", "up-oai-error-503"), ("mock", "up-text")])
            + FallbackTests.model("tr/oai-garbage-first", [("mockoai", "up-oai-garbage"), ("mock", "up-text")])
            + FallbackTests.model("tr/anthropic-first", [("mock", "up-error-529"), ("mockoai", "up-oai-text")])
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort, extraModels: models) { gateway in
                let cases: [(model: String, streams: [Bool], served: String, outcome: String)] = [
                    ("tr/oai-first", [false, true], "mock", "http_503"),
                    ("tr/oai-garbage-first", [true], "mock", "invalid_stream"),
                    ("tr/anthropic-first", [false, true], "mockoai", "http_529"),
                ]
                var expectedOutcomes: [[String]] = []
                for expected in cases {
                    for stream in expected.streams {
                        mock.reset()
                        let answer = try await RawHTTPClient.request(
                            port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                            body: Requests.body(model: expected.model, stream: stream))
                        #expect(answer.status == 200, "\(expected.model) stream \(stream): \(answer.body)")
                        #expect(answer.header("x-switchyard-provider") == expected.served)
                        if stream {
                            #expect(answer.body.components(separatedBy: "event: message_start").count == 2)
                            #expect(answer.body.contains("the mock upstream."))
                            #expect(answer.body.hasSuffix("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
                        } else {
                            #expect(Requests.json(answer.body)["type"] as? String == "message")
                        }
                        #expect(mock.requests.count == 2)
                        expectedOutcomes.append([expected.outcome, "ok"])
                    }
                }
                let records = try await gateway.storedUsage()
                #expect(records.map { $0.attempts.map(\.outcome) } == expectedOutcomes)
                #expect(records.allSatisfy { $0.cost > .zero })
            }
        }
    }
}
