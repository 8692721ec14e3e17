import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Keep-alive upstream connections for one event loop.
///
/// Every method must be called on ``eventLoop``. A request leases a connection, sends, reads the answer and
/// releases it; idle connections are kept per origin (up to ``maxIdlePerOrigin``) and closed after
/// ``idleTimeout``. Nothing here allocates a task per request: it is futures and channel handlers only.
public final class UpstreamConnectionPool {
    public let eventLoop: any EventLoop
    public var maxIdlePerOrigin = 2048
    public var idleTimeout: TimeAmount = .seconds(60)
    private let tls: UpstreamTLSContexts
    private var idle: [UpstreamOrigin: [UpstreamConnection]] = [:]
    private var reaper: Scheduled<Void>?
    /// This loop's flushes, upstream and (for the server) client side alike.
    public let flushes: FlushCoalescer

    public init(eventLoop: any EventLoop, tls: UpstreamTLSContexts) {
        self.eventLoop = eventLoop
        self.tls = tls
        flushes = FlushCoalescer(eventLoop: eventLoop)
    }

    /// Hands `callback` an idle connection to `origin`, or a new one; `fresh: true` always connects anew.
    /// The callback runs on ``eventLoop`` (at once when an idle connection is at hand).
    public func lease(
        _ origin: UpstreamOrigin,
        connectTimeout: TimeAmount,
        fresh: Bool = false,
        _ callback: @escaping (Result<UpstreamConnection, UpstreamConnectionError>) -> Void
    ) {
        eventLoop.assertInEventLoop()
        if !fresh {
            while let connection = idle[origin]?.popLast() {
                if connection.channel.isActive {
                    connection.isReused = true
                    callback(.success(connection))
                    return
                }
            }
        }
        connect(origin, timeout: connectTimeout, callback)
    }

    /// Closes every idle connection (shutdown).
    public func closeAll() {
        eventLoop.assertInEventLoop()
        reaper?.cancel()
        reaper = nil
        let all = idle.values.flatMap { $0 }
        idle.removeAll()
        for connection in all { connection.channel.close(promise: nil) }
    }

    public var idleCount: Int { idle.values.reduce(0) { $0 + $1.count } }

    // The idle lists are changed in place through the dictionary's subscript: copying a list out and back would
    // copy (and retain every connection of) the whole list on each release — measured as the largest single cost
    // with 1,000 streams in flight.
    func putBack(_ connection: UpstreamConnection) {
        guard (idle[connection.origin]?.count ?? 0) < maxIdlePerOrigin else {
            connection.channel.close(promise: nil)
            return
        }
        connection.idleSince = .now()
        idle[connection.origin, default: []].append(connection)
        startReaperIfNeeded()
    }

    func forget(_ connection: UpstreamConnection) {
        idle[connection.origin]?.removeAll(where: { $0 === connection })
    }

    private func startReaperIfNeeded() {
        guard reaper == nil else { return }
        let interval = TimeAmount.nanoseconds(max(idleTimeout.nanoseconds / 4, 1_000_000_000))
        reaper = eventLoop.assumeIsolated().scheduleTask(in: interval) { [weak self] in
            guard let self else { return }
            self.reaper = nil
            self.closeExpired()
            if self.idleCount > 0 { self.startReaperIfNeeded() }
        }
    }

    private func closeExpired() {
        let limit = NIODeadline.now() - idleTimeout
        for (origin, list) in idle {
            let (expired, kept) = list.reduce(into: ([UpstreamConnection](), [UpstreamConnection]())) { acc, c in
                if c.idleSince < limit { acc.0.append(c) } else { acc.1.append(c) }
            }
            guard !expired.isEmpty else { continue }
            idle[origin] = kept
            for connection in expired { connection.channel.close(promise: nil) }
        }
    }

    private func connect(
        _ origin: UpstreamOrigin,
        timeout: TimeAmount,
        _ callback: @escaping (Result<UpstreamConnection, UpstreamConnectionError>) -> Void
    ) {
        let sslContext = origin.useTLS ? tls.context(trustID: origin.trustID) : nil
        if origin.useTLS && sslContext == nil {
            callback(.failure(.init(kind: .connect, detail: "no TLS context for \(origin)", beforeResponseHead: true)))
            return
        }
        let serverName: String? = origin.host.isIPAddress ? nil : origin.host
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let sslContext {
                        try sync.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: serverName))
                    }
                    // Requests go out as bytes (UpstreamRequestHead); NIO decodes the answers.
                    try sync.addHandler(UpstreamRequestEncoder())
                    try sync.addHandler(ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)))
                    try sync.addHandler(UpstreamChannelHandler())
                }
            }
        bootstrap.connect(host: origin.host, port: origin.port).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let channel):
                do {
                    let handler = try channel.pipeline.syncOperations.handler(type: UpstreamChannelHandler.self)
                    let connection = UpstreamConnection(
                        channel: channel, origin: origin, handlerContext: handler.context, flushes: self.flushes)
                    connection.pool = self
                    handler.connection = connection
                    callback(.success(connection))
                } catch {
                    channel.close(promise: nil)
                    callback(.failure(.init(kind: .connect, detail: "\(error)", beforeResponseHead: true)))
                }
            case .failure(let error):
                var timedOut = false
                var detail = "\(error)"
                if let error = error as? ChannelError, case .connectTimeout = error { timedOut = true }
                if let error = error as? NIOConnectionError, let first = error.connectionErrors.first {
                    detail = "\(first.error)"  // the OS's reason, without NIO's list of targets
                }
                callback(.failure(.init(
                    kind: timedOut ? .connectTimeout : .connect, detail: detail, beforeResponseHead: true)))
            }
        }
    }
}

extension String {
    /// True for a literal IPv4 or IPv6 address (no SNI is sent for those).
    var isIPAddress: Bool {
        if contains(":") { return true }
        let parts = split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }
}
