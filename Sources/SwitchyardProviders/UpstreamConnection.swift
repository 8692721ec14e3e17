import NIOCore
import NIOHTTP1

/// Receives one upstream response, part by part, on the connection's event loop.
///
/// Exactly one of ``upstreamEnd()`` or ``upstreamFailed(_:)`` ends the response.
public protocol UpstreamResponseDelegate: AnyObject {
    func upstreamHead(_ head: HTTPResponseHead)
    func upstreamBody(_ buffer: ByteBuffer)
    /// The upstream finished a read burst: a good moment to flush what was relayed.
    func upstreamReadComplete()
    func upstreamEnd()
    func upstreamFailed(_ error: UpstreamConnectionError)
}

/// Why an upstream exchange failed at the connection level.
public struct UpstreamConnectionError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case connect, connectTimeout, closedEarly, io }
    public var kind: Kind
    public var detail: String
    /// True when nothing of the response had arrived yet.
    public var beforeResponseHead: Bool

    public var description: String {
        switch kind {
        case .connect: "could not connect: \(detail)"
        case .connectTimeout: "could not connect within the connect time limit"
        case .closedEarly: "upstream closed the connection before the answer was complete"
        case .io: "upstream connection error: \(detail)"
        }
    }
}

/// One keep-alive HTTP/1.1 connection to an upstream, leased from an ``UpstreamConnectionPool``.
///
/// Used only on its channel's event loop. While leased it holds its delegate strongly; ``release()`` or
/// ``close()`` ends the lease and breaks that reference.
public final class UpstreamConnection {
    public let channel: any Channel
    public let origin: UpstreamOrigin
    /// True when this connection served an earlier request: a failure before the response head may then be
    /// the upstream closing an idle connection, and the request can be sent again on a fresh one.
    public internal(set) var isReused = false
    var delegate: (any UpstreamResponseDelegate)?
    weak var pool: UpstreamConnectionPool?
    private var sawHead = false
    private var responseComplete = false
    private var keepAlive = true
    /// Reading was paused by ``setReading(_:)`` (a slow client) and not resumed yet.
    private var readingPaused = false
    var idleSince: NIODeadline = .now()

    /// The context of the channel's last handler: requests are flushed from it, through the whole pipeline.
    private let handlerContext: ChannelHandlerContext?
    private let flushes: FlushCoalescer

    init(channel: any Channel, origin: UpstreamOrigin, handlerContext: ChannelHandlerContext?, flushes: FlushCoalescer) {
        self.channel = channel
        self.origin = origin
        self.handlerContext = handlerContext
        self.flushes = flushes
    }

    /// What NIO's response decoder is told of each request: its method (see ``UpstreamRequestEncoder``).
    private static let decoderHead = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/")

    /// Sends a whole request with one flush, at the end of the loop's round (``FlushCoalescer``); a small body leaves
    /// in the same buffer as the head.
    public func send(head: UpstreamRequestHead, body: ByteBuffer?, delegate: any UpstreamResponseDelegate) {
        self.delegate = delegate
        sawHead = false
        responseComplete = false
        keepAlive = true
        channel.write(HTTPClientRequestPart.head(Self.decoderHead), promise: nil)
        let bodyLength = body?.readableBytes ?? 0
        let together = bodyLength <= 16_384
        var bytes = channel.allocator.buffer(capacity: head.count + (together ? bodyLength : 0))
        head.write(into: &bytes)
        if let body, bodyLength > 0 {
            if together {
                bytes.writeImmutableBuffer(body)
                channel.write(HTTPClientRequestPart.body(.byteBuffer(bytes)), promise: nil)
            } else {
                // A large body is not copied behind its head: two buffers, one writev.
                channel.write(HTTPClientRequestPart.body(.byteBuffer(bytes)), promise: nil)
                channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
            }
        } else {
            channel.write(HTTPClientRequestPart.body(.byteBuffer(bytes)), promise: nil)
        }
        if let handlerContext {
            flushes.flushSoon(handlerContext)
        } else {
            channel.flush()
        }
    }

    /// Pauses or resumes reading from the upstream (back-pressure from a slow client).
    public func setReading(_ on: Bool) {
        guard on == readingPaused else { return }
        readingPaused = !on
        _ = channel.setOption(ChannelOptions.autoRead, value: on)
        if on { channel.read() }
    }

    /// Ends the lease: the connection goes back to the pool when its answer was read whole and it may be reused,
    /// else it is closed.
    public func release() {
        delegate = nil
        if responseComplete && keepAlive && channel.isActive, let pool {
            setReading(true)
            pool.putBack(self)
        } else {
            channel.close(promise: nil)
        }
    }

    /// Ends the lease by closing the connection (the upstream sees its request cancelled).
    public func close() {
        delegate = nil
        channel.close(promise: nil)
    }

    // MARK: events from the channel handler

    func received(_ part: HTTPClientResponsePart) {
        switch part {
        case .head(let head):
            // 1xx informational heads are skipped by the decoder for 100-continue; be safe anyway.
            if head.status.code < 200 { return }
            sawHead = true
            keepAlive = head.isKeepAlive
            delegate?.upstreamHead(head)
        case .body(let buffer):
            delegate?.upstreamBody(buffer)
        case .end:
            responseComplete = true
            let delegate = self.delegate
            delegate?.upstreamEnd()
        }
    }

    func readComplete() {
        delegate?.upstreamReadComplete()
    }

    func closed() {
        pool?.forget(self)
        guard !responseComplete, let delegate else { return }
        self.delegate = nil
        delegate.upstreamFailed(.init(kind: .closedEarly, detail: "", beforeResponseHead: !sawHead))
    }

    func failed(_ error: any Error) {
        guard !responseComplete, let delegate else {
            channel.close(promise: nil)
            return
        }
        self.delegate = nil
        delegate.upstreamFailed(.init(kind: .io, detail: "\(error)", beforeResponseHead: !sawHead))
        channel.close(promise: nil)
    }
}

/// The last handler of an upstream channel: hands response parts to the connection.
final class UpstreamChannelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    var connection: UpstreamConnection?
    private(set) var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection?.received(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        connection?.readComplete()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let connection = self.connection
        self.connection = nil
        connection?.closed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        connection?.failed(error)
    }
}
