import Foundation
import NIOCore
import Testing
@testable import SwitchyardServer

/// Streamed answers are chunk-framed by the gateway itself (not NIO's encoder): the size lines must be exact.
@Suite struct ChunkFramingTests {
    @Test(arguments: [1, 9, 10, 15, 16, 255, 256, 4_095, 4_096, 65_535, 1_048_577, Int.max])
    func sizeLinesAreLowerCaseHexLikeNIOs(size: Int) {
        var buffer = ByteBuffer()
        buffer.writeChunkSizeLine(size)
        #expect(String(buffer: buffer) == String(size, radix: 16) + "\r\n")
    }

    @Test func aStreamedAnswerIsWellFormedChunkedAndTheNextAnswerFollowsIt() async throws {
        try await MockUpstream.run { upstreamPort, _ in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let request = RawBytes.messagesRequest(
                    key: gateway.secret, body: Requests.body(model: "test/text", stream: true))
                let text = try await RawBytes.exchange(
                    port: gateway.port, sending: request + "HEAD / HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
                var rest = Substring(text)
                let headEnd = try #require(rest.range(of: "\r\n\r\n"))
                let head = rest[..<headEnd.lowerBound].lowercased()
                #expect(head.hasPrefix("http/1.1 200 ok"))
                #expect(head.contains("transfer-encoding: chunked"))
                rest = rest[headEnd.upperBound...]
                // Decode the chunks by hand: size line, exactly that many bytes, CRLF; until the zero-size chunk.
                var decoded = ""
                var chunks = 0
                while true {
                    let lineEnd = try #require(rest.range(of: "\r\n"))
                    let size = try #require(Int(rest[..<lineEnd.lowerBound], radix: 16))
                    rest = rest[lineEnd.upperBound...]
                    if size == 0 { break }
                    let data = rest.utf8.prefix(size)
                    try #require(data.count == size)
                    decoded += String(Substring(data))
                    rest = Substring(rest.utf8.dropFirst(size))
                    try #require(rest.hasPrefix("\r\n"))
                    rest = Substring(rest.utf8.dropFirst(2))  // one Character, two bytes
                    chunks += 1
                }
                #expect(chunks > 1)
                #expect(decoded.hasPrefix("event: message_start"))
                #expect(decoded.hasSuffix("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
                // The last chunk's trailer section is empty, and the HEAD answer follows at once.
                #expect(rest.hasPrefix("\r\nHTTP/1.1 200 OK\r\n"))
            }
        }
    }

    @Test func anHTTP10ClientGetsAnUnchunkedStreamEndedByTheClose() async throws {
        try await MockUpstream.run { upstreamPort, _ in
            try await GatewayHarness.run(upstreamPort: upstreamPort) { gateway in
                let request = RawBytes.messagesRequest(
                    key: gateway.secret, body: Requests.body(model: "test/text", stream: true),
                    version: "HTTP/1.0", extraHeaders: "connection: keep-alive\r\n")
                // RawBytes returns once the gateway closes: the close is what ends this body.
                let text = try await RawBytes.exchange(port: gateway.port, sending: request)
                let headEnd = try #require(text.range(of: "\r\n\r\n"))
                let head = text[..<headEnd.lowerBound].lowercased()
                #expect(head.hasPrefix("http/1.0 200 ok"))
                #expect(!head.contains("transfer-encoding"))
                #expect(head.contains("connection: close"))
                let stream = text[headEnd.upperBound...]
                #expect(stream.hasPrefix("event: message_start"))
                #expect(stream.hasSuffix("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
            }
        }
    }
}

