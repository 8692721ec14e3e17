import Foundation
import SwitchyardAccounts
import Synchronization
import Testing

/// A clock the test moves by hand.
final class ManualTime: Sendable {
    private let offset = Mutex(Duration.zero)
    private let origin = ContinuousClock.now
    var now: ContinuousClock.Instant { origin + offset.withLock { $0 } }
    func advance(by duration: Duration) { offset.withLock { $0 += duration } }
}

@Suite struct AccountLedgerBillsFromMemory {
    let store = InMemoryAccountStore()
    let key: APIKeyRecord
    let secret: String

    init() async throws {
        (key, secret) = APIKeyRecord.create(name: "test", credits: Money(usd: "1")!)
        try await store.createKey(key)
    }

    func usage(_ id: String, cost: String, key: String? = nil) -> UsageRecord {
        UsageRecord(
            id: id, keyID: key ?? self.key.id, model: "anthropic/claude-sonnet-4.5", provider: "anthropic",
            upstreamModel: "claude-sonnet-4-5", usage: TokenUsage(input: 10, output: 5), cost: Money(usd: cost)!,
            status: 200, latencyMs: 120, ttftMs: 40, stream: true, createdAt: Date())
    }

    func balance(_ ledger: AccountLedger) -> Money? {
        if case .found(let snapshot) = ledger.lookup(hash: key.hash) { return snapshot.balance }
        return nil
    }

    func storedCredits() async throws -> Money? {
        try await store.key(id: key.id)?.credits
    }

    @Test func chargeLowersTheBalanceAtOnceWithoutTouchingTheStore() async throws {
        let ledger = AccountLedger(store: store)
        try await ledger.refresh()
        #expect(balance(ledger) == Money(usd: "1"))
        ledger.charge(usage("req_1", cost: "0.25"))
        ledger.charge(usage("req_2", cost: "0.000000038"))
        #expect(balance(ledger) == Money(usd: "0.749999962"))
        #expect(ledger.pendingCount == 2)
        #expect(try await storedCredits() == Money(usd: "1"))
        #expect(store.recordCalls == 0)
    }

    @Test func flushPersistsOnceAndTheBalanceNeverJumps() async throws {
        let ledger = AccountLedger(store: store)
        try await ledger.refresh()
        ledger.charge(usage("req_1", cost: "0.25"))
        try await ledger.flush()
        #expect(ledger.pendingCount == 0)
        #expect(store.storedUsage.map(\.id) == ["req_1"])
        #expect(try await storedCredits() == Money(usd: "0.75"))
        // Cached credits are stale (1) until the next refresh, and the flushed cost is still pending.
        #expect(balance(ledger) == Money(usd: "0.75"))
        try await ledger.refresh()
        #expect(balance(ledger) == Money(usd: "0.75"))
        try await ledger.flush()
        try await ledger.refresh()
        #expect(store.storedUsage.count == 1)
        #expect(try await storedCredits() == Money(usd: "0.75"))
        #expect(balance(ledger) == Money(usd: "0.75"))
    }

    @Test(arguments: [InMemoryAccountStore.RecordFailure.beforeCommit, .afterCommit])
    func aFailingStoreLosesNothingAndDeductsOnce(failure: InMemoryAccountStore.RecordFailure) async throws {
        let ledger = AccountLedger(store: store)
        try await ledger.refresh()
        ledger.charge(usage("req_1", cost: "0.1"))
        ledger.charge(usage("req_2", cost: "0.2"))
        store.recordFailure = failure
        await #expect(throws: InMemoryAccountStore.StoreError.self) { try await ledger.flush() }
        await #expect(throws: InMemoryAccountStore.StoreError.self) { try await ledger.flush() }
        #expect(ledger.pendingCount == 2)
        ledger.charge(usage("req_3", cost: "0.3"))
        #expect(balance(ledger) == Money(usd: "0.4"))
        try await ledger.refresh()  // the store may already hold the deduction (after-commit failure)

        store.recordFailure = .none
        try await ledger.flush()
        #expect(ledger.pendingCount == 0)
        #expect(store.storedUsage.map(\.id).sorted() == ["req_1", "req_2", "req_3"])
        #expect(try await storedCredits() == Money(usd: "0.4"))
        try await ledger.refresh()
        #expect(balance(ledger) == Money(usd: "0.4"))
    }

