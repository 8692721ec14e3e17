/// The `moderation` section: how inputs of models with `moderation: true` are checked. Configuration only.
public struct ModerationSettings: Sendable, Equatable {
    /// Which checker runs (`kind`, required): `keywords` or `openai`.
    public var kind: ModerationKind
    /// For `keywords`: regular expressions; an input matching any is flagged (`patterns`). Each must compile with
    /// Swift's `Regex`. Default `[]`.
    public var patterns: [String]
    /// For `openai`: the moderations endpoint (`url`), e.g. `https://api.openai.com/v1/moderations`. Default `nil`.
    public var url: String?
    /// For `openai`: the key sent to that endpoint (`api_key`). Default `nil`.
    public var apiKey: String?
    /// For `openai`: the moderation model (`model`), e.g. `omni-moderation-latest`. Default `nil`.
    public var model: String?

    /// Creates moderation settings.
    public init(
        kind: ModerationKind,
        patterns: [String] = [],
        url: String? = nil,
        apiKey: String? = nil,
        model: String? = nil
    ) {
        self.kind = kind
        self.patterns = patterns
        self.url = url
        self.apiKey = apiKey
        self.model = model
    }
}

/// The moderation checker; a struct with static members so kinds can be added.
public struct ModerationKind: Sendable, Hashable, CustomStringConvertible {
    /// The name used in the configuration file.
    public let rawValue: String

    private init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    /// Built-in regular-expression matching against ``ModerationSettings/patterns``.
    public static let keywords = ModerationKind("keywords")
    /// An OpenAI-compatible `/v1/moderations` endpoint.
    public static let openai = ModerationKind("openai")

    /// Every kind the configuration accepts.
    public static let allKinds: [ModerationKind] = [.keywords, .openai]

    /// The kind named `name` in a configuration file, if any.
    public init?(name: String) {
        guard let kind = Self.allKinds.first(where: { $0.rawValue == name }) else { return nil }
        self = kind
    }

    public var description: String { self.rawValue }
}
