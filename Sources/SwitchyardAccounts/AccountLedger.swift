import Synchronization

/// What the request path needs to know about a key, as of now.
public struct KeySnapshot: Sendable, Equatable {
    /// The key id.
    public var id: String
    /// The key's label.
    public var name: String
    /// Stored credits minus the costs charged in this process but not yet included in them.
    public var balance: Money
    /// A disabled key is refused (401).
    public var disabled: Bool
    /// Requests per minute allowed, or `nil` for no limit.
    public var rpm: Int?
    /// Tokens per minute allowed, or `nil` for no limit.
    public var tpm: Int?
    /// The gateway model ids this key may use, or `nil` for all.
    public var models: [String]?

    /// A snapshot with every field given.
    public init(
        id: String, name: String, balance: Money, disabled: Bool, rpm: Int? = nil, tpm: Int? = nil,
        models: [String]? = nil
    ) {
        self.id = id
        self.name = name
        self.balance = balance
        self.disabled = disabled
        self.rpm = rpm
        self.tpm = tpm
        self.models = models
    }

    /// The snapshot of a stored key, its balance being the stored credits.
    public init(_ record: APIKeyRecord) {
        self.init(
            id: record.id, name: record.name, balance: record.credits, disabled: record.disabled,
            rpm: record.rpm, tpm: record.tpm, models: record.models
        )
    }

    /// Whether the key may use the gateway model `model` (every model when ``models`` is `nil`).
    public func allows(model: String) -> Bool {
        models?.contains(model) ?? true
    }
}

/// The answer of ``AccountLedger/lookup(hash:)``.
public enum KeyLookup: Sendable, Equatable {
    /// The key is known; its snapshot.
    case found(KeySnapshot)
    /// The store recently said no key has this hash (cached for at most the negative-cache lifetime).
    case absent
    /// Not in memory: ask the store with ``AccountLedger/load(hash:)``.
    case unknown
}

/// The in-memory view of keys and credits that the gateway's request path uses (issue 2, item 13).
///
/// - Keys are served from memory: ``lookup(hash:)`` is synchronous and takes one lock; a miss is resolved
///   once with ``load(hash:)``, and a miss in the store is remembered for at most `negativeCacheTTL`.
/// - Usage is written off the request path: ``charge(_:)`` queues the record and lowers the key's balance at
///   once; ``run()`` writes queued records to the store in batches every `flushInterval` (or as soon as
///   `batchThreshold` are queued) and reloads every key every `refreshInterval`, so that changes made with
///   the CLI on any instance take effect here within about one refresh interval.
///
/// ## The balance invariant
/// A key's balance is *stored credits − pending*, where pending is the sum of the costs charged here that
/// the cached stored credits do not include yet. A cost stays pending while queued, while being written,
/// and after its flush commits until the next successful refresh has re-read the credits: flush and refresh
/// run one at a time (``flush()`` and ``refresh()`` share a gate), so a refresh that follows a committed
/// flush reads credits that include it, and the flushed costs leave the pending sum under the same lock in
/// which those credits replace the cached ones. The balance therefore never jumps up by a cost that was
/// merely moved from memory to the store.
///
/// A flush that fails puts its records back at the head of the queue and they are retried; the store skips
/// ids it already holds, so a retry of a batch whose commit did happen deducts nothing twice. (In that rare
/// case the balance reads low by the batch's costs until the retry succeeds and the next refresh runs.)
public final class AccountLedger: Sendable {
    private struct State {
        /// Cached keys by hash; `balance` holds the stored credits.
        var keys: [String: KeySnapshot] = [:]
        /// Hashes the store recently did not know, with the instant their entry expires.
        var negative: [String: ContinuousClock.Instant] = [:]
        /// Key id → costs charged here that the cached stored credits do not include.
        var pending: [String: Money] = [:]
        /// Key id → the part of `pending` already committed to the store, cleared by the next refresh.
        var committed: [String: Money] = [:]
        /// Records charged but not yet handed to a flush, oldest first.
        var queue: [UsageRecord] = []
        /// Records being written by the current flush.
        var inFlight = 0
        /// Wakes the running ``run()`` loop early (set while it runs).
        var wake: AsyncStream<Void>.Continuation?
    }

