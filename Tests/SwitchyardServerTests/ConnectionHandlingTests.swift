import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import SwitchyardAccounts
import Testing

/// One client connection over several requests: pipelined requests answered in order, and graceful shutdown.
@Suite struct ConnectionHandlingTests {
    /// Reads parts until `count` answers have ended (or the connection closed); returns each answer's parts.
    private static func answers(
        _ count: Int, from iterator: inout AsyncStream<RawHTTPClient.Part>.Iterator
    ) async -> [(head: HTTPResponseHead?, body: String)] {
        var result: [(head: HTTPResponseHead?, body: String)] = []
        var head: HTTPResponseHead?
        var body = ""
        while result.count < count, let part = await iterator.next() {
            switch part {
            case .head(let value): head = value
            case .body(let chunk): body += chunk
            case .end:
                result.append((head, body))
                head = nil
                body = ""
            case .closed:
                return result
            }
        }
        return result
    }

    @Test func pipelinedRequestsWaitForTheAnswerBeforeThemAndAreAnsweredInOrder() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let client = try await RawHTTPClient.connect(port: gateway.port, group: Requests.group)
                // Three requests back to back, without waiting: a stream the mock holds open, a JSON request,
                // and one with a wrong key.
                try await client.send(uri: "/v1/messages", headers: Requests.headers(key: gateway.secret),
                                      body: Requests.body(model: "test/hold", stream: true))
                try await client.send(uri: "/v1/messages", headers: Requests.headers(key: gateway.secret),
                                      body: Requests.body(model: "test/text"))
                try await client.send(uri: "/v1/messages", headers: Requests.headers(key: "sk-sy-wrong"),
                                      body: Requests.body(model: "test/text"))
                var iterator = client.parts.makeAsyncIterator()
                guard case .head(let streamHead)? = await iterator.next() else {
                    Issue.record("no head for the first answer")
                    return
                }
                #expect(streamHead.status == .ok)
                #expect(streamHead.headers.first(name: "content-type")?.hasPrefix("text/event-stream") == true)
                _ = await RawHTTPClient.readBody(&iterator, until: "event: ping")
                // The held stream is still open: the requests behind it have not been taken up.
                #expect(mock.requests.count == 1)
                mock.releaseHeldStreams()
                let rest = await Self.answers(3, from: &iterator)
                try #require(rest.count == 3)
                #expect(rest[0].body.contains("event: message_stop"))
                #expect(rest[1].head?.status == .ok)
                #expect(Requests.json(rest[1].body)["type"] as? String == "message")
                #expect(rest[2].head?.status == .unauthorized)
                #expect(Requests.json(rest[2].body)["type"] as? String == "error")
                let ids = [streamHead.headers.first(name: "request-id"), rest[1].head?.headers.first(name: "request-id"),
                           rest[2].head?.headers.first(name: "request-id")]
                #expect(Set(ids.compactMap { $0 }).count == 3)
                #expect(mock.requests.map { Requests.json(String(decoding: $0.body, as: UTF8.self))["model"] as? String } == ["up-hold", "up-text"])
                await client.close()
            }
        }
    }

    @Test func shutdownClosesIdleConnectionsAndLetsAnAnswerInProgressFinish() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let idle = try await RawHTTPClient.connect(port: gateway.port, group: Requests.group)
                try await idle.send(uri: "/v1/messages", headers: Requests.headers(key: gateway.secret),
                                    body: Requests.body(model: "test/text"))
                var idleParts = idle.parts.makeAsyncIterator()
                let first = await Self.answers(1, from: &idleParts)
                #expect(first.first?.head?.status == .ok)

                let busy = try await RawHTTPClient.connect(port: gateway.port, group: Requests.group)
                try await busy.send(uri: "/v1/messages", headers: Requests.headers(key: gateway.secret),
                                    body: Requests.body(model: "test/hold", stream: true))
                var busyParts = busy.parts.makeAsyncIterator()
                _ = await RawHTTPClient.readBody(&busyParts, until: "event: ping")

                await gateway.beginShutdown()
                // The idle connection is closed by the gateway, without a request.
                let idleEnd = await idleParts.next()
                guard case .closed? = idleEnd else {
                    Issue.record("the idle connection was not closed: \(String(describing: idleEnd))")
                    return
                }
                // The stream in progress runs to its end, then its connection closes.
                mock.releaseHeldStreams()
                let rest = await Self.answers(1, from: &busyParts)
                #expect(rest.first?.body.contains("event: message_stop") == true)
                guard case .closed? = await busyParts.next() else {
                    Issue.record("the busy connection stayed open after its answer")
                    return
                }
                let usage = try await gateway.storedUsage()
                #expect(usage.count == 2)
                #expect(usage.allSatisfy { $0.status == 200 })
            }
        }
    }

    @Test func answersWrittenBeforeTheClientsFINAllArriveBeforeTheClose() async throws {
        try await MockUpstream.run { upstreamPort, _ in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                // Answered during the read that also brings the FIN: only the first flush of a loop round is
                // immediate, so the other answers are written but not yet flushed when the FIN is seen.
                let refused = RawBytes.messagesRequest(key: "sk-sy-wrong", body: Requests.body(model: "test/text"))
                let text = try await RawBytes.exchange(
                    port: gateway.port, sending: refused + refused + "HEAD / HTTP/1.1\r\nhost: x\r\n\r\n", halfClose: true)
                #expect(text.components(separatedBy: "HTTP/1.1 401 Unauthorized\r\n").count == 3)
                #expect(text.components(separatedBy: "authentication_error").count == 3)
                #expect(text.contains("HTTP/1.1 200 OK\r\n"))
            }
        }
    }

    @Test func aRequestCutShortByTheClientsFINGetsNoAnswer() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let text = try await RawBytes.exchange(
                    port: gateway.port,
                    sending: "POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{\"model\"",
                    halfClose: true)
                #expect(text.isEmpty)
                #expect(mock.requests.isEmpty)
            }
        }
    }

    @Test func aCONNECTRequestIsAnsweredAndTheConnectionCloses() async throws {
        try await MockUpstream.run { upstreamPort, _ in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                // NIO's parser reads nothing after a CONNECT: the connection must not stay open, unread.
                let text = try await RawBytes.exchange(
                    port: gateway.port, sending: "CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n")
                #expect(text.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
                #expect(text.lowercased().contains("connection: close\r\n"))
            }
        }
    }

    @Test func bytesThatAreNotHTTPGetAnAnthropicShaped400AndTheConnectionCloses() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let text = try await RawBytes.exchange(port: gateway.port, sending: "NOT HTTP AT ALL\r\n\r\n")
                #expect(text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
                #expect(text.lowercased().contains("connection: close\r\n"))
                let body = String(text[text.range(of: "\r\n\r\n")!.upperBound...])
                let error = Requests.json(body)["error"] as? [String: Any]
                #expect(error?["type"] as? String == "invalid_request_error")
                #expect(mock.requests.isEmpty)
            }
        }
    }

    @Test func bytesThatAreNotHTTPBehindAnAnswerInProgressWaitForItThenGetThe400() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let release = Task {
                    try await Task.sleep(for: .milliseconds(300))
                    mock.releaseHeldStreams()
                }
                let text = try await RawBytes.exchange(
                    port: gateway.port,
                    sending: RawBytes.messagesRequest(key: gateway.secret, body: Requests.body(model: "test/hold", stream: true))
                        + "NOT HTTP AT ALL\r\n\r\n")
                try await release.value
                let stop = try #require(text.range(of: "event: message_stop"))
                let badRequest = try #require(text.range(of: "HTTP/1.1 400 Bad Request"))
                #expect(stop.upperBound <= badRequest.lowerBound)
                #expect(text.hasPrefix("HTTP/1.1 200 OK"))
                let usage = try await gateway.storedUsage()
                #expect(usage.map(\.status) == [200])
            }
        }
    }

    @Test func aDeepPipelineBehindASlowAnswerIsAnsweredWhole() async throws {
        try await MockUpstream.run { upstreamPort, mock in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let probes = 3000
                let release = Task {
                    try await Task.sleep(for: .milliseconds(300))
                    mock.releaseHeldStreams()
                }
                var bytes = RawBytes.messagesRequest(key: gateway.secret, body: Requests.body(model: "test/hold", stream: true))
                for index in 1...probes {
                    bytes += "HEAD / HTTP/1.1\r\nhost: 127.0.0.1\r\n" + (index == probes ? "connection: close\r\n" : "") + "\r\n"
                }
                let text = try await RawBytes.exchange(port: gateway.port, sending: bytes)
                try await release.value
                #expect(text.components(separatedBy: "HTTP/1.1 200 OK\r\n").count - 1 == probes + 1)
                #expect(text.contains("event: message_stop"))
            }
        }
    }
}

