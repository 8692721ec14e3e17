import Foundation
import NIOHTTP1
import Testing
import SwitchyardAccounts
import SwitchyardRouting

/// An endpoint that keeps failing is skipped once its circuit opens, probed again after the cool-down, and a request
/// whose every endpoint is open gets a 503 with `retry-after`. The state is visible in `/metrics`.
@Suite struct CircuitBreakerTests {
    static let breaker = "{ failures: 2, cooldown_s: 1 }"
    static let models = FallbackTests.model("cb/flaky", [("mock", "up-error-500"), ("mock2", "up-text")])
        + FallbackTests.model("cb/only-flaky", [("mock", "up-error-500")])
        + FallbackTests.model("cb/good", [("mock", "up-text")])

    static func ask(_ gateway: GatewayHarness, _ model: String) async throws -> RawHTTPClient.Answer {
        try await RawHTTPClient.request(
            port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
            body: Requests.body(model: model))
    }

    static func metrics(_ gateway: GatewayHarness) async throws -> String {
        try await RawHTTPClient.request(
            port: gateway.port, group: Requests.group, method: .GET, uri: "/metrics", headers: [], body: "").body
    }

    @Test func aCircuitOpensAfterConsecutiveFailuresAndTheEndpointIsSkipped() async throws {
        let flaky = EndpointKey(providerID: "mock", upstreamModel: "up-error-500")
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort, circuitBreaker: Self.breaker, extraModels: Self.models) { gateway in
                for _ in 0..<2 {
                    #expect(try await Self.ask(gateway, "cb/flaky").status == 200)
                }
                #expect(gateway.health.health(flaky).state == .open)
                #expect(gateway.health.health(flaky).consecutiveFailures == 2)
                #expect(try await Self.metrics(gateway).contains(
                    #"switchyard_endpoint_circuit_state{provider="mock",upstream_model="up-error-500"} 2"#))

                mock.reset()
                #expect(try await Self.ask(gateway, "cb/flaky").status == 200)
                #expect(mock.requests.map { $0.json["model"] as? String ?? "" } == ["up-text"], "the open endpoint is skipped")

                // Every endpoint open: 503 overloaded, with the time until the next probe.
                let refused = try await Self.ask(gateway, "cb/only-flaky")
                #expect(refused.status == 503)
                let error = Requests.json(refused.body)["error"] as? [String: Any]
                #expect(error?["type"] as? String == "overloaded_error")
                #expect((error?["message"] as? String)?.contains("circuit open") == true, "\(refused.body)")
                #expect(refused.header("retry-after") == "1")
                #expect(refused.header("x-should-retry") == nil, "a later retry may succeed")
                #expect(mock.requests.count == 1)

                // After the cool-down one probe goes through; it fails again, so the circuit re-opens.
                try await Task.sleep(for: .milliseconds(1100))
                mock.reset()
                #expect(try await Self.ask(gateway, "cb/flaky").status == 200)
                #expect(mock.requests.map { $0.json["model"] as? String ?? "" } == ["up-error-500", "up-text"])
                #expect(gateway.health.health(flaky).state == .open)
                mock.reset()
                #expect(try await Self.ask(gateway, "cb/flaky").status == 200)
                #expect(mock.requests.count == 1, "re-opened: skipped again")

                let records = try await gateway.storedUsage()
                #expect(records.map { $0.attempts.map(\.outcome) } == [
                    ["http_500", "ok"], ["http_500", "ok"], ["ok"], [], ["http_500", "ok"], ["ok"],
                ])
            }
        }
    }

    @Test func aSuccessfulProbeClosesTheCircuit() async throws {
        let good = EndpointKey(providerID: "mock", upstreamModel: "up-text")
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort, circuitBreaker: Self.breaker, extraModels: Self.models) { gateway in
                gateway.health.recordFailure(good)
                gateway.health.recordFailure(good)
                #expect(gateway.health.health(good).state == .open)
                #expect(try await Self.ask(gateway, "cb/good").status == 503)
                #expect(mock.requests.isEmpty)
                try await Task.sleep(for: .milliseconds(1100))
                #expect(try await Self.ask(gateway, "cb/good").status == 200)
                #expect(gateway.health.health(good).state == .closed)
                #expect(gateway.health.health(good).consecutiveFailures == 0)
                #expect(gateway.health.health(good).latency != nil, "the probe's latency was measured")
                #expect(try await Self.metrics(gateway).contains(
                    #"switchyard_endpoint_circuit_state{provider="mock",upstream_model="up-text"} 0"#))
            }
        }
    }

    @Test func aSuccessResetsTheCountOfConsecutiveFailures() async throws {
        let good = EndpointKey(providerID: "mock", upstreamModel: "up-text")
        try await MockUpstream.run { upstreamPort, _ in
            try await GatewayHarness.run(upstreamPort: upstreamPort, circuitBreaker: Self.breaker, extraModels: Self.models) { gateway in
                gateway.health.recordFailure(good)
                let answer = try await Self.ask(gateway, "cb/good")
                #expect(answer.status == 200)
                gateway.health.recordFailure(good)
                #expect(gateway.health.health(good).state == .closed, "one failure after a success does not open it")
            }
        }
    }
}
