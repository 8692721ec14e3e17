import SwitchyardConfig
import Testing

/// The `circuit_breaker` section: its defaults, its keys, and errors that name the line.
@Suite struct CircuitBreakerSettingsTests {
    @Test func defaultsAreFiveFailuresAndThirtySeconds() throws {
        #expect(GatewayConfiguration.defaults.circuitBreaker == CircuitBreakerSettings(failures: 5, cooldown: 30))
        let partial = try GatewayConfiguration.parse(yaml: "circuit_breaker: { cooldown_s: 2.5 }", environment: [:])
        #expect(partial.circuitBreaker == CircuitBreakerSettings(failures: 5, cooldown: 2.5))
    }

    @Test func bothKeysAreRead() throws {
        let yaml = """
            circuit_breaker:
              failures: 3
              cooldown_s: 10
            """
        #expect(try GatewayConfiguration.parse(yaml: yaml, environment: [:]).circuitBreaker
                == CircuitBreakerSettings(failures: 3, cooldown: 10))
    }

    @Test(arguments: [
        ("circuit_breaker:\n  failures: 0\n", "circuit_breaker.failures", 2),
        ("circuit_breaker:\n  cooldown_s: -1\n", "circuit_breaker.cooldown_s", 2),
        ("circuit_breaker:\n  failures: 3\n  window: 5\n", "unknown key 'window'", 3),
    ])
    func badValuesNameTheKeyAndLine(yaml: String, key: String, line: Int) throws {
        let error = firstError(yaml)
        #expect(error?.description.contains(key) == true, "\(error?.description ?? "")")
        #expect(error?.description.contains("switchyard.yaml:\(line)") == true, "\(error?.description ?? "")")
    }
}
