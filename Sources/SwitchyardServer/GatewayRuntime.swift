import Foundation
import Logging
import NIOCore
import SwitchyardAccounts
import SwitchyardConfig
import SwitchyardModeration
import SwitchyardProviders
import SwitchyardRouting
import SwitchyardTranslation

/// One endpoint of one model as the data path uses it: everything an attempt needs, resolved at start-up.
struct PreparedRoute: RoutableEndpoint {
    let modelID: String
    let providerID: String
    let providerKind: ProviderKind
    let upstreamModel: String
    /// The configured price, for `provider.sort` and `provider.max_price`.
    let price: Price
    /// The same price for billing.
    let prices: TokenPrices
    let supports: Set<Capability>
    let healthKey: EndpointKey
    /// How the upstream is spoken to; nil for a provider kind this release cannot serve.
    let upstream: PreparedUpstream?
    let timeouts: EffectiveTimeouts
}

/// A model of the catalog as the data path uses it: its endpoints in configuration order.
struct PreparedModel: Sendable {
    let id: String
    /// Whether the model's inputs are moderated before any upstream call.
    let moderated: Bool
    let endpoints: [PreparedRoute]
}

/// An upstream and its wire dialect.
enum PreparedUpstream: Sendable {
    /// Anthropic Messages: the body passes through with `model` rewritten.
    case anthropic(AnthropicUpstream)
    /// OpenAI Chat Completions: requests and answers are translated.
    case openAI(OpenAIUpstream, OpenAIDialect)

    var origin: UpstreamOrigin {
        switch self {
        case .anthropic(let upstream): upstream.origin
        case .openAI(let upstream, _): upstream.origin
        }
    }
}

extension OpenAIDialect {
    /// The dialect of a configured provider's endpoint: the provider's `openai:` options, and what the endpoint
    /// `supports` (images unless `supports` is given without them; documents only when listed).
    init(options: OpenAIOptions, supports: Set<Capability>) {
        let reasoning: Reasoning = switch options.reasoning {
        case "effort": .effort
        case "none": .none
        default: .field(options.reasoning)
        }
        self.init(
            maxTokensField: options.maxTokensField == "max_completion_tokens" ? .maxCompletionTokens : .maxTokens,
            reasoning: reasoning,
            supportsTopK: options.topK,
            supportsDocuments: supports.contains(.documents),
            supportsImages: supports.isEmpty || supports.contains(.images),
            echoReasoningContent: options.echoReasoningContent)
    }
}

/// Timeouts for one provider (the global ones with the provider's overrides), as NIO durations.
struct EffectiveTimeouts: Sendable {
    let connect: TimeAmount
    let firstByte: TimeAmount
    let idle: TimeAmount
    let total: TimeAmount

    init(global: Timeouts, override: TimeoutOverrides?) {
        connect = .fromSeconds(override?.connect ?? global.connect)
        firstByte = .fromSeconds(override?.firstByte ?? global.firstByte)
        idle = .fromSeconds(override?.idle ?? global.idle)
        total = .fromSeconds(override?.total ?? global.total)
    }
}

extension TimeAmount {
    static func fromSeconds(_ value: Double) -> TimeAmount { .nanoseconds(Int64(value * 1_000_000_000)) }
}

/// Everything the gateway's request handling shares: configuration, routes, the ledger, upstream TLS.
///
/// Immutable after start-up, so every event loop reads it without locks.
public struct GatewayRuntime: Sendable {
    public let configuration: GatewayConfiguration
    public let catalog: ModelCatalog
    public let ledger: AccountLedger
    public let logger: Logger
    /// Per-key RPM/TPM limits (issue #5).
    public let rateLimiter: RateLimiter
    /// Models by id and by alias.
    let models: [String: PreparedModel]
    /// Circuit breakers and moving latency/throughput figures, per endpoint, shared by every event loop.
    public let health: EndpointHealthBoard
    let tls: UpstreamTLSContexts
    let metrics: GatewayMetrics
    /// The configured moderation checker, or nil when none is configured.
    let moderator: ModerationChecker?
    /// How long a stream waits for the upstream's first byte before the gateway commits the SSE response and
    /// starts sending keep-alive comments; also the interval between those comments.
    public var streamKeepAliveInterval: TimeAmount = .seconds(10)
    /// How often each in-flight exchange checks its timeouts.
    let tick: TimeAmount

