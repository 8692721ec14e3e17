import ArgumentParser

/// The `switchyard` command: the gateway server and its administration.
@main
struct Switchyard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "An LLM gateway that speaks the Anthropic Messages API.",
        subcommands: [Serve.self, Keys.self, Usage.self, ConfigCommand.self]
    )
}
