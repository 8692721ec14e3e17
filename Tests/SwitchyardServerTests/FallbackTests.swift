import Foundation
import Testing
import SwitchyardAccounts

/// A model's endpoints are tried in order: every retryable failure before the first byte reaches the client moves to
/// the next endpoint (then to the request's `models`), only the attempt that answered is billed, and the usage record
/// lists every attempt. After content has reached the client, a failure is an SSE `error` event instead.
@Suite struct FallbackTests {
    static let timeouts = "{ connect_s: 2, first_byte_s: 1, idle_s: 1, total_s: 30 }"

    /// A failing first endpoint, the outcome the usage record must give it, and whether it applies to streams only.
    struct Failure: Sendable, CustomTestStringConvertible {
        let name: String
        let provider: String
        let upstreamModel: String
        let outcome: @Sendable (_ stream: Bool) -> String
        let streams: [Bool]
        var testDescription: String { name }
    }

    static let failures: [Failure] = [
        Failure(name: "refused", provider: "dead", upstreamModel: "up-text", outcome: { _ in "connect_failed" }, streams: [false, true]),
        Failure(name: "500", provider: "mock", upstreamModel: "up-error-500", outcome: { _ in "http_500" }, streams: [false, true]),
        Failure(name: "529", provider: "mock", upstreamModel: "up-error-529", outcome: { _ in "http_529" }, streams: [false, true]),
        Failure(name: "429", provider: "mock", upstreamModel: "up-error-429", outcome: { _ in "http_429" }, streams: [false, true]),
        Failure(name: "401", provider: "mock", upstreamModel: "up-error-401", outcome: { _ in "http_401" }, streams: [false]),
        Failure(name: "garbage-json", provider: "mock", upstreamModel: "up-garbage",
                outcome: { $0 ? "stream_cut" : "invalid_answer" }, streams: [false, true]),
        Failure(name: "hang", provider: "mock", upstreamModel: "up-silent", outcome: { _ in "timeout_first_byte" }, streams: [false, true]),
        Failure(name: "slow-first-byte", provider: "mock", upstreamModel: "up-slow", outcome: { _ in "timeout_first_byte" }, streams: [false, true]),
        Failure(name: "garbage-sse", provider: "mock", upstreamModel: "up-sse-garbage", outcome: { _ in "stream_cut" }, streams: [true]),
        Failure(name: "sse-error-event", provider: "mock", upstreamModel: "up-sse-error", outcome: { _ in "stream_error" }, streams: [true]),
        Failure(name: "dies-before-content", provider: "mock", upstreamModel: "up-cut-early", outcome: { _ in "connection_lost" }, streams: [true]),
        Failure(name: "stalls-before-content", provider: "mock", upstreamModel: "up-stall-early", outcome: { _ in "timeout_idle" }, streams: [true]),
    ]

    static func model(_ id: String, _ endpoints: [(provider: String, model: String)]) -> String {
        var text = "  - id: \(id)\n    endpoints:\n"
        for endpoint in endpoints {
            text += "      - { provider: \(endpoint.provider), model: \(endpoint.model), price: { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 } }\n"
        }
        return text
    }

    static var expectedCost: Money {
        cost(of: TokenUsage(input: MockUpstream.usage.input, output: MockUpstream.usage.output,
                            cacheRead: MockUpstream.usage.cacheRead, cacheWrite: MockUpstream.usage.cacheWrite),
             at: GatewayHarness.prices)
    }