    @Test func changesMadeInTheStoreAreSeenAfterRefresh() async throws {
        let ledger = AccountLedger(store: store)
        try await ledger.refresh()
        ledger.charge(usage("req_1", cost: "0.5"))
        #expect(try await store.setDisabled(id: key.id, true))
        #expect(try await store.addCredits(id: key.id, Money(usd: "2")!) == Money(usd: "3"))
        #expect(try await store.setLimits(id: key.id, rpm: 60, tpm: .some(nil), models: .some(["a/b"])))
        guard case .found(let before) = ledger.lookup(hash: key.hash) else { Issue.record("not found"); return }
        #expect(!before.disabled && before.rpm == nil && before.models == nil)

        try await ledger.refresh()
        guard case .found(let after) = ledger.lookup(hash: key.hash) else { Issue.record("not found"); return }
        #expect(after.disabled)
        #expect(after.balance == Money(usd: "2.5"))  // 3 stored − 0.5 still pending
        #expect(after.rpm == 60 && after.models == ["a/b"])
        #expect(after.allows(model: "a/b") && !after.allows(model: "c/d"))

        #expect(try await store.setDisabled(id: key.id, false))
        try await ledger.refresh()
        guard case .found(let reenabled) = ledger.lookup(hash: key.hash) else { Issue.record("not found"); return }
        #expect(!reenabled.disabled)
    }

    @Test func loadCachesTheKeySoTheStoreIsAskedOnce() async throws {
        let ledger = AccountLedger(store: store)
        #expect(ledger.lookup(hash: key.hash) == .unknown)
        let loaded = try await ledger.load(hash: key.hash)
        #expect(loaded?.id == key.id && loaded?.balance == Money(usd: "1"))
        #expect(ledger.lookup(hash: key.hash) == .found(KeySnapshot(key)))
        #expect(store.hashLookups == 1)
    }

    @Test func anUnknownHashIsCachedAsAbsentForOneSecondOnly() async throws {
        let time = ManualTime()
        let ledger = AccountLedger(store: store, now: { time.now })
        let stranger = APIKeySecret.hash(APIKeySecret.generate())
        #expect(try await ledger.load(hash: stranger) == nil)
        #expect(ledger.lookup(hash: stranger) == .absent)
        time.advance(by: .milliseconds(999))
        #expect(ledger.lookup(hash: stranger) == .absent)
        time.advance(by: .milliseconds(1))
        #expect(ledger.lookup(hash: stranger) == .unknown)
        #expect(store.hashLookups == 1)
    }

    @Test func aKeyCreatedWhileCachedAsAbsentIsFoundAfterRefresh() async throws {
        let time = ManualTime()
        let ledger = AccountLedger(store: store, now: { time.now })
        let (late, lateSecret) = APIKeyRecord.create(name: "late", credits: Money(usd: "2")!)
        #expect(try await ledger.load(hash: APIKeySecret.hash(lateSecret)) == nil)
        #expect(ledger.lookup(hash: late.hash) == .absent)
        try await store.createKey(late)
        try await ledger.refresh()
        #expect(ledger.lookup(hash: late.hash) == .found(KeySnapshot(late)))
    }

    @Test func runFlushesWhenTheBatchThresholdIsReached() async throws {
        let ledger = AccountLedger(
            store: store, refreshInterval: .seconds(3600), flushInterval: .seconds(3600), batchThreshold: 3)
        let running = Task { try await ledger.run() }
        var insertions = store.insertions.makeAsyncIterator()
        ledger.charge(usage("req_1", cost: "0.1"))
        ledger.charge(usage("req_2", cost: "0.1"))
        ledger.charge(usage("req_3", cost: "0.1"))
        let inserted = await insertions.next()
        #expect(inserted?.sorted() == ["req_1", "req_2", "req_3"])
        running.cancel()
        try await running.value
        #expect(try await storedCredits() == Money(usd: "0.7"))
    }

    @Test func runFlushesOnTheIntervalAndOnceMoreWhenCancelled() async throws {
        let ledger = AccountLedger(store: store, refreshInterval: .milliseconds(10), flushInterval: .milliseconds(10))
        let running = Task { try await ledger.run() }
        var insertions = store.insertions.makeAsyncIterator()
        ledger.charge(usage("req_1", cost: "0.1"))
        #expect(await insertions.next() == ["req_1"])
        running.cancel()
        ledger.charge(usage("req_2", cost: "0.2"))
        try await running.value
        #expect(ledger.pendingCount == 0)
        #expect(store.storedUsage.map(\.id) == ["req_1", "req_2"])
        #expect(try await storedCredits() == Money(usd: "0.7"))
    }

    @Test func runRefreshesSoAStoreChangeIsSeenWithinAnInterval() async throws {
        let ledger = AccountLedger(store: store, refreshInterval: .milliseconds(20), flushInterval: .milliseconds(10))
        let running = Task { try await ledger.run() }
        defer { running.cancel() }
        _ = try await store.setDisabled(id: key.id, true)
        // A refresh runs every 20 ms; the bound is only a safety net, wide because the whole suite shares two cores.
        let deadline = ContinuousClock.now + .seconds(30)
        var seen = false
        while ContinuousClock.now < deadline {
            if case .found(let snapshot) = ledger.lookup(hash: key.hash), snapshot.disabled { seen = true; break }
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(seen)
    }
}
