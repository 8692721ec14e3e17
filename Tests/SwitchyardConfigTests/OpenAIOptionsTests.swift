import Testing
import SwitchyardConfig

/// The `openai:` block of a provider: read for `kind: openai`, refused elsewhere, with its line.
@Suite struct OpenAIOptionsTests {
    @Test func optionsAreReadForOpenAIProviders() throws {
        let yaml = """
        providers:
          - id: deepseek
            kind: openai
            base_url: https://api.deepseek.com/v1
            openai: { max_tokens_field: max_completion_tokens, reasoning: reasoning.effort, top_k: true, echo_reasoning_content: true }
          - id: plain
            kind: openai
            base_url: https://api.openai.com/v1
        """
        let configuration = try GatewayConfiguration.parse(yaml: yaml, environment: [:])
        #expect(configuration.providers[0].openAI == OpenAIOptions(
            maxTokensField: "max_completion_tokens", reasoning: "reasoning.effort", topK: true, echoReasoningContent: true))
        #expect(configuration.providers[1].openAI == OpenAIOptions())
    }

    @Test func optionsOnAnotherKindOrWithABadFieldAreRefusedWithTheirLine() {
        let onAnthropic = """
        providers:
          - id: anthropic
            kind: anthropic
            base_url: https://api.anthropic.com
            openai: { top_k: true }
        """
        #expect { try GatewayConfiguration.parse(yaml: onAnthropic, environment: [:]) } throws: { error in
            let error = error as? ConfigError
            return error?.line == 5 && error?.keyPath == "providers[0].openai"
        }
        let badField = """
        providers:
          - id: oai
            kind: openai
            base_url: https://api.openai.com/v1
            openai:
              max_tokens_field: max_length
        """
        #expect { try GatewayConfiguration.parse(yaml: badField, environment: [:]) } throws: { error in
            let error = error as? ConfigError
            return error?.line == 6 && error?.keyPath == "providers[0].openai.max_tokens_field"
        }
    }
}
