import Foundation
import Testing
import SwitchyardAccounts

/// The request's `provider` preferences (OpenRouter semantics) choose among a model's endpoints; when none is left
/// the answer is a 503 `overloaded_error` that says which requirement excluded what, and that a retry will not help.
@Suite struct ProviderPreferencesTests {
    static let models = """
      - id: pref/multi
        endpoints:
          - { provider: mock, model: up-text, price: { input: 3, output: 15 }, supports: [tools] }
          - { provider: mock2, model: up-text, price: { input: 1, output: 5 }, supports: [tools, images] }
          - { provider: mockoai, model: up-oai-text, price: { input: 4, output: 4 }, supports: [tools, thinking, images] }
      - id: pref/dead-first
        endpoints:
          - { provider: dead, model: up-text, price: { input: 1, output: 1 } }
          - { provider: mock, model: up-text, price: { input: 3, output: 15 } }

    """

    static func ask(_ gateway: GatewayHarness, model: String = "pref/multi", provider: String, extra: String = "")
        async throws -> RawHTTPClient.Answer
    {
        try await RawHTTPClient.request(
            port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
            body: Requests.body(model: model, extra: #","provider":"# + provider + extra))
    }

    @Test func eachPreferenceChoosesTheEndpoint() async throws {
        let image = #"{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}"#
        let cases: [(provider: String, extra: String, served: String)] = [
            ("{}", "", "mock"),
            (#"{"order":["mock2"]}"#, "", "mock2"),
            (#"{"order":["mockoai","mock2"]}"#, "", "mockoai"),
            (#"{"only":["mockoai"]}"#, "", "mockoai"),
            (#"{"ignore":["mock"]}"#, "", "mock2"),
            (#"{"sort":"price"}"#, "", "mock2"),
            (#"{"sort":{"by":"price"}}"#, "", "mock2"),
            (#"{"max_price":{"output":4.5}}"#, "", "mockoai"),
            (#"{"max_price":{"input":2}}"#, "", "mock2"),
            (#"{"require_parameters":true}"#, #","thinking":{"type":"enabled","budget_tokens":100}"#, "mockoai"),
            (#"{"require_parameters":true}"#, #","messages":[{"role":"user","content":[\#(image)]}]"#, "mock2"),
            (#"{"require_parameters":false}"#, #","thinking":{"type":"enabled","budget_tokens":100}"#, "mock"),
        ]
        try await MockUpstream.run { upstreamPort, _ in
            try await GatewayHarness.run(upstreamPort: upstreamPort, extraModels: Self.models) { gateway in
                for expected in cases {
                    let answer = try await Self.ask(gateway, provider: expected.provider, extra: expected.extra)
                    #expect(answer.status == 200, "\(expected.provider): \(answer.body)")
                    #expect(answer.header("x-switchyard-provider") == expected.served, "\(expected.provider)\(expected.extra)")
                }
                let records = try await gateway.storedUsage()
                #expect(records.map(\.provider) == cases.map(\.served))
                #expect(records.allSatisfy { $0.attempts.count == 1 })
            }
        }
    }

    @Test func withoutFallbacksOnlyThePrimaryOrTheOrderedEndpointsAreTried() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort, extraModels: Self.models) { gateway in
                let fallsBack = try await Self.ask(gateway, model: "pref/dead-first", provider: "{}")
                #expect(fallsBack.status == 200)
                #expect(fallsBack.header("x-switchyard-provider") == "mock")

                let primaryOnly = try await Self.ask(gateway, model: "pref/dead-first", provider: #"{"allow_fallbacks":false}"#)
                #expect(primaryOnly.status == 502)
                #expect(primaryOnly.body.contains("'dead' could not be reached"))

                mock.reset()
                let orderedOnly = try await Self.ask(gateway, provider: #"{"order":["mock2"],"allow_fallbacks":false}"#)
                #expect(orderedOnly.status == 200)
                #expect(orderedOnly.header("x-switchyard-provider") == "mock2")

                let records = try await gateway.storedUsage()
                #expect(records.map { $0.attempts.map(\.provider) } == [["dead", "mock"], ["dead"], ["mock2"]])
            }
        }
    }

    @Test func whenNothingIsLeftThe503SaysWhyAndNotToRetry() async throws {
        let cases: [(provider: String, extra: String, mentions: [String])] = [
            (#"{"only":["nope"]}"#, "", ["provider.only", "mock", "mock2", "mockoai"]),
            (#"{"ignore":["mock","mock2","mockoai"]}"#, "", ["provider.ignore"]),
            (#"{"max_price":{"input":0.5}}"#, "", ["max_price"]),
            (#"{"require_parameters":true}"#, #","thinking":{"type":"enabled","budget_tokens":100},"tools":[{"name":"t","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"x"}}]}]"#,
             ["documents", "require_parameters"]),
        ]
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort, extraModels: Self.models) { gateway in
                for expected in cases {
                    let answer = try await Self.ask(gateway, provider: expected.provider, extra: expected.extra)
                    let error = Requests.json(answer.body)["error"] as? [String: Any]
                    #expect(answer.status == 503, "\(expected.provider): \(answer.body)")
                    #expect(error?["type"] as? String == "overloaded_error")
                    #expect(answer.header("x-should-retry") == "false")
                    let message = error?["message"] as? String ?? ""
                    #expect(message.contains("pref/multi"), "\(message)")
                    for word in expected.mentions { #expect(message.contains(word), "\(message) should mention \(word)") }
                }
                #expect(mock.requests.isEmpty, "no upstream is called")
                #expect(try await gateway.storedBalance() == Money(usd: "10")!)
            }
        }
    }

    @Test func malformedPreferencesAre400NamingTheMember() async throws {
        let cases: [(provider: String, mentions: String)] = [
            (#"{"sort":"fastest"}"#, "provider.sort"),
            (#"{"order":"mock"}"#, "provider.order"),
            (#"{"order":["mock",3]}"#, "provider.order.1"),
            (#"{"allow_fallbacks":"no"}"#, "provider.allow_fallbacks"),
            (#"{"max_price":{"input":-1}}"#, "provider.max_price.input"),
            (#"{"data_collection":"deny"}"#, "data_collection"),
            (#""mock""#, "provider"),
        ]
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort, extraModels: Self.models) { gateway in
                for expected in cases {
                    let answer = try await Self.ask(gateway, provider: expected.provider)
                    let error = Requests.json(answer.body)["error"] as? [String: Any]
                    #expect(answer.status == 400, "\(expected.provider)")
                    #expect(error?["type"] as? String == "invalid_request_error")
                    #expect((error?["message"] as? String)?.contains(expected.mentions) == true, "\(answer.body)")
                }
                #expect(mock.requests.isEmpty)
            }
        }
    }
}