    @Test(arguments: failures)
    func aFailureBeforeTheFirstByteMovesToTheNextEndpoint(_ failure: Failure) async throws {
        let models = Self.model("fb/chain", [(failure.provider, failure.upstreamModel), ("mock2", "up-text")])
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort, timeouts: Self.timeouts, extraModels: models) { gateway in
                for stream in failure.streams {
                    mock.reset()
                    let answer = try await RawHTTPClient.request(
                        port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                        body: Requests.body(model: "fb/chain", stream: stream))
                    #expect(answer.status == 200, "stream \(stream): \(answer.body)")
                    #expect(answer.header("x-switchyard-provider") == "mock2")
                    #expect(answer.header("x-switchyard-model") == "fb/chain")
                    if stream {
                        #expect(answer.body.hasPrefix("event: message_start"), "nothing of the failed attempt is relayed")
                        #expect(answer.body.components(separatedBy: "event: message_start").count == 2)
                        #expect(answer.body.hasSuffix("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
                        #expect(!answer.body.contains("event: error"))
                    } else {
                        #expect(answer.body.contains(MockUpstream.text))
                    }
                    // The upstream saw the failing endpoint's model first, then the next one's.
                    let sent = mock.requests.map { $0.json["model"] as? String ?? "" }
                    let expectedOrder = failure.provider == "dead" ? ["up-text"] : [failure.upstreamModel, "up-text"]
                    #expect(sent == expectedOrder)
                    #expect(mock.requests.last?.header("x-api-key") == "upstream-provider-key-2")
                }
                let records = try await gateway.storedUsage()
                #expect(records.count == failure.streams.count)
                for (record, stream) in zip(records, failure.streams) {
                    #expect(record.status == 200)
                    #expect(record.provider == "mock2")
                    #expect(record.attempts.map(\.provider) == [failure.provider, "mock2"])
                    #expect(record.attempts.map(\.outcome) == [failure.outcome(stream), "ok"])
                    #expect(record.cost == Self.expectedCost, "only the attempt that answered is billed")
                }
                let spent = Money(nanos: Self.expectedCost.nanos * Int64(failure.streams.count))
                #expect(try await gateway.storedBalance() == Money(usd: "10")! - spent)
            }
        }
    }

    @Test func aFailureAfterContentReachedTheClientIsAnErrorEventAndNoOtherEndpointIsTried() async throws {
        let models = Self.model("fb/stall", [("mock", "up-stall"), ("mock2", "up-text")])
            + Self.model("fb/cut", [("mock", "up-cut"), ("mock2", "up-text")])
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort, timeouts: Self.timeouts, extraModels: models) { gateway in
                for (model, errorType) in [("fb/stall", "timeout_error"), ("fb/cut", "api_error")] {
                    mock.reset()
                    let answer = try await RawHTTPClient.request(
                        port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                        body: Requests.body(model: model, stream: true))
                    #expect(answer.status == 200)
                    #expect(answer.header("x-switchyard-provider") == "mock")
                    #expect(answer.body.contains("event: content_block_start"))
                    #expect(answer.body.contains("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"\(errorType)\""), "\(answer.body)")
                    #expect(mock.requests.count == 1, "the second endpoint is never asked")
                }
                let records = try await gateway.storedUsage()
                #expect(records.map { $0.attempts.map(\.outcome) } == [["timeout_idle"], ["connection_lost"]]
                        || records.map { $0.attempts.map(\.outcome) } == [["timeout_idle"], ["stream_cut"]],
                        "\(records.map { ($0.model, $0.status, $0.errorType ?? "-", $0.attempts.map(\.outcome)) })")
                // The input that was read and the deltas relayed are billed, once each.
                for record in records {
                    #expect(record.usage.input == MockUpstream.usage.input)
                    #expect(record.cost > .zero)
                }
            }
        }
    }

    @Test func anAnswerAboutTheRequestGoesBackAtOnce() async throws {
        let models = Self.model("fb/bad-request", [("mock", "up-error-400"), ("mock2", "up-text")])
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort, timeouts: Self.timeouts, extraModels: models) { gateway in
                for stream in [false, true] {
                    mock.reset()
                    let answer = try await RawHTTPClient.request(
                        port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                        body: Requests.body(model: "fb/bad-request", stream: stream))
                    #expect(answer.status == 400)
                    #expect((Requests.json(answer.body)["error"] as? [String: Any])?["message"] as? String == "upstream says 400")
                    #expect(mock.requests.count == 1)
                }
                let records = try await gateway.storedUsage()
                #expect(records.map { $0.attempts.map(\.outcome) } == [["http_400"], ["http_400"]])
                #expect(try await gateway.storedBalance() == Money(usd: "10")!)
            }
        }
    }

    @Test func whenEveryEndpointFailsTheLastReasonIsAnsweredWithItsStatus() async throws {
        let models = Self.model("fb/all-502", [("mock", "up-error-500"), ("mock2", "up-error-529")])
            + Self.model("fb/last-timeout", [("mock", "up-error-500"), ("mock2", "up-silent")])
            + Self.model("fb/last-429", [("mock", "up-error-500"), ("mock2", "up-error-429")])
            + Self.model("fb/last-refused", [("mock", "up-error-500"), ("dead", "up-text")])
        try await MockUpstream.run { upstreamPort, _ in
            // The four models share their failing first endpoint: a high threshold keeps its circuit closed here.
            try await GatewayHarness.run(
                upstreamPort: upstreamPort, timeouts: Self.timeouts, circuitBreaker: "{ failures: 100 }", extraModels: models
            ) { gateway in
                let cases: [(model: String, status: Int, type: String, contains: String)] = [
                    ("fb/all-502", 502, "api_error", "overloaded (HTTP 529)"),
                    ("fb/last-timeout", 408, "timeout_error", "first-byte time limit"),
                    ("fb/last-429", 429, "rate_limit_error", "upstream says 429"),
                    ("fb/last-refused", 502, "api_error", "'dead' could not be reached"),
                ]
                for expected in cases {
                    for stream in [false, true] {
                        let answer = try await RawHTTPClient.request(
                            port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                            body: Requests.body(model: expected.model, stream: stream))
                        let error = Requests.json(answer.body)["error"] as? [String: Any]
                        #expect(answer.status == expected.status, "\(expected.model) stream \(stream)")
                        #expect(error?["type"] as? String == expected.type)
                        let message = error?["message"] as? String ?? ""
                        #expect(message.hasPrefix("All 2 upstream attempts failed"), "\(message)")
                        #expect(message.contains(expected.contains), "\(message)")
                        #expect(!message.contains("provider-key"), "never an upstream key")
                        if expected.status == 429 { #expect(answer.header("retry-after") == "7") }
                    }
                }
                let records = try await gateway.storedUsage()
                #expect(records.count == 8)
                #expect(records.allSatisfy { $0.attempts.count == 2 && $0.cost == .zero })
                #expect(try await gateway.storedBalance() == Money(usd: "10")!)
            }
        }
    }

    @Test func theRequestsFallbackModelsAreTriedAfterItsOwnEndpoints() async throws {
        let models = Self.model("fb/broken", [("mock", "up-error-500"), ("dead", "up-text")])
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort, timeouts: Self.timeouts, extraModels: models) { gateway in
                let answer = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                    body: Requests.body(model: "fb/broken", stream: true, extra: #","models":["test/text"]"#))
                #expect(answer.status == 200)
                #expect(answer.header("x-switchyard-model") == "test/text")
                #expect(answer.header("x-switchyard-provider") == "mock")
                #expect(mock.requests.map { $0.json["model"] as? String ?? "" } == ["up-error-500", "up-text"])
                #expect(mock.requests.allSatisfy { $0.json["models"] == nil }, "the extension is never forwarded")
                let record = try await gateway.storedUsage().first
                #expect(record?.model == "test/text")
                #expect(record?.attempts.map(\.model) == ["fb/broken", "fb/broken", "test/text"])
                #expect(record?.attempts.map(\.outcome) == ["http_500", "connect_failed", "ok"])

                let unknown = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                    body: Requests.body(model: "fb/broken", extra: #","models":["test/text","no/such"]"#))
                #expect(unknown.status == 400)
                #expect(unknown.body.contains("models.1: unknown model 'no/such'"))
            }
        }
    }

    @Test func aClientThatLeavesDuringTheSecondAttemptClosesThatUpstreamAndIsBilledOnce() async throws {
        let models = Self.model("fb/then-hold", [("mock", "up-error-500"), ("mock2", "up-hold")])
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort, timeouts: "{ connect_s: 2, first_byte_s: 5, idle_s: 5, total_s: 30 }",
                                         extraModels: models) { gateway in
                let client = try await RawHTTPClient.connect(port: gateway.port, group: Requests.group)
                try await client.send(uri: "/v1/messages", headers: Requests.headers(key: gateway.secret),
                                      body: Requests.body(model: "fb/then-hold", stream: true))
                var iterator = client.parts.makeAsyncIterator()
                let received = await RawHTTPClient.readBody(&iterator, until: "content_block_start")
                #expect(received.contains("event: message_start"))
                await client.close()
                #expect(try await mock.waitForClosedStream(within: .seconds(1)) == 1,
                        "the upstream saw its connection closed within a second")
                try await Task.sleep(for: .milliseconds(100))
                let records = try await gateway.storedUsage()
                #expect(records.count == 1)
                #expect(records.first?.status == 499)
                #expect(records.first?.attempts.map(\.outcome) == ["http_500", "client_disconnected"])
                #expect(records.first?.usage.input == MockUpstream.usage.input)
                let balance = try await gateway.storedBalance()
                #expect(balance == Money(usd: "10")! - records.first!.cost)
            }
        }
    }
}
