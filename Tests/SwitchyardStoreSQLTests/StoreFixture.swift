import Foundation
import Logging
import SwitchyardAccounts
import SwitchyardStoreSQL
import Testing

/// Which SQLite storage a test runs against.
enum Backing: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case file

    var testDescription: String { rawValue }
}

let quietLogger = Logger(label: "switchyard.tests.store", factory: { _ in SwiftLogNoOpLogHandler() })

/// A fresh temporary directory, removed after `body`.
func withTemporaryDirectory<R>(_ body: (URL) async throws -> R) async throws -> R {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("switchyard-store-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory)
}

/// Opens (and optionally migrates) a store on `url`, runs `body`, shuts the store down even if `body` throws.
func withOpenStore<R>(
    url: String, migrate: Bool = true, _ body: (SQLAccountStore) async throws -> R
) async throws -> R {
    let store = try await SQLAccountStore.open(url: url, logger: quietLogger)
    do {
        if migrate { try await store.migrate() }
        let result = try await body(store)
        try await store.shutdown()
        return result
    } catch {
        try? await store.shutdown()
        throw error
    }
}

/// Opens and migrates a store of the given backing, runs `body`, shuts the store down.
/// `body` also gets the URL, so it can open a second instance on the same file.
func withStore(
    _ backing: Backing, _ body: (SQLAccountStore, String) async throws -> Void
) async throws {
    try await withTemporaryDirectory { directory in
        let file = directory.appendingPathComponent("accounts.db").path
        let url = backing == .memory ? "sqlite::memory:" : "sqlite:" + file
        try await withOpenStore(url: url) { store in try await body(store, url) }
    }
}

/// A key record with whole-millisecond times (storage keeps milliseconds).
func makeKey(name: String = "test", credits: String = "10", models: [String]? = nil) -> (APIKeyRecord, String) {
    APIKeyRecord.create(
        name: name, credits: Money(usd: credits)!, models: models, now: Date(timeIntervalSince1970: 1_750_000_000.25))
}

func makeUsage(
    _ id: String, key: String, cost: String, at seconds: Double = 1_750_000_100,
    model: String = "anthropic/claude-sonnet-4.5", provider: String = "anthropic"
) -> UsageRecord {
    UsageRecord(
        id: id, keyID: key, model: model, provider: provider, upstreamModel: "claude-sonnet-4-5-20250929",
        usage: TokenUsage(input: 472, output: 89, cacheRead: 2_048, cacheWrite: 100), cost: Money(usd: cost)!,
        status: 200, latencyMs: 1_234, ttftMs: 321, stream: true, errorType: nil,
        createdAt: Date(timeIntervalSince1970: seconds))
}
