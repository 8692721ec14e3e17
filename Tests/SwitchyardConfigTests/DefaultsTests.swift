import SwitchyardConfig
import Testing

/// The built-in configuration, and that absent sections keep it.
@Suite struct DefaultsTests {
    @Test func defaultsAreTheDocumentedValues() {
        let defaults = GatewayConfiguration.defaults
        #expect(defaults.server.host == "127.0.0.1")
        #expect(defaults.server.port == 8080)
        #expect(defaults.server.maxBodyBytes == 33_554_432)
        #expect(defaults.server.shutdownGraceSeconds == 30)
        #expect(defaults.storage.url == "sqlite:switchyard.db")
        #expect(defaults.storage.kind == .sqlite)
        #expect(defaults.storage.sqlitePath == "switchyard.db")
        #expect(defaults.admin.token == nil)
        #expect(defaults.timeouts == Timeouts(connect: 10, firstByte: 120, idle: 120, total: 900))
        #expect(defaults.providers.isEmpty)
        #expect(defaults.models.isEmpty)
        #expect(defaults.moderation == nil)
    }

    @Test(arguments: ["", "# only a comment\n", "---\n", "~\n"])
    func anEmptyDocumentIsTheDefaults(_ yaml: String) throws {
        #expect(try GatewayConfiguration.parse(yaml: yaml, environment: [:]) == .defaults)
    }

    @Test func emptySectionsKeepTheirDefaults() throws {
        let yaml = """
            server:
            storage: {}
            admin:
            timeouts: {}
            providers: []
            models:
            """
        #expect(try GatewayConfiguration.parse(yaml: yaml, environment: [:]) == .defaults)
    }

    @Test func aPartialSectionOverridesOnlyItsKeys() throws {
        let yaml = """
            server: { port: 9090 }
            timeouts: { idle_s: 30.5 }
            """
        let configuration = try GatewayConfiguration.parse(yaml: yaml, environment: [:])
        #expect(configuration.server == ServerSettings(port: 9090))
        #expect(configuration.timeouts == Timeouts(idle: 30.5))
    }

    @Test func providerTimeoutOverridesApplyOverTheTopLevelOnes() throws {
        let yaml = """
            timeouts: { connect_s: 5, total_s: 600 }
            providers:
              - id: slow
                kind: openai
                base_url: http://localhost:8000/v1
                timeouts: { first_byte_s: 300 }
            """
        let configuration = try GatewayConfiguration.parse(yaml: yaml, environment: [:])
        let provider = try #require(configuration.provider(id: "slow"))
        #expect(provider.timeouts == TimeoutOverrides(firstByte: 300))
        #expect(provider.apiKey == "")
        #expect(provider.tls == nil)
        #expect(
            configuration.timeouts.applying(provider.timeouts)
                == Timeouts(connect: 5, firstByte: 300, idle: 120, total: 600)
        )
    }

    @Test func anEmptyAdminTokenMeansNoToken() throws {
        let empty = try GatewayConfiguration.parse(
            yaml: #"admin: { token: "${TOKEN}" }"#,
            environment: ["TOKEN": ""]
        )
        #expect(empty.admin.token == nil)
        let set = try GatewayConfiguration.parse(yaml: #"admin: { token: "${TOKEN}" }"#, environment: ["TOKEN": "s3cret"])
        #expect(set.admin.token == "s3cret")
    }

    @Test(arguments: [
        ("sqlite:switchyard.db", StorageKind.sqlite, "switchyard.db" as String?),
        ("sqlite:/var/lib/switchyard/db.sqlite", .sqlite, "/var/lib/switchyard/db.sqlite"),
        ("sqlite::memory:", .sqlite, ":memory:"),
        ("postgres://user:pass@db.internal:5432/switchyard", .postgres, nil),
        ("postgresql://db.internal/switchyard?sslmode=require", .postgres, nil),
    ])
    func acceptedStorageURLs(_ url: String, _ kind: StorageKind, _ path: String?) throws {
        let configuration = try GatewayConfiguration.parse(yaml: "storage: { url: \"\(url)\" }", environment: [:])
        #expect(configuration.storage.url == url)
        #expect(configuration.storage.kind == kind)
        #expect(configuration.storage.sqlitePath == path)
        #expect(configuration.storage.isInMemory == (url == "sqlite::memory:"))
    }
}
