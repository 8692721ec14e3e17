import SwitchyardConfig
import Testing

/// Prices are read from the YAML text exactly, as micro-dollars per million tokens.
@Suite struct PriceParsingTests {
    func inputPrice(_ text: String) throws(ConfigError) -> Int64 {
        let yaml = """
            providers: [{ id: p, kind: anthropic, base_url: "https://api.anthropic.com" }]
            models:
              - id: m
                endpoints:
                  - provider: p
                    model: x
                    price: { input: \(text) }
            """
        return try GatewayConfiguration.parse(yaml: yaml, environment: [:]).models[0].endpoints[0].price.input
    }

    @Test(arguments: [
        ("3", 3_000_000),
        ("3.00", 3_000_000),
        ("15.00", 15_000_000),
        ("0.0375", 37_500),
        ("0.30", 300_000),
        ("0.028", 28_000),
        ("18.75", 18_750_000),
        ("0.000001", 1),
        ("1e-6", 1),
        ("1.5E-5", 15),
        ("2.5e1", 25_000_000),
        ("0.1000000", 100_000),  // trailing zeros beyond 6 places change nothing
        (".5", 500_000),
        ("5.", 5_000_000),
        ("+2", 2_000_000),
        ("0", 0),
        ("\"1.10\"", 1_100_000),  // a quoted scalar is read the same way
        ("9223372036854.775807", Int64.max),
    ] as [(String, Int64)])
    func decimalsConvertExactly(_ text: String, _ micros: Int64) throws {
        #expect(try self.inputPrice(text) == micros)
    }

    @Test func valuesThatDoublesCannotHoldStayExact() throws {
        // 0.1 + 0.2 style drift would show up here if the text went through Double.
        #expect(try self.inputPrice("0.000003") == 3)
        #expect(try self.inputPrice("1234567.891011") == 1_234_567_891_011)
    }

    @Test(arguments: [
        ("0.0000001", "more than 6 decimal places"),
        ("1e-7", "more than 6 decimal places"),
        ("0.0375001", "more than 6 decimal places"),
        ("-1", "cannot be negative"),
        ("-0.5", "cannot be negative"),
        ("abc", "expected a decimal number"),
        ("1.2.3", "expected a decimal number"),
        ("1e", "expected a decimal number"),
        (".inf", "expected a decimal number"),
        ("$3", "expected a decimal number"),
        ("9223372036854.775808", "too large"),
        ("1e30", "too large"),
    ])
    func invalidPricesAreRejectedWithTheirLine(_ text: String, _ reason: String) throws {
        do {
            let value = try self.inputPrice(text)
            Issue.record("'\(text)' was accepted as \(value)")
        } catch {
            #expect(error.line == 7)
            #expect(error.keyPath == "models[0].endpoints[0].price.input")
            #expect(error.message.contains(reason), "\(error.message)")
        }
    }

    @Test func absentPricesAreZero() throws {
        let yaml = """
            providers: [{ id: p, kind: anthropic, base_url: "https://api.anthropic.com" }]
            models:
              - id: m
                endpoints:
                  - { provider: p, model: x, price: { output: 4 } }
                  - { provider: p, model: y }
            """
        let endpoints = try GatewayConfiguration.parse(yaml: yaml, environment: [:]).models[0].endpoints
        #expect(endpoints[0].price == Price(output: 4_000_000))
        #expect(endpoints[1].price == Price())
    }
}
