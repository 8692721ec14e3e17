/// One entry of `models`: a name clients ask for, and the upstream endpoints that can serve it.
public struct ModelConfig: Sendable, Equatable {
    /// The catalog id clients send as `model` (`id`, required), e.g. `anthropic/claude-sonnet-4.5`.
    public var id: String
    /// Other names that resolve to this model (`aliases`), e.g. the upstream's own ids so Claude Code's requests
    /// match. Default `[]`. Ids and aliases are unique across all models.
    public var aliases: [String]
    /// Whether inputs are checked by the configured moderation before forwarding (`moderation`); a flagged input
    /// is refused with 403. Default `false`.
    public var moderation: Bool
    /// A human-readable name for `/v1/models` (`display_name`). Default `nil` (the id is shown).
    public var displayName: String?
    /// Where the model is served, tried in order unless the request says otherwise (`endpoints`, at least one).
    public var endpoints: [EndpointConfig]

    /// Creates a model entry.
    public init(
        id: String,
        aliases: [String] = [],
        moderation: Bool = false,
        displayName: String? = nil,
        endpoints: [EndpointConfig]
    ) {
        self.id = id
        self.aliases = aliases
        self.moderation = moderation
        self.displayName = displayName
        self.endpoints = endpoints
    }
}

/// One way to serve a model: a provider, the model id it knows, and the price it charges.
public struct EndpointConfig: Sendable, Equatable {
    /// The id of a configured provider (`provider`, required).
    public var provider: String
    /// The model id sent upstream (`model`, required), e.g. `claude-sonnet-4-5-20250929`.
    public var model: String
    /// What the endpoint costs (`price`). Default: all zero.
    public var price: Price
    /// The features the endpoint supports (`supports`: `tools`, `thinking`, `images`, `documents`). Default: none.
    public var supports: Set<Capability>

    /// Creates an endpoint.
    public init(provider: String, model: String, price: Price = Price(), supports: Set<Capability> = []) {
        self.provider = provider
        self.model = model
        self.price = price
        self.supports = supports
    }
}

/// A request feature an endpoint may support; a struct with static members so capabilities can be added.
public struct Capability: Sendable, Hashable, CustomStringConvertible {
    /// The name used in the configuration file.
    public let rawValue: String

    private init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    /// Tool definitions and `tool_use` / `tool_result` blocks.
    public static let tools = Capability("tools")
    /// Extended thinking (`thinking` in the request, thinking blocks in the answer).
    public static let thinking = Capability("thinking")
    /// Image content blocks.
    public static let images = Capability("images")
    /// Document (PDF) content blocks.
    public static let documents = Capability("documents")

    /// Every capability the configuration accepts.
    public static let allCapabilities: [Capability] = [.tools, .thinking, .images, .documents]

    /// The capability named `name` in a configuration file, if any.
    public init?(name: String) {
        guard let capability = Self.allCapabilities.first(where: { $0.rawValue == name }) else { return nil }
        self = capability
    }

    public var description: String { self.rawValue }
}
