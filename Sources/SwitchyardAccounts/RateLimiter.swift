import Synchronization

/// A count of units (requests or tokens) used in the last `window`, kept in fixed slots.
///
/// The window is `slotCount` slots of `slotSeconds` each (600 × 100 ms = one minute). A unit counts from its slot
/// until that slot leaves the window, so the error bound is one slot: a unit is freed between 60.0 and 60.1 s after
/// it was used, never early. The state is additive counters per slot, so instances can share it by adding into
/// common rows (a later PostgreSQL backend).
public struct SlidingWindowCounter: Sendable, Equatable {
    public static let slotSeconds = 0.1
    public static let slotCount = 600

    private var slots = [Int64](repeating: 0, count: SlidingWindowCounter.slotCount)
    /// The absolute slot number (time / slotSeconds) of the newest slot.
    private var newest: Int64 = 0
    /// Units in the window.
    public private(set) var total: Int64 = 0
    /// The newest slot that received units (meaningful while `total > 0`).
    private var lastAdded: Int64 = 0

    public init() {}

    static func slot(at time: Double) -> Int64 { Int64((time / slotSeconds).rounded(.down)) }

    /// Moves the window so that its newest slot is the one holding `time`, dropping what left the window.
    public mutating func advance(to time: Double) {
        let target = Self.slot(at: time)
        guard target > newest else { return }
        let steps = min(target - newest, Int64(Self.slotCount))
        for step in 1...steps {
            let index = Int((newest + step) % Int64(Self.slotCount))
            total -= slots[index]
            slots[index] = 0
        }
        newest = target
    }

    /// Adds `units` at `time` (after ``advance(to:)`` to that time).
    public mutating func add(_ units: Int64, at time: Double) {
        advance(to: time)
        slots[Int(newest % Int64(Self.slotCount))] += units
        total += units
        lastAdded = newest
    }

    /// The earliest time at which at most `limit − units` remain counted (so `units` more fit under `limit`).
    public func timeWhenFree(units: Int64, limit: Int64) -> Double {
        var excess = total + units - limit
        guard excess > 0 else { return Double(newest) * Self.slotSeconds }
        let oldest = newest - Int64(Self.slotCount) + 1
        for slot in oldest...newest {
            excess -= slots[Int(((slot % Int64(Self.slotCount)) + Int64(Self.slotCount)) % Int64(Self.slotCount))]
            if excess <= 0 {
                // That slot leaves the window when the newest slot is `slot + slotCount`.
                return Double(slot + Int64(Self.slotCount)) * Self.slotSeconds
            }
        }
        return Double(newest + Int64(Self.slotCount)) * Self.slotSeconds
    }

    /// When everything counted now has left the window: when the newest slot with units leaves it. O(1).
    public func timeWhenEmpty() -> Double {
        total > 0 ? Double(lastAdded + Int64(Self.slotCount)) * Self.slotSeconds : Double(newest) * Self.slotSeconds
    }
}

/// Per-key request (RPM) and token (TPM) limits over a sliding minute.
///
/// ``admit(keyID:rpm:tpm:)`` is called before the upstream call and counts the request; tokens are counted with
/// ``recordTokens(keyID:tokens:)`` once the answer says how many were used, so a request is admitted while the
/// key's tokens of the last minute are under its TPM. Synchronous and lock-protected: it runs on the request path.
public final class RateLimiter: Sendable {
    /// One limit's figures, for the `anthropic-ratelimit-*` headers.
    public struct Window: Sendable, Equatable {
        public var limit: Int
        public var remaining: Int
        /// When the window is fully replenished (seconds since 1970).
        public var resetAt: Double
    }

    public struct Decision: Sendable, Equatable {
        public var allowed: Bool
        public var requests: Window?
        public var tokens: Window?
        /// Whole seconds until a retry can be admitted (only when refused).
        public var retryAfterSeconds: Int?
        /// Which limit refused the request.
        public var refusedBy: String?
    }

