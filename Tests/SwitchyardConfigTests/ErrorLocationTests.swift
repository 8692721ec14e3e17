import SwitchyardConfig
import Testing

/// Every kind of mistake is reported with the key and the exact line.
@Suite struct ErrorLocationTests {
    @Test func descriptionIsFileLineKeyMessage() {
        let error = ConfigError(
            source: "switchyard.yaml",
            line: 12,
            keyPath: "models[0].endpoints[0].provider",
            message: "unknown provider 'foo' (known: anthropic, deepseek)"
        )
        #expect(
            error.description
                == "switchyard.yaml:12: models[0].endpoints[0].provider: unknown provider 'foo' (known: anthropic, deepseek)"
        )
        #expect(ConfigError(source: "x.yaml", line: nil, keyPath: "", message: "no such file").description == "x.yaml: no such file")
    }

    @Test func unknownKeyListsTheAllowedOnes() throws {
        let yaml = """
            server:
              host: 0.0.0.0
              prot: 8080
            """
        let error = try #require(firstError(yaml))
        #expect(error.line == 3)
        #expect(error.keyPath == "server")
        #expect(error.message == "unknown key 'prot' (allowed here: host, port, max_body_bytes, shutdown_grace_s)")
        #expect(error.description.hasPrefix("switchyard.yaml:3: server: unknown key 'prot'"))
    }

    @Test func unknownTopLevelAndNestedKeys() throws {
        let top = try #require(firstError("server: {}\nlogging: { level: debug }\n"))
        #expect(top.line == 2)
        #expect(top.keyPath == "")
        #expect(top.message.hasPrefix("unknown key 'logging' (allowed here: server, storage, admin, timeouts"))

        let yaml = """
            \(oneProvider)
            models:
              - id: m
                endpoints:
                  - provider: anthropic
                    model: x
                    price: { input: 1, outptu: 2 }
            """
        let nested = try #require(firstError(yaml))
        #expect(nested.line == 10)
        #expect(nested.keyPath == "models[0].endpoints[0].price")
        #expect(nested.message == "unknown key 'outptu' (allowed here: input, output, cache_read, cache_write)")
    }

    @Test func wrongTypeNamesTheExpectationAndTheValue() throws {
        let yaml = """
            # comment line
            server:
              host: 127.0.0.1
              port: abc
            """
        let error = try #require(firstError(yaml))
        #expect(error.description == "switchyard.yaml:4: server.port: expected an integer, got 'abc'")
    }

    @Test func otherWrongTypes() throws {
        #expect(try #require(firstError("server: 8080\n")).description == "switchyard.yaml:1: server: expected a mapping, got '8080'")
        #expect(try #require(firstError("providers: { id: x }\n")).description == "switchyard.yaml:1: providers: expected a list, got a mapping")
        #expect(try #require(firstError("\n\nserver: { port: [1] }\n")).description == "switchyard.yaml:3: server.port: expected an integer, got a list")
        #expect(try #require(firstError("timeouts:\n  idle_s: soon\n")).description == "switchyard.yaml:2: timeouts.idle_s: expected a number of seconds, got 'soon'")
        #expect(try #require(firstError("timeouts:\n  idle_s: 0\n")).description == "switchyard.yaml:2: timeouts.idle_s: must be greater than 0, got 0")
        #expect(try #require(firstError("server:\n  port: 70000\n")).description == "switchyard.yaml:2: server.port: must be 0-65535, got 70000")
        let yaml = """
            \(oneProvider)
            models:
              - id: m
                moderation: maybe
                endpoints: [{ provider: anthropic, model: x }]
            """
        #expect(try #require(firstError(yaml)).description == "switchyard.yaml:7: models[0].moderation: expected true or false, got 'maybe'")
    }

    @Test func missingRequiredKeyPointsAtItsMapping() throws {
        let yaml = """
            providers:
              - id: anthropic
                kind: anthropic
              - id: other
                kind: openai
                base_url: https://example.com
            """
        let error = try #require(firstError(yaml))
        #expect(error.description == "switchyard.yaml:2: providers[0].base_url: missing required key")

        let noEndpoints = """
            \(oneProvider)
            models:
              - id: lonely
            """
        #expect(try #require(firstError(noEndpoints)).description == "switchyard.yaml:6: models[0].endpoints: missing required key")

        let emptyEndpoints = """
            \(oneProvider)
            models:
              - id: lonely
                endpoints: []
            """
        #expect(
            try #require(firstError(emptyEndpoints)).description
                == "switchyard.yaml:7: models[0].endpoints: at least one endpoint is required"
        )
    }

    @Test func unknownProviderReferenceListsTheKnownOnes() throws {
        let yaml = """
            providers:
              - id: anthropic
                kind: anthropic
                base_url: https://api.anthropic.com
              - id: deepseek
                kind: openai
                base_url: https://api.deepseek.com/v1
            models:
              - id: m
                endpoints:
                  - provider: anthropic
                    model: a
                  - provider: foo
                    model: b
            """
        let error = try #require(firstError(yaml))
        #expect(
            error.description
                == "switchyard.yaml:13: models[0].endpoints[1].provider: unknown provider 'foo' (known: anthropic, deepseek)"
        )
    }

    @Test func malformedURLNamesKeyAndLine() throws {
        let yaml = """
            providers:
              - id: local
                kind: openai
                base_url: localhost:8000/v1
            """
        let error = try #require(firstError(yaml))
        #expect(error.line == 4)
        #expect(error.keyPath == "providers[0].base_url")
        #expect(error.message == "malformed URL 'localhost:8000/v1': no scheme (expected http:// or https://)")
    }

    @Test func badStorageURL() throws {
        let yaml = """
            storage:
              url: "mysql://db/switchyard"
            """
        let error = try #require(firstError(yaml))
        #expect(error.line == 2)
        #expect(error.keyPath == "storage.url")
        #expect(error.message.hasPrefix("unsupported storage URL scheme 'mysql'"))
        #expect(try #require(firstError("storage: { url: \"sqlite:\" }")).keyPath == "storage.url")
        #expect(try #require(firstError("storage: { url: \"postgres://\" }")).message.contains("no host"))
    }

    @Test func unknownKindsAndCapabilities() throws {
        let kind = """
            providers:
              - id: x
                kind: cohere
                base_url: https://api.cohere.ai
            """
        #expect(
            try #require(firstError(kind)).description
                == "switchyard.yaml:3: providers[0].kind: unknown provider kind 'cohere' (expected one of: anthropic, openai, gemini)"
        )
        let capability = """
            \(oneProvider)
            models:
              - id: m
                endpoints:
                  - provider: anthropic
                    model: x
                    supports:
                      - tools
                      - video
            """
        #expect(
            try #require(firstError(capability)).description
                == "switchyard.yaml:12: models[0].endpoints[0].supports[1]: unknown capability 'video' (expected any of: tools, thinking, images, documents)"
        )
    }

    @Test func duplicateProviderIdNamesTheFirstDefinition() throws {
        let yaml = """
            providers:
              - id: anthropic
                kind: anthropic
                base_url: https://api.anthropic.com
              - id: anthropic
                kind: anthropic
                base_url: https://proxy.example.com
            """
        let error = try #require(firstError(yaml))
        #expect(
            error.description
                == "switchyard.yaml:5: providers[1].id: duplicate provider id 'anthropic' (already defined at providers[0].id, line 2)"
        )
    }

    @Test func clashingModelNamesNameBothPlaces() throws {
        let yaml = """
            \(oneProvider)
            models:
              - id: sonnet
                aliases: [claude-sonnet-4-5]
                endpoints: [{ provider: anthropic, model: a }]
              - id: other
                aliases:
                  - claude-sonnet-4-5
                endpoints: [{ provider: anthropic, model: b }]
              - id: sonnet
                endpoints: [{ provider: anthropic, model: c }]
            """
        let errors = GatewayConfiguration.validate(yaml: yaml, environment: [:])
        #expect(
            errors.map(\.description) == [
                "switchyard.yaml:11: models[1].aliases[0]: 'claude-sonnet-4-5' is already used by models[0].aliases[0], line 7; model ids and aliases must be unique",
                "switchyard.yaml:13: models[2].id: 'sonnet' is already used by models[0].id, line 6; model ids and aliases must be unique",
            ]
        )
    }

    @Test func moderationOnAModelNeedsAModerationSection() throws {
        let yaml = """
            \(oneProvider)
            models:
              - id: m
                moderation: true
                endpoints: [{ provider: anthropic, model: x }]
            """
        #expect(try #require(firstError(yaml)).line == 7)
        #expect(try #require(firstError(yaml)).keyPath == "models[0].moderation")
    }

    @Test func anInvalidPatternIsReportedWithItsLine() throws {
        let yaml = """
            moderation:
              kind: keywords
              patterns:
                - "ok"
                - "(unclosed"
            """
        let error = try #require(firstError(yaml))
        #expect(error.line == 5)
        #expect(error.keyPath == "moderation.patterns[1]")
        #expect(error.message.hasPrefix("invalid regular expression '(unclosed'"))
    }

    @Test func yamlSyntaxErrorsCarryTheirLine() throws {
        let badIndent = """
            server:
              host: 127.0.0.1
               port: 8080
            """
        let indentError = try #require(firstError(badIndent))
        #expect(indentError.line == 3)
        #expect(indentError.message.hasPrefix("invalid YAML:"))

        let unclosed = """
            server: { host: 127.0.0.1
            storage: {}
            """
        #expect(try #require(firstError(unclosed)).message.hasPrefix("invalid YAML:"))

        let duplicate = """
            server:
              port: 1
              port: 2
            """
        let duplicateError = try #require(firstError(duplicate))
        #expect(duplicateError.line == 2)
        #expect(duplicateError.message == "duplicate key 'port' in the same mapping")
    }

    @Test func everyErrorInTheFileIsCollectedInLineOrder() {
        let yaml = """
            server:
              port: abc
              colour: blue
            providers:
              - id: a
                kind: openai
                base_url: ftp://example.com
            models:
              - id: m
                endpoints: [{ provider: nope, model: x, price: { input: -1 } }]
            """
        let errors = GatewayConfiguration.validate(yaml: yaml, environment: [:])
        #expect(errors.map(\.line) == [2, 3, 7, 10, 10])
        #expect(
            errors.map(\.keyPath) == [
                "server.port", "server", "providers[0].base_url", "models[0].endpoints[0].provider",
                "models[0].endpoints[0].price.input",
            ]
        )
        // The first one is what parse throws.
        #expect(firstError(yaml) == errors.first)
    }

    @Test func idsThatCouldNotGoIntoAResponseHeaderAreRefused() throws {
        let provider = try #require(firstError("""
            providers:
              - id: "anthropic main"
                kind: anthropic
                base_url: https://api.anthropic.com
            """))
        #expect(provider.line == 2)
        #expect(provider.keyPath == "providers[0].id")
        #expect(provider.message == "must not contain spaces or control characters")

        let model = try #require(firstError("""
            \(oneProvider)
            models:
              - id: "claude\\r\\nx-injected: 1"
                endpoints: [{ provider: anthropic, model: claude }]
            """))
        #expect(model.keyPath == "models[0].id")
        #expect(model.message == "must not contain spaces or control characters")
    }

    @Test func anUpstreamKeyWithALineBreakIsRefused() throws {
        let error = try #require(firstError("""
            providers:
              - id: anthropic
                kind: anthropic
                base_url: https://api.anthropic.com
                api_key: ${ANTHROPIC_KEY}
            """, environment: ["ANTHROPIC_KEY": "sk-ant-secret\n"]))
        #expect(error.line == 5)
        #expect(error.keyPath == "providers[0].api_key")
        #expect(error.message.hasPrefix("must not contain line breaks or control characters"))
        #expect(!error.description.contains("sk-ant-secret"))
    }
}
