import Testing
import SwitchyardAccounts

/// A model with `moderation: true`: flagged input is refused with 403 naming the pattern and the place, before any
/// upstream call; clean input and unmoderated models pass.
@Suite struct ModerationTests {
    @Test func flaggedInputIs403AndNeverReachesTheUpstream() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let flagged = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                    body: #"{"model":"test/moderated","max_tokens":10,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"ok"},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"the FORBIDDEN-WORD appears"}]}]}"#)
                #expect(flagged.status == 403)
                let error = Requests.json(flagged.body)["error"] as? [String: Any]
                #expect(error?["type"] as? String == "permission_error")
                let message = error?["message"] as? String ?? ""
                #expect(message.contains("forbidden-word"))
                #expect(message.contains("messages.2.content.0.content"))
                #expect(flagged.header("x-should-retry") == "false")
                #expect(mock.requests.isEmpty)

                let clean = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                    body: Requests.body(model: "test/moderated"))
                #expect(clean.status == 200)
                // The same words on a model without moderation pass.
                let unmoderated = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                    body: #"{"model":"test/text","max_tokens":10,"messages":[{"role":"user","content":"forbidden-word"}]}"#)
                #expect(unmoderated.status == 200)
                #expect(mock.requests.count == 2)
                let records = try await gateway.storedUsage()
                let refused = records.first { $0.status == 403 }
                #expect(refused?.errorType == "permission_error")
                #expect(refused?.moderation?.hasPrefix("flagged: pattern") == true)
                #expect(refused?.moderation?.hasSuffix("at messages.2.content.0.content") == true)
                #expect(records.filter { $0.status == 200 }.compactMap(\.moderation) == ["clean"])
            }
        }
    }
}

/// The `openai` checker against a loopback `/v1/moderations` endpoint: flagged, clean, and failing (502, no pass).
@Suite struct RemoteModerationTests {
    static let config = """
    moderation:
      kind: openai
      url: http://127.0.0.1:PORT/v1/moderations
      api_key: moderation-key
      model: omni-moderation-latest
    """

    static func body(_ text: String) -> String {
        #"{"model":"test/moderated","max_tokens":10,"system":"be kind","messages":[{"role":"user","content":"\#(text)"}]}"#
    }

    @Test func flaggedCleanAndFailingAnswers() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort, moderation: Self.config) { gateway in
                let flagged = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                    body: Self.body("please flag-me"))
                #expect(flagged.status == 403)
                let message = (Requests.json(flagged.body)["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(message.contains("harassment"))
                #expect(message.contains("messages.0.content"))
                let check = try #require(mock.requests.first)
                #expect(check.uri == "/v1/moderations")
                #expect(check.header("authorization") == "Bearer moderation-key")
                #expect(check.json["input"] as? [String] == ["be kind", "please flag-me"])
                #expect(check.json["model"] as? String == "omni-moderation-latest")

                let clean = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                    body: Self.body("hello"))
                #expect(clean.status == 200)

                mock.reset()
                let failing = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                    body: Self.body("fail-me"))
                #expect(failing.status == 502)
                #expect((Requests.json(failing.body)["error"] as? [String: Any])?["type"] as? String == "api_error")
                #expect(mock.requests.map(\.uri) == ["/v1/moderations"])
                let moderation = try await gateway.storedUsage().map(\.moderation)
                #expect(moderation.contains("flagged: category harassment at messages.0.content"))
                #expect(moderation.contains("clean"))
                #expect(moderation.contains("unavailable"))
            }
        }
    }
}
