import SwitchyardConfig
import Testing

/// Parses `yaml` and returns the first error, failing the test if the text is valid.
func firstError(_ yaml: String, environment: [String: String] = [:]) -> ConfigError? {
    do {
        _ = try GatewayConfiguration.parse(yaml: yaml, source: "switchyard.yaml", environment: environment)
        Issue.record("expected a configuration error")
        return nil
    } catch {
        return error
    }
}

/// A minimal valid provider block, for tests about models.
let oneProvider = """
    providers:
      - id: anthropic
        kind: anthropic
        base_url: https://api.anthropic.com
    """