    /// Builds the runtime. Throws when a provider's TLS trust file cannot be loaded.
    public init(configuration: GatewayConfiguration, ledger: AccountLedger, logger: Logger) throws {
        self.configuration = configuration
        self.catalog = ModelCatalog(models: configuration.models)
        self.ledger = ledger
        self.logger = logger
        self.rateLimiter = RateLimiter(now: { Date().timeIntervalSince1970 })
        self.metrics = GatewayMetrics()
        switch configuration.moderation {
        case let moderation? where moderation.kind == .keywords:
            moderator = .keywords(try KeywordModerator(patterns: moderation.patterns))
        case let moderation? where moderation.kind == .openai && moderation.url != nil:
            moderator = .remote(RemoteModerator(url: moderation.url!, apiKey: moderation.apiKey, model: moderation.model))
        default:
            moderator = nil
        }
        var tls = UpstreamTLSContexts()
        var providers: [String: ProviderConfig] = [:]
        for provider in configuration.providers {
            if provider.baseURL.scheme == "https" {
                _ = try tls.context(caFile: provider.tls?.caFile)
            }
            providers[provider.id] = provider
        }
        self.tls = tls
        health = EndpointHealthBoard(
            policy: CircuitBreakerPolicy(
                failureThreshold: configuration.circuitBreaker.failures,
                cooldown: configuration.circuitBreaker.cooldown),
            now: { Date().timeIntervalSince1970 })
        var models: [String: PreparedModel] = [:]
        var shortest = min(configuration.timeouts.connect, configuration.timeouts.firstByte,
                           configuration.timeouts.idle, configuration.timeouts.total)
        for model in configuration.models {
            var endpoints: [PreparedRoute] = []
            for endpoint in model.endpoints {
                guard let provider = providers[endpoint.provider] else { continue }
                let upstream: PreparedUpstream? = switch provider.kind {
                case .anthropic: .anthropic(AnthropicUpstream(provider: provider))
                case .openai: .openAI(OpenAIUpstream(provider: provider),
                                      OpenAIDialect(options: provider.openAI, supports: endpoint.supports))
                default: nil
                }
                for value in [provider.timeouts?.firstByte, provider.timeouts?.idle, provider.timeouts?.total] {
                    if let value { shortest = min(shortest, value) }
                }
                endpoints.append(PreparedRoute(
                    modelID: model.id,
                    providerID: provider.id,
                    providerKind: provider.kind,
                    upstreamModel: endpoint.model,
                    price: endpoint.price,
                    prices: TokenPrices(
                        input: endpoint.price.input, output: endpoint.price.output,
                        cacheRead: endpoint.price.cacheRead, cacheWrite: endpoint.price.cacheWrite),
                    supports: endpoint.supports,
                    healthKey: EndpointKey(providerID: provider.id, upstreamModel: endpoint.model),
                    upstream: upstream,
                    timeouts: EffectiveTimeouts(global: configuration.timeouts, override: provider.timeouts)))
            }
            guard !endpoints.isEmpty else { continue }
            let prepared = PreparedModel(id: model.id, moderated: model.moderation, endpoints: endpoints)
            for name in [model.id] + model.aliases where models[name] == nil {
                models[name] = prepared
            }
        }
        self.models = models
        // Timeouts are checked by a per-exchange ticker: a quarter of the shortest one, between 50 ms and 1 s.
        tick = .fromSeconds(Swift.max(0.05, Swift.min(1.0, shortest / 4)))
    }

    func model(named name: String) -> PreparedModel? { models[name] }
}