/// Writes raw bytes on a new connection and returns everything the server sent until it closed (at most 5 s).
enum RawBytes {
    private final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        var received = ""
        let closed: EventLoopPromise<String>
        init(closed: EventLoopPromise<String>) { self.closed = closed }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += String(buffer: unwrapInboundIn(data))
        }
        func channelInactive(context: ChannelHandlerContext) { closed.succeed(received) }
    }

    /// A `POST /v1/messages` as raw HTTP text, for bytes a well-behaved client library would not send.
    static func messagesRequest(key: String, body: String, version: String = "HTTP/1.1", extraHeaders: String = "") -> String {
        "POST /v1/messages \(version)\r\nhost: 127.0.0.1\r\n\(extraHeaders)content-type: application/json\r\n"
            + "anthropic-version: 2023-06-01\r\nx-api-key: \(key)\r\ncontent-length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    /// Sends `bytes` (then, with `halfClose`, shuts down the sending side) and returns all that comes back until the
    /// gateway closes (or 5 s pass).
    static func exchange(port: Int, sending bytes: String, halfClose: Bool = false) async throws -> String {
        let loop = Requests.group.next()
        let closed = loop.makePromise(of: String.self)
        let channel = try await ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(closed: closed))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: bytes)).get()
        if halfClose { try await channel.close(mode: .output).get() }
        loop.scheduleTask(in: .seconds(5)) { channel.close(promise: nil) }
        return try await closed.futureResult.get()
    }
}
