import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SwitchyardAccounts
import SwitchyardConfig
import SwitchyardRouting
import SwitchyardServer
import SwitchyardStoreSQL

/// A running gateway (the real server, on an ephemeral port) in front of a ``MockUpstream``, with one funded key.
struct GatewayHarness: Sendable {
    let port: Int
    let store: any AccountStore
    let ledger: AccountLedger
    let keyID: String
    let secret: String
    /// The gateway's circuit breakers and endpoint figures.
    let health: EndpointHealthBoard
    /// Starts the gateway's graceful shutdown (what SIGTERM does) and returns at once.
    let beginShutdown: @Sendable () async -> Void

    /// Every scenario the mock knows, as gateway model `test/<name>` → upstream model `up-<name>`.
    static let scenarios = ["text", "hold", "cut", "garbage", "error-400", "error-401", "error-403",
                            "error-429", "error-500", "error-529", "silent"]

    /// Models served by the OpenAI-compatible side of the mock (`kind: openai`, translated).
    static let openAIScenarios = ["oai-text", "oai-cut"]

    /// Prices of every test model, USD per million tokens.
    static let prices = TokenPrices(input: 3_000_000, output: 15_000_000, cacheRead: 300_000, cacheWrite: 3_750_000)

    static func yaml(
        upstreamPort: Int, databasePath: String, timeouts: String, moderation: String?,
        circuitBreaker: String = "{ failures: 5, cooldown_s: 30 }", extraModels: String = "", deadPort: Int = 9
    ) -> String {
        var text = """
        server: { host: 127.0.0.1, port: 0, shutdown_grace_s: 2 }
        storage: { url: "sqlite:\(databasePath)" }
        timeouts: \(timeouts)
        circuit_breaker: \(circuitBreaker)
        providers:
          - id: mock
            kind: anthropic
            base_url: http://127.0.0.1:\(upstreamPort)
            api_key: upstream-provider-key
          - id: mock2
            kind: anthropic
            base_url: http://127.0.0.1:\(upstreamPort)
            api_key: upstream-provider-key-2
          - id: mock-quick
            kind: anthropic
            base_url: http://127.0.0.1:\(upstreamPort)
            api_key: upstream-provider-key
            timeouts: { first_byte_s: 0.3 }
          - id: dead
            kind: anthropic
            base_url: http://127.0.0.1:\(deadPort)
            api_key: dead-provider-key
          - id: mockoai
            kind: openai
            base_url: http://127.0.0.1:\(upstreamPort)/v1
            api_key: openai-provider-key
        models:

        """
        text += extraModels
        text += """
          - id: test/moderated
            moderation: true
            endpoints:
              - provider: mock
                model: up-text
                price: { input: 3, output: 15 }

        """
        for name in openAIScenarios {
            text += """
              - id: test/\(name)
                endpoints:
                  - provider: mockoai
                    model: up-\(name)
                    price: { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 }

            """
        }
        for name in scenarios {
            let aliases = name == "text" ? "[claude-haiku-4-5-20251001]" : "[]"
            text += """
              - id: test/\(name)
                aliases: \(aliases)
                endpoints:
                  - provider: mock
                    model: up-\(name)
                    price: { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 }

            """
        }
        if let moderation { return text + moderation.replacingOccurrences(of: "PORT", with: String(upstreamPort)) + "\n" }
        text += """
        moderation:
          kind: keywords
          patterns: ["(?i)\\\\bforbidden-word\\\\b"]

        """
        return text
    }

    /// Starts a gateway in front of the mock on `upstreamPort`, runs `body`, then shuts the gateway down.
    static func run<T: Sendable>(
        upstreamPort: Int,
        credits: String = "10",
        timeouts: String = "{ connect_s: 2, first_byte_s: 5, idle_s: 5, total_s: 30 }",
        keepAliveInterval: TimeAmount? = nil,
        rpm: Int? = nil,
        tpm: Int? = nil,
        models: [String]? = nil,
        moderation: String? = nil,
        circuitBreaker: String = "{ failures: 5, cooldown_s: 30 }",
        extraModels: String = "",
        _ body: @Sendable (GatewayHarness) async throws -> T
    ) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = try GatewayConfiguration.parse(
            yaml: yaml(
                upstreamPort: upstreamPort, databasePath: directory.appendingPathComponent("test.db").path,
                timeouts: timeouts, moderation: moderation, circuitBreaker: circuitBreaker, extraModels: extraModels,
                deadPort: try await closedPort()),
            source: "test.yaml", environment: [:])
        var logger = Logger(label: "gateway-test")
        logger.logLevel = .critical
        let store = try await SQLAccountStore.open(url: configuration.storage.url, logger: logger)
        try await store.migrate()
        let secret = APIKeySecret.generate()
        let key = APIKeyRecord(
            id: "key_" + String(UInt64.random(in: 0...UInt64.max), radix: 16),
            name: "test", hash: APIKeySecret.hash(secret), prefix: APIKeySecret.displayPrefix(secret),
            credits: Money(usd: credits)!, rpm: rpm, tpm: tpm, models: models, disabled: false, createdAt: Date())
        try await store.createKey(key)
        let ledger = AccountLedger(store: store)
        try await ledger.refresh()
        var runtime = try GatewayRuntime(configuration: configuration, ledger: ledger, logger: logger)
        if let keepAliveInterval { runtime.streamKeepAliveInterval = keepAliveInterval }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let (ports, portSource) = AsyncStream.makeStream(of: Int.self)
        let server = GatewayServer(
            runtime: runtime, group: group,
            readiness: { try await store.ping() },
            metricsText: { Array("# metrics\n".utf8) },
            onListening: { portSource.yield($0.port!) })
        let services = ServiceGroup(configuration: .init(
            services: [.init(service: LedgerService(ledger: ledger)), .init(service: server)], logger: logger))
        let result: T = try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await services.run() }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next()!
            let harness = GatewayHarness(
                port: port, store: store, ledger: ledger, keyID: key.id, secret: secret, health: runtime.health,
                beginShutdown: { await services.triggerGracefulShutdown() })
            do {
                let value = try await body(harness)
                await services.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return value
            } catch {
                await services.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
        try await store.shutdown()
        try await group.shutdownGracefully()
        return result
    }

    /// A loopback port nothing listens on (bound, then closed): connections to it are refused.
    static func closedPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        return port
    }

    /// The key's balance as stored, after the ledger wrote everything queued.
    func storedBalance() async throws -> Money {
        try await ledger.flush()
        return try await store.key(id: keyID)!.credits
    }

    /// The usage records stored for the key, after the ledger wrote everything queued.
    func storedUsage() async throws -> [UsageRecord] {
        try await ledger.flush()
        return try await store.usage(keyID: keyID, since: nil)
    }
}
