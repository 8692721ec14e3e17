/// The gateway's whole configuration: the data of `switchyard.yaml` (SPEC §2), validated.
///
/// Build it with ``load(contentsOf:environment:)`` or ``parse(yaml:source:environment:)``, which check every key
/// and report problems with their line; or in code, starting from ``defaults``. Only the executable reads files and
/// the environment; everything else receives this value.
public struct GatewayConfiguration: Sendable, Equatable {
    /// The listener (`server`). Default: `127.0.0.1:8080`, 32 MiB bodies, 30 s shutdown grace.
    public var server: ServerSettings
    /// The database (`storage`). Default `sqlite:switchyard.db`.
    public var storage: StorageSettings
    /// The admin API (`admin`). Default: no token, admin API off.
    public var admin: AdminSettings
    /// Upstream timeouts (`timeouts`). Default: connect 10 s, first byte 120 s, idle 120 s, total 900 s.
    public var timeouts: Timeouts
    /// When an endpoint that keeps failing is skipped (`circuit_breaker`). Default: 5 failures, 30 s cool-down.
    public var circuitBreaker: CircuitBreakerSettings
    /// The upstream providers (`providers`), ids unique. Default none.
    public var providers: [ProviderConfig]
    /// The model catalog (`models`), ids and aliases unique across all models. Default none.
    public var models: [ModelConfig] {
        didSet { self.modelIndex = Self.index(self.models) }
    }
    /// Input moderation (`moderation`). Default `nil`: none configured.
    public var moderation: ModerationSettings?

    /// Model id or alias → position in `models`, built once so lookups on the request path do not scan.
    private var modelIndex: [String: Int]

    /// Creates a configuration; every argument defaults to the documented default.
    public init(
        server: ServerSettings = ServerSettings(),
        storage: StorageSettings = StorageSettings(),
        admin: AdminSettings = AdminSettings(),
        timeouts: Timeouts = Timeouts(),
        circuitBreaker: CircuitBreakerSettings = CircuitBreakerSettings(),
        providers: [ProviderConfig] = [],
        models: [ModelConfig] = [],
        moderation: ModerationSettings? = nil
    ) {
        self.server = server
        self.storage = storage
        self.admin = admin
        self.timeouts = timeouts
        self.circuitBreaker = circuitBreaker
        self.providers = providers
        self.models = models
        self.moderation = moderation
        self.modelIndex = Self.index(models)
    }

    /// The built-in configuration used when there is no file: SQLite `switchyard.db`, port 8080, no providers.
    public static let defaults = GatewayConfiguration()

    /// The model whose id or one of whose aliases is exactly `name`, or `nil`.
    ///
    /// - Parameter name: The `model` a client asked for.
    /// - Returns: The model, if the catalog has it.
    public func model(named name: String) -> ModelConfig? {
        self.modelIndex[name].map { self.models[$0] }
    }

    /// The provider with id `id`, or `nil`.
    ///
    /// - Parameter id: A provider id, as named by an endpoint.
    /// - Returns: The provider, if configured.
    public func provider(id: String) -> ProviderConfig? {
        self.providers.first { $0.id == id }
    }

    private static func index(_ models: [ModelConfig]) -> [String: Int] {
        var index: [String: Int] = [:]
        for (position, model) in models.enumerated() {
            for name in [model.id] + model.aliases where index[name] == nil {
                index[name] = position
            }
        }
        return index
    }
}
