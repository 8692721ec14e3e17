#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A stored API key: everything but the secret, which is kept only as its hash.
public struct APIKeyRecord: Sendable, Equatable {
    /// The key's public id, `key_` + 16 lowercase hex characters.
    public var id: String
    /// A human label.
    public var name: String
    /// ``APIKeySecret/hash(_:)`` of the secret.
    public var hash: String
    /// ``APIKeySecret/displayPrefix(_:)`` of the secret.
    public var prefix: String
    /// The stored balance.
    public var credits: Money
    /// Requests per minute allowed, or `nil` for no limit.
    public var rpm: Int?
    /// Tokens per minute allowed, or `nil` for no limit.
    public var tpm: Int?
    /// The gateway model ids this key may use, or `nil` for all.
    public var models: [String]?
    /// A disabled key is refused (401) as if it did not exist.
    public var disabled: Bool
    /// When the key was created.
    public var createdAt: Date

    /// A record with every field given; see ``create(name:credits:rpm:tpm:models:now:)`` for a new key.
    public init(
        id: String, name: String, hash: String, prefix: String, credits: Money,
        rpm: Int? = nil, tpm: Int? = nil, models: [String]? = nil, disabled: Bool = false, createdAt: Date
    ) {
        self.id = id
        self.name = name
        self.hash = hash
        self.prefix = prefix
        self.credits = credits
        self.rpm = rpm
        self.tpm = tpm
        self.models = models
        self.disabled = disabled
        self.createdAt = createdAt
    }

    /// A new random key id: `key_` + 16 lowercase hex characters from the system CSPRNG.
    public static func generateID() -> String {
        "key_" + randomHex(byteCount: 8)
    }

    /// A brand-new key: a fresh secret and id. Store the record; show the secret to the user once.
    ///
    /// - Returns: The record to store and the secret, which nothing keeps.
    public static func create(
        name: String, credits: Money = .zero, rpm: Int? = nil, tpm: Int? = nil, models: [String]? = nil,
        now: Date = Date()
    ) -> (record: APIKeyRecord, secret: String) {
        let secret = APIKeySecret.generate()
        let record = APIKeyRecord(
            id: generateID(), name: name, hash: APIKeySecret.hash(secret),
            prefix: APIKeySecret.displayPrefix(secret), credits: credits, rpm: rpm, tpm: tpm, models: models,
            disabled: false, createdAt: now
        )
        return (record, secret)
    }
}

/// One billed request, as recorded in storage.
public struct UsageRecord: Sendable, Equatable {
    /// The gateway's request id; unique, it makes recording idempotent.
    public var id: String
    /// The id of the key that made the request.
    public var keyID: String
    /// The gateway model id (not an alias).
    public var model: String
    /// The provider id that served (or last failed) the request.
    public var provider: String
    /// The model name sent upstream.
    public var upstreamModel: String
    /// The tokens consumed.
    public var usage: TokenUsage
    /// The price of `usage` (deducted from the key once).
    public var cost: Money
    /// The HTTP status answered to the client.
    public var status: Int
    /// Time from receiving the request to its end, in milliseconds.
    public var latencyMs: Int
    /// Time to the first byte of the answer, for streams; `nil` if none arrived.
    public var ttftMs: Int?
    /// Whether the client asked for a stream.
    public var stream: Bool
    /// The Anthropic error type when the request failed (e.g. after a stream was cut), else `nil`.
    public var errorType: String?
    /// The moderation result for a moderated model: `clean`, or `flagged: <reason> at <location>`; else `nil`.
    public var moderation: String?
    /// Every upstream attempt, in order: which endpoint was tried and how it ended. Empty when no upstream was called.
    public var attempts: [UpstreamAttempt]
    /// When the request was received.
    public var createdAt: Date

    /// A record with every field given.
    public init(
        id: String, keyID: String, model: String, provider: String, upstreamModel: String,
        usage: TokenUsage, cost: Money, status: Int, latencyMs: Int, ttftMs: Int? = nil, stream: Bool,
        errorType: String? = nil, moderation: String? = nil, attempts: [UpstreamAttempt] = [], createdAt: Date
    ) {
        self.moderation = moderation
        self.attempts = attempts
        self.id = id
        self.keyID = keyID
        self.model = model
        self.provider = provider
        self.upstreamModel = upstreamModel
        self.usage = usage
        self.cost = cost
        self.status = status
        self.latencyMs = latencyMs
        self.ttftMs = ttftMs
        self.stream = stream
        self.errorType = errorType
        self.createdAt = createdAt
    }
}