    private let store: any AccountStore
    private let refreshInterval: Duration
    private let flushInterval: Duration
    private let negativeCacheTTL: Duration
    private let batchThreshold: Int
    private let now: @Sendable () -> ContinuousClock.Instant
    private let warning: (@Sendable (String) -> Void)?
    private let state = Mutex(State())
    /// Serializes ``flush()`` and ``refresh()`` (see the balance invariant).
    private let gate = AsyncSerialGate()

    /// The most negative-cache entries kept; beyond it expired ones are dropped, then all of them.
    private static let negativeCacheLimit = 100_000

    /// A ledger over `store`; call ``run()`` (for example from a service) to flush and refresh.
    ///
    /// - Parameters:
    ///   - store: Where keys are read and usage is written.
    ///   - refreshInterval: How often ``run()`` reloads every key. Default 500 ms.
    ///   - flushInterval: How often ``run()`` writes queued usage. Default 100 ms.
    ///   - negativeCacheTTL: How long an unknown hash is answered `.absent` without asking the store.
    ///     Default 1 s.
    ///   - batchThreshold: Queue length that wakes ``run()`` to flush before the interval ends; also the
    ///     largest batch written in one transaction. Default 500.
    ///   - now: The clock, injectable for tests. Default `ContinuousClock.now`.
    ///   - warning: Receives a sentence when a background flush or refresh fails (they are retried).
    public init(
        store: any AccountStore,
        refreshInterval: Duration = .milliseconds(500),
        flushInterval: Duration = .milliseconds(100),
        negativeCacheTTL: Duration = .seconds(1),
        batchThreshold: Int = 500,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now },
        warning: (@Sendable (String) -> Void)? = nil
    ) {
        self.store = store
        self.refreshInterval = refreshInterval
        self.flushInterval = flushInterval
        self.negativeCacheTTL = negativeCacheTTL
        self.batchThreshold = Swift.max(1, batchThreshold)
        self.now = now
        self.warning = warning
    }

    // MARK: - Request path

    /// The key whose secret hashes to `hash`, from memory only. Synchronous; one lock, no allocation beyond
    /// the returned snapshot.
    public func lookup(hash: String) -> KeyLookup {
        state.withLock { state in
            if var snapshot = state.keys[hash] {
                if let pending = state.pending[snapshot.id] { snapshot.balance -= pending }
                return .found(snapshot)
            }
            if let expiry = state.negative[hash], now() < expiry { return .absent }
            return .unknown
        }
    }

    /// Asks the store for the key after ``lookup(hash:)`` answered `.unknown`, and caches the answer: the
    /// key, or its absence for `negativeCacheTTL`.
    ///
    /// - Returns: The key's snapshot, or `nil` when no key has this hash.
    public func load(hash: String) async throws -> KeySnapshot? {
        let record = try await store.key(hash: hash)
        let now = self.now()
        return state.withLock { state in
            // An entry cached meanwhile (by a refresh or a concurrent load) stays authoritative: its credits
            // and the pending sum were replaced together.
            if var snapshot = state.keys[hash] {
                if let pending = state.pending[snapshot.id] { snapshot.balance -= pending }
                return snapshot
            }
            guard let record else {
                if state.negative.count >= Self.negativeCacheLimit {
                    state.negative = state.negative.filter { $0.value > now }
                    if state.negative.count >= Self.negativeCacheLimit { state.negative.removeAll() }
                }
                state.negative[hash] = now + negativeCacheTTL
                return nil
            }
            var snapshot = KeySnapshot(record)
            state.keys[hash] = snapshot
            state.negative[hash] = nil
            if let pending = state.pending[snapshot.id] { snapshot.balance -= pending }
            return snapshot
        }
    }

    /// Bills a finished request: queues the record for the store and subtracts its cost from the key's
    /// balance at once. Synchronous; never waits for the store.
    public func charge(_ record: UsageRecord) {
        let wake = state.withLock { state -> AsyncStream<Void>.Continuation? in
            state.queue.append(record)
            if record.cost != .zero { state.pending[record.keyID, default: .zero] += record.cost }
            return state.queue.count >= batchThreshold ? state.wake : nil
        }
        wake?.yield()
    }

    /// Records charged but not yet durably stored (queued or being written).
    public var pendingCount: Int {
        state.withLock { $0.queue.count + $0.inFlight }
    }

    // MARK: - Background work

    /// Flushes and refreshes until the task is cancelled, then flushes once more and returns.
    ///
    /// Queued usage is written every `flushInterval`, or sooner when `batchThreshold` records are queued;
    /// every key is reloaded every `refreshInterval` (the first time at once). Both happen in this one
    /// task, so they never race. Failures are reported to the warning sink and retried on the next turn.
    ///
    /// - Throws: Only the error of the final flush, whose records then remain queued.
    /// - Precondition: At most one `run()` at a time.
    public func run() async throws {
        let (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let alreadyRunning = state.withLock { state -> Bool in
            if state.wake != nil { return true }
            state.wake = wake
            return false
        }
        precondition(!alreadyRunning, "AccountLedger.run() called while already running")
        defer { state.withLock { $0.wake = nil } }

        await withDiscardingTaskGroup { group in
            group.addTask { [flushInterval] in
                while true {
                    do { try await Task.sleep(for: flushInterval) } catch { return }
                    wake.yield()
                }
            }
            wake.yield()  // first turn at once: refresh immediately
            var nextRefresh = now()
            for await _ in wakes {
                if state.withLock({ !$0.queue.isEmpty }) {
                    do { try await flush() } catch { warn("usage flush failed, will retry: \(error)") }
                }
                if now() >= nextRefresh {
                    do { try await refresh() } catch { warn("key refresh failed, will retry: \(error)") }
                    nextRefresh = now() + refreshInterval
                }
            }
            // The loop ends when this task is cancelled; stop the ticker too.
            group.cancelAll()
        }
        wake.finish()
        do {
            // This task is cancelled, and store drivers refuse work in a cancelled task: the last flush runs
            // in a fresh task that does not inherit the cancellation.
            try await Task { try await self.flush() }.value
        } catch {
            warn("final usage flush failed, \(pendingCount) records not stored: \(error)")
            throw error
        }
    }

    /// Writes every record queued now, in batches of at most `batchThreshold`, each in one store
    /// transaction. On failure the unwritten records go back to the head of the queue and the error is
    /// thrown; nothing is lost and nothing is deducted twice.
    public func flush() async throws {
        try await gate.withGate {
            var remaining = state.withLock { $0.queue.count }
            while remaining > 0 {
                let batch = state.withLock { state -> [UsageRecord] in
                    let count = Swift.min(state.queue.count, batchThreshold, remaining)
                    let batch = Array(state.queue.prefix(count))
                    state.queue.removeFirst(count)
                    state.inFlight += count
                    return batch
                }
                if batch.isEmpty { return }
                do {
                    _ = try await store.record(batch)
                } catch {
                    state.withLock { state in
                        state.queue.insert(contentsOf: batch, at: 0)
                        state.inFlight -= batch.count
                    }
                    throw error
                }
                // Inserted or skipped as already stored: either way the stored credits now include these
                // costs, and the next refresh will read them.
                state.withLock { state in
                    state.inFlight -= batch.count
                    for record in batch where record.cost != .zero {
                        state.committed[record.keyID, default: .zero] += record.cost
                    }
                }
                remaining -= batch.count
            }
        }
    }

    /// Reloads every key from the store, replacing the cached ones (disabled, credited, limits changed,
    /// created: all take effect now), and retires the pending costs that the reloaded credits include.
    public func refresh() async throws {
        try await gate.withGate {
            let records = try await store.listKeys()
            let now = self.now()
            state.withLock { state in
                var keys = [String: KeySnapshot](minimumCapacity: records.count)
                for record in records { keys[record.hash] = KeySnapshot(record) }
                state.keys = keys
                for (id, amount) in state.committed {
                    let left = (state.pending[id] ?? .zero) - amount
                    state.pending[id] = left == .zero ? nil : left
                }
                state.committed.removeAll(keepingCapacity: true)
                if !state.negative.isEmpty {
                    state.negative = state.negative.filter { $0.value > now && keys[$0.key] == nil }
                }
            }
        }
    }

    private func warn(_ message: String) {
        warning?(message)
    }
}
