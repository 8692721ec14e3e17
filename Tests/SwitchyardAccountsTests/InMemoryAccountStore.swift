import Foundation
import SwitchyardAccounts
import Synchronization

/// A test double of `AccountStore` held in memory, with failure injection for `record`.
final class InMemoryAccountStore: AccountStore {
    /// How the next `record` calls fail.
    enum RecordFailure: Sendable {
        /// Normal operation.
        case none
        /// Throws before changing anything (the database was unreachable).
        case beforeCommit
        /// Commits, then throws (the answer was lost: the caller cannot know it committed).
        case afterCommit
    }

    struct StoreError: Error {}

    private struct State {
        var keys: [String: APIKeyRecord] = [:]  // by id
        var usage: [UsageRecord] = []
        var failure = RecordFailure.none
        var recordCalls = 0
        var hashLookups = 0
    }

    private let state = Mutex(State())
    /// Receives the ids inserted by every successful (committed) `record` call.
    let insertions: AsyncStream<[String]>
    private let insertionSink: AsyncStream<[String]>.Continuation

    init() {
        (insertions, insertionSink) = AsyncStream.makeStream(of: [String].self)
    }

    var recordFailure: RecordFailure {
        get { state.withLock { $0.failure } }
        set { state.withLock { $0.failure = newValue } }
    }

    var recordCalls: Int { state.withLock { $0.recordCalls } }
    var hashLookups: Int { state.withLock { $0.hashLookups } }
    var storedUsage: [UsageRecord] { state.withLock { $0.usage } }

    func migrate() async throws {}

    func createKey(_ key: APIKeyRecord) async throws {
        try state.withLock { state in
            guard state.keys[key.id] == nil, !state.keys.values.contains(where: { $0.hash == key.hash }) else {
                throw StoreError()
            }
            state.keys[key.id] = key
        }
    }

    func key(id: String) async throws -> APIKeyRecord? {
        state.withLock { $0.keys[id] }
    }

    func key(hash: String) async throws -> APIKeyRecord? {
        state.withLock { state in
            state.hashLookups += 1
            return state.keys.values.first { $0.hash == hash }
        }
    }

    func listKeys() async throws -> [APIKeyRecord] {
        state.withLock { $0.keys.values.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) } }
    }

    func setDisabled(id: String, _ disabled: Bool) async throws -> Bool {
        state.withLock { state in
            guard state.keys[id] != nil else { return false }
            state.keys[id]!.disabled = disabled
            return true
        }
    }

    func addCredits(id: String, _ amount: Money) async throws -> Money? {
        state.withLock { state in
            guard state.keys[id] != nil else { return nil }
            state.keys[id]!.credits += amount
            return state.keys[id]!.credits
        }
    }

    func setLimits(id: String, rpm: Int??, tpm: Int??, models: [String]??) async throws -> Bool {
        state.withLock { state in
            guard var key = state.keys[id] else { return false }
            if let rpm { key.rpm = rpm }
            if let tpm { key.tpm = tpm }
            if let models { key.models = models }
            state.keys[id] = key
            return true
        }
    }

    func record(_ records: [UsageRecord]) async throws -> [String] {
        let inserted = try state.withLock { state -> [String] in
            state.recordCalls += 1
            if state.failure == .beforeCommit { throw StoreError() }
            var inserted: [String] = []
            var known = Set(state.usage.map(\.id))
            for record in records where !known.contains(record.id) {
                known.insert(record.id)
                state.usage.append(record)
                state.keys[record.keyID]?.credits -= record.cost
                inserted.append(record.id)
            }
            if state.failure == .afterCommit { throw StoreError() }
            return inserted
        }
        insertionSink.yield(inserted)
        return inserted
    }

    func usage(keyID: String?, since: Date?) async throws -> [UsageRecord] {
        state.withLock { state in
            state.usage
                .filter { keyID == nil || $0.keyID == keyID }
                .filter { since == nil || $0.createdAt >= since! }
                .sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        }
    }

    func ping() async throws {}
    func shutdown() async throws {}
}
