import Testing
import SwitchyardAccounts

/// Missing, wrong and disabled keys get a 401 and never reach an upstream; both header styles authenticate.
@Suite struct AuthenticationTests {
    @Test func missingWrongAndDisabledKeysAre401AndNeverReachTheUpstream() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let body = Requests.body(model: "test/text")
                let missing = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: [("content-type", "application/json")], body: body)
                #expect(missing.status == 401)
                #expect(Requests.json(missing.body)["type"] as? String == "error")
                #expect((Requests.json(missing.body)["error"] as? [String: Any])?["type"] as? String == "authentication_error")
                #expect(missing.header("request-id") == Requests.json(missing.body)["request_id"] as? String)

                let wrong = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group,
                    headers: Requests.headers(key: APIKeySecret.generate()), body: body)
                #expect(wrong.status == 401)

                _ = try await gateway.store.setDisabled(id: gateway.keyID, true)
                try await gateway.ledger.refresh()
                let disabled = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret), body: body)
                #expect(disabled.status == 401)
                #expect(mock.requests.isEmpty)
            }
        }
    }

    @Test func bearerAndXAPIKeyBothAuthenticate() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                for bearer in [false, true] {
                    let answer = try await RawHTTPClient.request(
                        port: gateway.port, group: Requests.group,
                        headers: Requests.headers(key: gateway.secret, bearer: bearer),
                        body: Requests.body(model: "test/text"))
                    #expect(answer.status == 200)
                }
                #expect(mock.requests.count == 2)
            }
        }
    }
}
