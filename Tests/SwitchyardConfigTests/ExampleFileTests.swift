import SwitchyardConfig
import Testing

/// The checked-in `switchyard.example.yaml` is valid and says what its comments say.
@Suite struct ExampleFileTests {
    /// `<repo>/switchyard.example.yaml`, found from this file's path (`<repo>/Tests/SwitchyardConfigTests/…`).
    static var examplePath: String {
        var components = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        components.removeLast(3)
        return (components + ["switchyard.example.yaml"]).joined(separator: "/")
    }

    static let environment = ["ANTHROPIC_API_KEY": "sk-ant-example", "DEEPSEEK_API_KEY": "sk-ds-example"]

    @Test func exampleFileIsValid() throws {
        #expect(GatewayConfiguration.validate(contentsOf: Self.examplePath, environment: Self.environment) == [])
        let configuration = try GatewayConfiguration.load(contentsOf: Self.examplePath, environment: Self.environment)
        #expect(configuration.providers.map(\.id) == ["anthropic", "deepseek"])
        #expect(configuration.providers.map(\.apiKey) == ["sk-ant-example", "sk-ds-example"])
        #expect(configuration.providers[1].baseURL.string == "https://api.deepseek.com/v1")
        #expect(configuration.providers[1].kind == .openai)
        #expect(
            configuration.models.map(\.id) == [
                "anthropic/claude-sonnet-4.5", "anthropic/claude-haiku-4.5", "anthropic/claude-opus-4.1",
                "deepseek/deepseek-chat",
            ]
        )
        #expect(configuration.server == ServerSettings())
        #expect(configuration.storage == StorageSettings())
        #expect(configuration.timeouts == Timeouts())
        #expect(configuration.admin.token == nil)
        #expect(configuration.moderation?.kind == .keywords)
    }

    @Test(arguments: [
        ("claude-sonnet-4-5", "anthropic/claude-sonnet-4.5"),
        ("claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4.5"),
        ("claude-haiku-4-5", "anthropic/claude-haiku-4.5"),
        ("claude-haiku-4-5-20251001", "anthropic/claude-haiku-4.5"),
        ("claude-opus-4-1", "anthropic/claude-opus-4.1"),
        ("deepseek/deepseek-chat", "deepseek/deepseek-chat"),
    ])
    func claudeCodeModelNamesResolve(_ name: String, _ id: String) throws {
        let configuration = try GatewayConfiguration.load(contentsOf: Self.examplePath, environment: Self.environment)
        #expect(configuration.model(named: name)?.id == id)
    }

    @Test func examplePricesAreExact() throws {
        let configuration = try GatewayConfiguration.load(contentsOf: Self.examplePath, environment: Self.environment)
        let haiku = try #require(configuration.model(named: "claude-haiku-4-5")?.endpoints.first)
        #expect(haiku.price == Price(input: 1_000_000, output: 5_000_000, cacheRead: 100_000, cacheWrite: 1_250_000))
        let deepseek = try #require(configuration.model(named: "deepseek/deepseek-chat")?.endpoints.first)
        #expect(deepseek.price == Price(input: 280_000, output: 420_000, cacheRead: 28_000, cacheWrite: 280_000))
        #expect(deepseek.supports == [.tools])
    }

    @Test func exampleFileNeedsItsTwoKeys() {
        let errors = GatewayConfiguration.validate(contentsOf: Self.examplePath, environment: [:])
        #expect(errors.map(\.keyPath) == ["providers[0].api_key", "providers[1].api_key"])
        #expect(errors.allSatisfy { $0.source == Self.examplePath && $0.line != nil })
    }

    @Test func aMissingFileIsAnError() {
        let errors = GatewayConfiguration.validate(contentsOf: "/nonexistent/switchyard.yaml", environment: [:])
        #expect(errors == [ConfigError(source: "/nonexistent/switchyard.yaml", line: nil, keyPath: "", message: "no such file")])
    }
}
