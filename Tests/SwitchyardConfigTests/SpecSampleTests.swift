import SwitchyardConfig
import Testing

/// The sample in SPEC.md §2 parses into exactly the values it shows.
@Suite struct SpecSampleTests {
    static let sample = #"""
        server:   { host: 127.0.0.1, port: 8080, max_body_bytes: 33554432 }
        storage:  { url: "sqlite:switchyard.db" }        # or "postgres://user:pass@host:5432/db"
        admin:    { token: "${SWITCHYARD_ADMIN_TOKEN}" }  # enables /admin/* when set
        timeouts: { connect_s: 10, first_byte_s: 120, idle_s: 120, total_s: 900 }
        providers:
          - id: anthropic
            kind: anthropic                  # anthropic | openai (any OpenAI-compatible chat API) | gemini
            base_url: https://api.anthropic.com
            api_key: "${ANTHROPIC_API_KEY}"  # ${VAR} is read from the environment
            # tls: { ca_file: /path/ca.pem }  # optional: trust this CA (a private or test endpoint)
          - id: deepseek
            kind: openai
            base_url: https://api.deepseek.com/v1
            api_key: "${DEEPSEEK_API_KEY}"
        models:
          - id: anthropic/claude-sonnet-4.5
            aliases: [claude-sonnet-4-5, claude-sonnet-4-5-20250929]
            moderation: false                # true: inputs are checked; flagged -> 403
            endpoints:                       # tried in order unless the request says otherwise
              - provider: anthropic
                model: claude-sonnet-4-5-20250929
                price: { input: 3.00, output: 15.00, cache_read: 0.30, cache_write: 3.75 }  # USD per million tokens
                supports: [tools, thinking, images, documents]
        moderation:
          kind: keywords                     # keywords (built in) | openai (a /v1/moderations endpoint)
          patterns: ["(?i)\\bexample-banned-term\\b"]
        """#

    static let environment = [
        "SWITCHYARD_ADMIN_TOKEN": "admin-token",
        "ANTHROPIC_API_KEY": "sk-ant-test",
        "DEEPSEEK_API_KEY": "sk-ds-test",
    ]

    @Test func sampleParsesIntoTheValuesItShows() throws {
        let configuration = try GatewayConfiguration.parse(yaml: Self.sample, environment: Self.environment)
        let expected = GatewayConfiguration(
            server: ServerSettings(host: "127.0.0.1", port: 8080, maxBodyBytes: 33_554_432),
            storage: StorageSettings(url: "sqlite:switchyard.db"),
            admin: AdminSettings(token: "admin-token"),
            timeouts: Timeouts(connect: 10, firstByte: 120, idle: 120, total: 900),
            providers: [
                ProviderConfig(
                    id: "anthropic",
                    kind: .anthropic,
                    baseURL: UpstreamURL(scheme: "https", host: "api.anthropic.com"),
                    apiKey: "sk-ant-test"
                ),
                ProviderConfig(
                    id: "deepseek",
                    kind: .openai,
                    baseURL: UpstreamURL(scheme: "https", host: "api.deepseek.com", basePath: "/v1"),
                    apiKey: "sk-ds-test"
                ),
            ],
            models: [
                ModelConfig(
                    id: "anthropic/claude-sonnet-4.5",
                    aliases: ["claude-sonnet-4-5", "claude-sonnet-4-5-20250929"],
                    moderation: false,
                    endpoints: [
                        EndpointConfig(
                            provider: "anthropic",
                            model: "claude-sonnet-4-5-20250929",
                            price: Price(input: 3_000_000, output: 15_000_000, cacheRead: 300_000, cacheWrite: 3_750_000),
                            supports: [.tools, .thinking, .images, .documents]
                        )
                    ]
                )
            ],
            moderation: ModerationSettings(kind: .keywords, patterns: [#"(?i)\bexample-banned-term\b"#])
        )
        #expect(configuration == expected)
        #expect(configuration.providers[1].baseURL.string == "https://api.deepseek.com/v1")
        #expect(configuration.providers[0].baseURL.port == 443)
    }

    @Test func modelsResolveByIdOrAliasExactly() throws {
        let configuration = try GatewayConfiguration.parse(yaml: Self.sample, environment: Self.environment)
        for name in ["anthropic/claude-sonnet-4.5", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929"] {
            #expect(configuration.model(named: name)?.id == "anthropic/claude-sonnet-4.5", "\(name)")
        }
        #expect(configuration.model(named: "Claude-Sonnet-4-5") == nil)
        #expect(configuration.model(named: "claude-sonnet-4-5 ") == nil)
        #expect(configuration.model(named: "claude-haiku-4-5") == nil)
    }

    @Test func modelLookupFollowsChangesToTheCatalog() throws {
        var configuration = try GatewayConfiguration.parse(yaml: Self.sample, environment: Self.environment)
        configuration.models[0].aliases.append("sonnet")
        #expect(configuration.model(named: "sonnet")?.id == "anthropic/claude-sonnet-4.5")
        configuration.models.removeAll()
        #expect(configuration.model(named: "claude-sonnet-4-5") == nil)
    }
}
