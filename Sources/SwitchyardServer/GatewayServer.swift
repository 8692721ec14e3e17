import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import SwitchyardAccounts
import SwitchyardConfig
import SwitchyardRouting
import SwitchyardProviders
import NIOExtras

/// The gateway's HTTP server: one port, the NIO data path for `/v1/messages`, the Hummingbird router for the rest.
///
/// A `Service`: ``run()`` binds, reports the address, serves until graceful shutdown, then stops accepting and
/// lets in-flight requests (streams included) finish for up to `server.shutdown_grace_s` seconds.
public final class GatewayServer: Service {
    private let runtime: GatewayRuntime
    private let group: any EventLoopGroup
    private let coldRoutes: ColdRoutes
    private let onListening: @Sendable (SocketAddress) -> Void

    public init(
        runtime: GatewayRuntime,
        group: any EventLoopGroup,
        readiness: @escaping @Sendable () async throws -> Void,
        metricsText: @escaping @Sendable () -> [UInt8],
        onListening: @escaping @Sendable (SocketAddress) -> Void
    ) {
        self.runtime = runtime
        self.group = group
        self.coldRoutes = ColdRoutes(runtime: runtime, readiness: readiness, metricsText: metricsText)
        self.onListening = onListening
    }

    public func run() async throws {
        let quiesce = ServerQuiescingHelper(group: group)
        let locals = EventLoopLocals(group: group, tls: runtime.tls, tick: runtime.tick)
        let runtime = self.runtime
        let coldRoutes = self.coldRoutes
        let server = runtime.configuration.server
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            // Up to 64 connections accepted per readiness event (NIO's default is 4): when a thousand clients connect
            // within a second while the loop is busy relaying, new connections otherwise wait rounds to be accepted.
            .serverChannelOption(ChannelOptions.maxMessagesPerRead, value: 64)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    // No pipelining assistance: ClientConnectionHandler queues pipelined requests itself and, unlike
                    // NIO's handler, does not stop and restart reading around every request (two epoll_ctl calls each).
                    // No outbound header validation: every response header is either the gateway's own (config ids
                    // are checked at load) or a value NIO's parser already accepted from an upstream.
                    // No protocol error handler: ClientConnectionHandler answers malformed HTTP itself.
                    // ClientConnectionHandler writes every answer as bytes below the encoder (which relies on those
                    // three handlers being absent). So the decoder is not paired with the encoder, as
                    // configureHTTPServerPipeline would pair them: the encoder would queue each request's method
                    // for answers that never pass through it.
                    try sync.addHandler(HTTPResponseEncoder())
                    try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
                    try sync.addHandler(ClientConnectionHandler(runtime: runtime, coldRoutes: coldRoutes, locals: locals))
                }
            }
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            // A client's FIN reaches ClientConnectionHandler as `inputClosed`, which flushes before it closes.
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .bind(host: server.host, port: server.port)
            .get()
        if let address = channel.localAddress { onListening(address) }

        // Serve until asked to stop; cancellation (a second signal) ends the wait too.
        try? await gracefulShutdown()

        runtime.logger.info("shutting down: no new connections; waiting for in-flight requests")
        let drained = group.next().makePromise(of: Void.self)
        quiesce.initiateShutdown(promise: drained)
        let grace = server.shutdownGraceSeconds
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try? await drained.futureResult.get() }
            tasks.addTask { try? await Task.sleep(for: .seconds(grace)) }
            await tasks.next()
            tasks.cancelAll()
        }
        await locals.closeAllUpstreamConnections()
        runtime.logger.info("server stopped")
    }
}

/// Runs the ledger (batched usage writes, key refresh) and flushes it last, after the server has drained.
public struct LedgerService: Service {
    let ledger: AccountLedger

    public init(ledger: AccountLedger) {
        self.ledger = ledger
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await self.ledger.run() }
        } catch is CancellationError {
            // Graceful shutdown reached the ledger: the server has drained; write what is left.
        }
        try await ledger.flush()
    }
}
