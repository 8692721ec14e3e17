import Foundation
import NIOCore
import Testing
import SwitchyardAccounts

/// SSE relay: byte-exact, event by event as they arrive, cancelled with the client, billed once whatever happens.
@Suite struct StreamingTests {
    @Test func streamIsRelayedByteForByteAndBilled() async throws {
        try await MockUpstream.run { upstreamPort, _ in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let answer = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, uri: "/v1/messages?beta=true",
                    headers: Requests.headers(key: gateway.secret), body: Requests.body(model: "test/text", stream: true))
                #expect(answer.status == 200)
                #expect(answer.header("content-type")?.hasPrefix("text/event-stream") == true)
                #expect(answer.body == MockUpstream.streamEvents(model: "up-text").joined())
                let records = try await gateway.storedUsage()
                #expect(records.count == 1)
                #expect(records.first?.usage == TokenUsage(input: 10, output: 5, cacheRead: 2, cacheWrite: 3))
                #expect(records.first?.stream == true)
                #expect(records.first?.ttftMs != nil)
                #expect(try await gateway.storedBalance() == Money(usd: "10")! - PassThroughTests.expectedCost)
            }
        }
    }

    @Test func firstEventReachesTheClientWhileTheUpstreamHoldsTheRest() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let client = try await RawHTTPClient.connect(port: gateway.port, group: Requests.group)
                try await client.send(uri: "/v1/messages", headers: Requests.headers(key: gateway.secret),
                                      body: Requests.body(model: "test/hold", stream: true))
                var iterator = client.parts.makeAsyncIterator()
                var received = await RawHTTPClient.readBody(&iterator, until: "content_block_start")
                // The upstream is still holding the rest of the stream: nothing after the held point arrived.
                #expect(received.contains("event: message_start"))
                #expect(!received.contains("message_stop"))
                mock.releaseHeldStreams()
                loop: while let part = await iterator.next() {
                    switch part {
                    case .body(let chunk): received += chunk
                    case .end, .closed: break loop
                    case .head: continue
                    }
                }
                #expect(received.hasSuffix("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
                await client.close()
            }
        }
    }

    @Test func clientDisconnectClosesTheUpstreamAndBillsWhatWasProduced() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let client = try await RawHTTPClient.connect(port: gateway.port, group: Requests.group)
                try await client.send(uri: "/v1/messages", headers: Requests.headers(key: gateway.secret),
                                      body: Requests.body(model: "test/hold", stream: true))
                var iterator = client.parts.makeAsyncIterator()
                let received = await RawHTTPClient.readBody(&iterator, until: "content_block_start")
                #expect(received.contains("event: message_start"))
                await client.close()
                // The upstream notices its connection closed (its next ping fails) within a second.
                #expect(try await mock.waitForClosedStream(within: .seconds(1)) == 1)
                let records = try await gateway.storedUsage()
                #expect(records.count == 1)
                #expect(records.first?.status == 499)
                #expect(records.first?.usage.input == 10)
                #expect(records.first?.cost.isPositive == true)
            }
        }
    }

    @Test func upstreamDyingMidStreamEndsWithAnErrorEventAndIsBilledOnce() async throws {
        try await MockUpstream.run { upstreamPort, _ in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let answer = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group,
                    headers: Requests.headers(key: gateway.secret), body: Requests.body(model: "test/cut", stream: true))
                #expect(answer.status == 200)
                #expect(answer.body.contains("event: message_start"))
                #expect(answer.body.hasSuffix("\n\n"))
                let lastEvent = answer.body.components(separatedBy: "\n\n").filter { !$0.isEmpty }.last ?? ""
                #expect(lastEvent.hasPrefix("event: error\ndata: "))
                #expect(lastEvent.contains("\"type\":\"api_error\""))
                let records = try await gateway.storedUsage()
                #expect(records.count == 1)
                #expect(records.first?.usage.input == 10)
                #expect(records.first?.errorType == "upstream_cut")
            }
        }
    }
}

/// While a stream waits for the upstream's first byte, the connection is kept alive with SSE comments (which no
/// client mistakes for progress) — never a synthetic `ping` event that would hide a dead upstream.
@Suite struct StreamKeepAliveTests {
    @Test func aWaitingStreamGetsCommentsThenATimeoutErrorEvent() async throws {
        try await MockUpstream.run { upstreamPort, _ in
            try await GatewayHarness.run(
                upstreamPort: upstreamPort, timeouts: "{ connect_s: 2, first_byte_s: 1.2, idle_s: 5, total_s: 30 }",
                keepAliveInterval: .milliseconds(200)
            ) { gateway in
                let answer = try await RawHTTPClient.request(
                    port: gateway.port, group: Requests.group, headers: Requests.headers(key: gateway.secret),
                    body: Requests.body(model: "test/silent", stream: true))
                #expect(answer.status == 200)
                #expect(answer.header("content-type")?.hasPrefix("text/event-stream") == true)
                let events = answer.body.components(separatedBy: "\n\n").filter { !$0.isEmpty }
                let comments = events.filter { $0.hasPrefix(":") }
                #expect(comments.count >= 3)
                #expect(!answer.body.contains("event: ping"))
                #expect(events.last?.hasPrefix("event: error\ndata: ") == true)
                #expect(events.last?.contains("\"timeout_error\"") == true)
                #expect(events.dropLast().allSatisfy { $0.hasPrefix(":") })
            }
        }
    }
}
