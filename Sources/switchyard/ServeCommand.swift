import ArgumentParser
import Foundation
import Logging
import Metrics
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle
import SwitchyardAccounts
import SwitchyardConfig
import SwitchyardServer
import UnixSignals

/// `switchyard serve`: run the gateway until SIGINT/SIGTERM, then drain in-flight streams and exit 0.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway.")

    @OptionGroup var options: GlobalOptions

    @Option(help: "Event loop threads (default: one per core available to the process).")
    var threads: Int?

    func run() async throws {
        let level = ProcessInfo.processInfo.environment["SWITCHYARD_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "switchyard")
        let configuration: GatewayConfiguration
        do {
            configuration = try options.loadConfiguration()
        } catch let error as ConfigError {
            printError("\(error)")
            throw ExitCode(1)
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        let store = try await options.openStore(configuration, logger: logger)
        let ledger = AccountLedger(store: store)
        try await ledger.refresh()
        let runtime = try GatewayRuntime(configuration: configuration, ledger: ledger, logger: logger)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads ?? System.coreCount)
        let server = GatewayServer(
            runtime: runtime,
            group: group,
            readiness: { try await store.ping() },
            metricsText: { registry.emitToBuffer() },
            onListening: { address in
                let host = address.ipAddress ?? configuration.server.host
                let shown = host.contains(":") ? "[\(host)]" : host
                let line = "switchyard listening on http://\(shown):\(address.port ?? configuration.server.port)\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            })
        let services = ServiceGroup(
            configuration: .init(
                services: [.init(service: LedgerService(ledger: ledger)), .init(service: server)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await services.run()
        try await store.shutdown()
        try await group.shutdownGracefully()
    }
}
