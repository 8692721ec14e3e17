import NIOCore
import NIOHTTP1
import NIOPosix

/// A minimal HTTP/1.1 client that exposes the answer part by part, as it arrives: what the streaming tests need
/// to see timing, and to hang up mid-answer.
final class RawHTTPClient: Sendable {
    enum Part: Sendable {
        case head(HTTPResponseHead)
        case body(String)
        case end
        case closed
    }

    let channel: any Channel
    let parts: AsyncStream<Part>

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPClientResponsePart
        let continuation: AsyncStream<Part>.Continuation
        init(_ continuation: AsyncStream<Part>.Continuation) { self.continuation = continuation }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): continuation.yield(.head(head))
            case .body(let buffer): continuation.yield(.body(String(buffer: buffer)))
            case .end: continuation.yield(.end)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            continuation.yield(.closed)
            continuation.finish()
        }
    }

    private init(channel: any Channel, parts: AsyncStream<Part>) {
        self.channel = channel
        self.parts = parts
    }

    static func connect(port: Int, group: any EventLoopGroup) async throws -> RawHTTPClient {
        let (parts, continuation) = AsyncStream.makeStream(of: Part.self)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(Collector(continuation))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawHTTPClient(channel: channel, parts: parts)
    }

    func send(method: HTTPMethod = .POST, uri: String, headers: [(String, String)], body: String) async throws {
        var httpHeaders = HTTPHeaders(headers)
        httpHeaders.add(name: "host", value: "127.0.0.1")
        httpHeaders.add(name: "content-length", value: String(body.utf8.count))
        channel.write(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: httpHeaders)), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: body))), promise: nil)
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
    }

    func close() async {
        try? await channel.close().get()
    }

    /// One whole answer: status, headers and body.
    struct Answer: Sendable {
        let head: HTTPResponseHead
        let body: String
        var status: Int { Int(head.status.code) }
        func header(_ name: String) -> String? { head.headers.first(name: name) }
    }

    /// Sends one request on a new connection and reads the whole answer.
    static func request(
        port: Int, group: any EventLoopGroup, method: HTTPMethod = .POST, uri: String = "/v1/messages",
        headers: [(String, String)], body: String
    ) async throws -> Answer {
        let client = try await connect(port: port, group: group)
        try await client.send(method: method, uri: uri, headers: headers, body: body)
        var head: HTTPResponseHead?
        var text = ""
        for await part in client.parts {
            switch part {
            case .head(let value): head = value
            case .body(let chunk): text += chunk
            case .end, .closed:
                await client.close()
                guard let head else { throw ClientError.noAnswer }
                return Answer(head: head, body: text)
            }
        }
        throw ClientError.noAnswer
    }

    enum ClientError: Error { case noAnswer }

    /// Reads body parts until their text contains `marker` (or the answer ends); returns the text read.
    static func readBody(_ iterator: inout AsyncStream<Part>.Iterator, until marker: String) async -> String {
        var received = ""
        while !received.contains(marker) {
            guard let part = await iterator.next() else { break }
            if case .body(let chunk) = part { received += chunk }
        }
        return received
    }
}
