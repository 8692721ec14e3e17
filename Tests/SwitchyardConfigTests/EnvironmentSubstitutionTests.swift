import SwitchyardConfig
import Testing

/// `${VAR}` substitution in every scalar string.
@Suite struct EnvironmentSubstitutionTests {
    func apiKey(_ value: String, _ environment: [String: String]) throws -> String {
        let yaml = """
            providers:
              - id: p
                kind: anthropic
                base_url: https://api.anthropic.com
                api_key: '\(value)'
            """
        return try GatewayConfiguration.parse(yaml: yaml, environment: environment).providers[0].apiKey
    }

    @Test func aVariableIsReplacedByItsValue() throws {
        #expect(try self.apiKey("${KEY}", ["KEY": "sk-123"]) == "sk-123")
    }

    @Test func severalVariablesInOneString() throws {
        #expect(try self.apiKey("${A}-${B}:${A}", ["A": "x", "B": "yz"]) == "x-yz:x")
        #expect(try self.apiKey("pre${A}post", ["A": "_"]) == "pre_post")
    }

    @Test func doubleDollarIsALiteralDollar() throws {
        #expect(try self.apiKey("$$", [:]) == "$")
        #expect(try self.apiKey("a$$b$${NOT}", [:]) == "a$b${NOT}")
        #expect(try self.apiKey("$$${A}", ["A": "v"]) == "$v")
        #expect(try self.apiKey("cost $5", [:]) == "cost $5")  // a lone $ stays
    }

    @Test func valuesAreNotSubstitutedAgain() throws {
        #expect(try self.apiKey("${A}", ["A": "${B}", "B": "no"]) == "${B}")
    }

    @Test func anUnsetVariableNamesTheVariableTheKeyAndTheLine() throws {
        let yaml = """
            providers:
              - id: anthropic
                kind: anthropic
                base_url: https://api.anthropic.com
                api_key: "${ANTHROPIC_API_KEY}"
            """
        let error = try #require(firstError(yaml, environment: ["OTHER": "x"]))
        #expect(
            error.description
                == "switchyard.yaml:5: providers[0].api_key: environment variable ANTHROPIC_API_KEY is not set"
        )
    }

    @Test func malformedReferencesAreErrors() throws {
        let unterminated = try #require(firstError("admin: { token: \"${TOKEN\" }"))
        #expect(unterminated.keyPath == "admin.token")
        #expect(unterminated.message == "'${' without a closing '}'")
        let invalid = try #require(firstError("admin: { token: \"${NOT A NAME}\" }"))
        #expect(invalid.message.hasPrefix("'${NOT A NAME}' is not a variable reference"))
        #expect(try #require(firstError("admin: { token: \"${}\" }")).keyPath == "admin.token")
    }

    @Test func substitutionWorksForNumbersAndURLsToo() throws {
        let yaml = """
            server: { port: "${PORT}" }
            providers:
              - id: local
                kind: openai
                base_url: "http://${HOST}:${UPSTREAM_PORT}/v1"
            """
        let configuration = try GatewayConfiguration.parse(
            yaml: yaml,
            environment: ["PORT": "9000", "HOST": "127.0.0.1", "UPSTREAM_PORT": "8001"]
        )
        #expect(configuration.server.port == 9000)
        #expect(configuration.providers[0].baseURL == UpstreamURL(scheme: "http", host: "127.0.0.1", port: 8001, basePath: "/v1"))
    }
}
