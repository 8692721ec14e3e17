import NIOCore
import NIOHTTP1

/// The head of an upstream request as the bytes that go out: request line, header fields, blank line.
///
/// Built straight into a buffer: no `HTTPHeaders` and no encoder on the data path. Every upstream request carries a
/// `content-length`, so no body is ever chunked. Names are the gateway's literals or client header names NIO's parser
/// accepted; values are the gateway's own or client values the parser accepted: none holds a line break.
public struct UpstreamRequestHead {
    private var buffer: ByteBuffer

    /// Starts a `POST` to `path` (with `query`, when there is one).
    public init(path: String, query: Substring? = nil, capacity: Int = 512) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
        buffer.writeStaticString("POST ")
        buffer.writeString(path)
        if let query {
            buffer.writeInteger(UInt8(ascii: "?"))
            buffer.writeSubstring(query)
        }
        buffer.writeStaticString(" HTTP/1.1\r\n")
    }

    public mutating func add(_ name: StaticString, _ value: String) {
        buffer.writeStaticString(name)
        buffer.writeStaticString(": ")
        buffer.writeString(value)
        buffer.writeStaticString("\r\n")
    }

    public mutating func add(name: String, value: String) {
        buffer.writeString(name)
        buffer.writeStaticString(": ")
        buffer.writeString(value)
        buffer.writeStaticString("\r\n")
    }

    public mutating func addContentLength(_ length: Int) {
        buffer.writeStaticString("content-length: ")
        buffer.writeString(String(length))
        buffer.writeStaticString("\r\n")
    }

    /// The head's length in bytes, blank line included.
    public var count: Int { buffer.readableBytes + 2 }

    /// Writes the whole head, ended by its blank line, into `out`.
    public func write(into out: inout ByteBuffer) {
        out.writeImmutableBuffer(buffer)
        out.writeStaticString("\r\n")
    }
}

/// The outbound end of an upstream channel, in place of NIO's request encoder: requests arrive as bytes
/// (``UpstreamRequestHead`` and the body), so body parts pass through and nothing else is written.
///
/// The `.head` part is still sent down the pipeline, for NIO's response decoder above this handler: it learns each
/// request's method from it (an answer to `HEAD` has no body). This handler drops it.
final class UpstreamRequestEncoder: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = IOData

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .body(let body):
            context.write(wrapOutboundOut(body), promise: promise)
        case .head, .end:
            promise?.succeed()
        }
    }
}
