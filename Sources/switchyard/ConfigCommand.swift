import ArgumentParser
import Foundation
import SwitchyardConfig

/// `switchyard config check`: validate a configuration and say exactly what is wrong and where.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Configuration tools.",
        subcommands: [Check.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate the configuration file.")

        @OptionGroup var options: GlobalOptions

        func run() async throws {
            do {
                let configuration = try options.loadConfiguration()
                print("configuration OK: \(configuration.providers.count) provider(s), \(configuration.models.count) model(s)")
            } catch let error as ConfigError {
                printError("\(error)")
                throw ExitCode(1)
            }
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