    private struct KeyState {
        var requests = SlidingWindowCounter()
        var tokens = SlidingWindowCounter()

        /// Moves both windows to `time`.
        mutating func advance(to time: Double) {
            requests.advance(to: time)
            tokens.advance(to: time)
        }
    }

    private let state = Mutex<[String: KeyState]>([:])
    private let now: @Sendable () -> Double

    /// - Parameter now: wall-clock seconds since 1970 (injectable for tests).
    public init(now: @escaping @Sendable () -> Double) {
        self.now = now
    }

    /// Admits and counts one request of `keyID` unless its RPM or TPM limit is reached. Keys without limits are
    /// always admitted (and no state is kept for them).
    public func admit(keyID: String, rpm: Int?, tpm: Int?) -> Decision {
        guard rpm != nil || tpm != nil else { return Decision(allowed: true) }
        let time = now()
        // Each key's state is changed in place inside the dictionary: copying it out and back would copy its two
        // 600-slot windows on every request.
        return state.withLock { keys in
            Self.admit(&keys[keyID, default: KeyState()], rpm: rpm, tpm: tpm, at: time)
        }
    }

    private static func admit(_ key: inout KeyState, rpm: Int?, tpm: Int?, at time: Double) -> Decision {
        key.advance(to: time)
        var retryAt: Double?
        var refusedBy: String?
        if let rpm, key.requests.total + 1 > Int64(rpm) {
            retryAt = key.requests.timeWhenFree(units: 1, limit: Int64(rpm))
            refusedBy = "requests per minute (\(rpm))"
        }
        if let tpm, key.tokens.total >= Int64(tpm) {
            let tokensFree = key.tokens.timeWhenFree(units: 1, limit: Int64(tpm))
            if tokensFree > (retryAt ?? 0) { retryAt = tokensFree }
            refusedBy = refusedBy.map { "\($0) and tokens per minute (\(tpm))" } ?? "tokens per minute (\(tpm))"
        }
        let allowed = retryAt == nil
        if allowed, rpm != nil { key.requests.add(1, at: time) }
        var decision = figures(key, rpm: rpm, tpm: tpm, allowed: allowed)
        decision.refusedBy = refusedBy
        if let retryAt { decision.retryAfterSeconds = max(1, Int((retryAt - time).rounded(.up))) }
        return decision
    }

    /// Counts `tokens` used by a finished request of a key with a TPM limit.
    public func recordTokens(keyID: String, tpm: Int?, tokens: Int) {
        guard tpm != nil, tokens > 0 else { return }
        let time = now()
        state.withLock { keys in
            keys[keyID, default: KeyState()].tokens.add(Int64(tokens), at: time)
        }
    }

    /// The current figures without counting anything (for the headers of a finished answer).
    public func status(keyID: String, rpm: Int?, tpm: Int?) -> Decision {
        guard rpm != nil || tpm != nil else { return Decision(allowed: true) }
        let time = now()
        return state.withLock { keys in
            guard keys[keyID] != nil else {
                var fresh = KeyState()
                fresh.advance(to: time)
                return Self.figures(fresh, rpm: rpm, tpm: tpm, allowed: true)
            }
            keys[keyID]!.advance(to: time)
            return Self.figures(keys[keyID]!, rpm: rpm, tpm: tpm, allowed: true)
        }
    }

    private static func figures(_ key: KeyState, rpm: Int?, tpm: Int?, allowed: Bool) -> Decision {
        Decision(
            allowed: allowed,
            requests: rpm.map { Window(limit: $0, remaining: max(0, $0 - Int(key.requests.total)), resetAt: key.requests.timeWhenEmpty()) },
            tokens: tpm.map { Window(limit: $0, remaining: max(0, $0 - Int(key.tokens.total)), resetAt: key.tokens.timeWhenEmpty()) })
    }
}

extension RateLimiter.Decision {
    init(allowed: Bool) {
        self.init(allowed: allowed, requests: nil, tokens: nil, retryAfterSeconds: nil, refusedBy: nil)
    }
}
