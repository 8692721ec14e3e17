import ArgumentParser
import Foundation
import Logging
import SwitchyardAccounts
import SwitchyardConfig
import SwitchyardStoreSQL

/// Options every command takes: which configuration (and so which storage) to use.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Configuration file (default: switchyard.yaml in the working directory, if present).")
    var config: String?

    /// The configuration: the named file, else `switchyard.yaml` if it exists, else the built-in defaults.
    func loadConfiguration() throws -> GatewayConfiguration {
        let environment = ProcessInfo.processInfo.environment
        if let config {
            return try GatewayConfiguration.load(contentsOf: config, environment: environment)
        }
        if FileManager.default.fileExists(atPath: "switchyard.yaml") {
            return try GatewayConfiguration.load(contentsOf: "switchyard.yaml", environment: environment)
        }
        return GatewayConfiguration.defaults
    }

    /// The configured storage, migrated.
    func openStore(_ configuration: GatewayConfiguration? = nil, logger: Logger = GlobalOptions.quietLogger) async throws -> any AccountStore {
        let configuration = try configuration ?? loadConfiguration()
        let store = try await SQLAccountStore.open(url: configuration.storage.url, logger: logger)
        try await store.migrate()
        return store
    }
}

extension GlobalOptions {
    /// Administrative commands print their results, not storage chatter: warnings and worse only.
    static var quietLogger: Logger {
        var logger = Logger(label: "switchyard")
        logger.logLevel = .warning
        return logger
    }
}
