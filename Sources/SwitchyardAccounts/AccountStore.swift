#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Durable storage of keys and usage: the one interface every backend (SQLite now, PostgreSQL later)
/// implements, and the only way the gateway and the CLI reach storage.
///
/// Implementations must be safe to call concurrently, also from several processes on the same database
/// (the CLI writes while servers run). Amounts change only through SQL-side (or otherwise atomic)
/// arithmetic, never read-modify-write in the caller.
public protocol AccountStore: Sendable {
    /// Creates or upgrades the schema. Idempotent; safe when several processes run it at once.
    func migrate() async throws

    /// Stores a new key. Throws if its id or hash already exists.
    func createKey(_ key: APIKeyRecord) async throws

    /// The key with this id, or `nil`.
    func key(id: String) async throws -> APIKeyRecord?

    /// The key whose secret hashes to `hash`, or `nil`.
    func key(hash: String) async throws -> APIKeyRecord?

    /// Every key, oldest first.
    func listKeys() async throws -> [APIKeyRecord]

    /// Disables or re-enables a key.
    /// - Returns: `false` when there is no such key.
    func setDisabled(id: String, _ disabled: Bool) async throws -> Bool

    /// Adds `amount` (negative to remove) to a key's credits, atomically.
    /// - Returns: The new balance, or `nil` when there is no such key.
    func addCredits(id: String, _ amount: Money) async throws -> Money?

    /// Changes a key's limits. For each argument `nil` leaves the value unchanged, `.some(nil)` clears it
    /// (no limit / all models) and `.some(value)` sets it.
    /// - Returns: `false` when there is no such key.
    func setLimits(id: String, rpm: Int??, tpm: Int??, models: [String]??) async throws -> Bool

    /// Inserts the records and deducts each inserted record's cost from its key, in ONE transaction.
    ///
    /// A record whose id is already stored is skipped and NOT deducted again (exactly-once billing when a
    /// batch is retried after an error whose outcome was unknown).
    /// - Returns: The ids actually inserted.
    func record(_ records: [UsageRecord]) async throws -> [String]

    /// Usage records, ordered by `createdAt` (then id), optionally only one key's and only those created at
    /// or after `since`.
    func usage(keyID: String?, since: Date?) async throws -> [UsageRecord]

    /// A trivial query, for readiness checks.
    func ping() async throws

    /// Closes connections. The store must not be used afterwards.
    func shutdown() async throws
}
