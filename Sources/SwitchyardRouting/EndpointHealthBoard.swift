import Synchronization

/// When an endpoint that keeps failing is taken out of rotation, and for how long.
public struct CircuitBreakerPolicy: Sendable, Equatable {
    /// Consecutive retryable failures that open the circuit. Default `5`; values below 1 act as 1.
    public var failureThreshold: Int
    /// Seconds an open circuit waits before one half-open probe is admitted; also how long a probe reservation
    /// lasts before it is considered lost. Default `30`.
    public var cooldown: Double

    /// Creates a policy; every argument defaults to the documented default.
    public init(failureThreshold: Int = 5, cooldown: Double = 30) {
        self.failureThreshold = failureThreshold
        self.cooldown = cooldown
    }
}

/// The circuit breaker state of one endpoint.
public enum CircuitState: String, Sendable {
    /// Requests flow.
    case closed
    /// Too many consecutive failures: the endpoint is skipped until the cool-down is over.
    case open
    /// The cool-down is over and one probe request decides whether the circuit closes or opens again.
    case halfOpen = "half_open"
}

/// What the gateway knows about one endpoint: its circuit and its moving performance figures.
public struct EndpointHealth: Sendable, Equatable {
    /// The circuit state.
    public var state: CircuitState
    /// Retryable failures since the last success.
    public var consecutiveFailures: Int
    /// Moving time to first byte, in seconds (EWMA), `nil` before the first measured success.
    public var latency: Double?
    /// Moving output tokens per second after the first byte (EWMA), `nil` before the first measurement.
    public var throughput: Double?
    /// Clock time the circuit last opened, `nil` if it never did.
    public var openedAt: Double?

    /// Creates a health record.
    public init(
        state: CircuitState = .closed,
        consecutiveFailures: Int = 0,
        latency: Double? = nil,
        throughput: Double? = nil,
        openedAt: Double? = nil
    ) {
        self.state = state
        self.consecutiveFailures = consecutiveFailures
        self.latency = latency
        self.throughput = throughput
        self.openedAt = openedAt
    }
}

/// The gateway-wide record of every endpoint's circuit breaker and moving latency / throughput.
///
/// One instance is shared by all requests. Each call takes one short lock; the clock is injected (seconds, any
/// epoch) so tests can move time by hand. The exchange uses it in this order for each attempt: ``beginAttempt(_:)``
/// right before sending, then exactly one of ``recordSuccess(_:latency:throughput:)``, ``recordFailure(_:)`` or
/// ``recordAbandoned(_:)``.
///
/// Circuit rules: `failureThreshold` consecutive failures open the circuit; while open the endpoint is not
/// available. Once `cooldown` seconds have passed, the next ``beginAttempt(_:)`` turns the circuit half-open and
/// reserves the single probe; other requests keep skipping the endpoint. The probe's success closes the circuit,
/// its failure opens it again for a new cool-down. A reservation older than `cooldown` is taken to be lost.
public final class EndpointHealthBoard: Sendable {
    /// The weight of a new sample in the moving figures: `new = old + smoothing × (sample − old)`.
    public static let smoothing: Double = 0.3

    /// The circuit breaker rules in force.
    public let policy: CircuitBreakerPolicy

    private let threshold: Int
    private let now: @Sendable () -> Double
    private let entries: Mutex<[EndpointKey: Entry]>

    /// Creates an empty board (every endpoint closed, no figures).
    ///
    /// - Parameters:
    ///   - policy: when circuits open and for how long.
    ///   - now: the clock, in seconds; only differences between readings matter.
    public init(policy: CircuitBreakerPolicy = .init(), now: @escaping @Sendable () -> Double) {
        self.policy = policy
        self.threshold = max(1, policy.failureThreshold)
        self.now = now
        self.entries = Mutex([:])
    }

    /// Whether the planner may include the endpoint: closed, or open with the cool-down over and no probe out.
    public func isAvailable(_ key: EndpointKey) -> Bool {
        waitBeforeAdmission(key) == nil
    }

    /// Seconds until an open circuit admits a probe (`0` if it would admit one now), `nil` if the circuit is closed.
    ///
    /// While a probe is out, this is the time until its reservation would be considered lost.
    public func retryIn(_ key: EndpointKey) -> Double? {
        entries.withLock { entries -> Double? in
            guard let entry = entries[key], entry.state != .closed else { return nil }
            return max(0, entry.admitsAt(cooldown: policy.cooldown) - now())
        }
    }

    /// Called right before an attempt; `false` means skip the endpoint.
    ///
    /// Closed → `true`. Open with the cool-down over, or half-open with no live probe → half-open, the single
    /// probe is reserved for this caller, `true`. Otherwise `false`.
    public func beginAttempt(_ key: EndpointKey) -> Bool {
        entries.withLock { entries -> Bool in
            guard var entry = entries[key], entry.state != .closed else { return true }
            let time = now()
            guard time >= entry.admitsAt(cooldown: policy.cooldown) else { return false }
            entry.state = .halfOpen
            entry.probeStartedAt = time
            entries[key] = entry
            return true
        }
    }

    /// The attempt got a valid answer (a 200, or a 4xx about the request itself).
    ///
    /// Closes the circuit and resets the failure count; folds the measured figures into the moving ones.
    /// - Parameters:
    ///   - latency: seconds to the first byte, if measured.
    ///   - throughput: output tokens per second after the first byte, if measured.
    public func recordSuccess(_ key: EndpointKey, latency: Double?, throughput: Double?) {
        entries.withLock { entries in
            var entry = entries[key] ?? Entry()
            entry.state = .closed
            entry.consecutiveFailures = 0
            entry.probeStartedAt = nil
            if let latency, latency.isFinite, latency >= 0 {
                entry.latency = Self.fold(entry.latency, latency)
            }
            if let throughput, throughput.isFinite, throughput >= 0 {
                entry.throughput = Self.fold(entry.throughput, throughput)
            }
            entries[key] = entry
        }
    }

    /// A retryable failure: connect error, timeout, 429, 5xx, 529, invalid answer, broken stream.
    ///
    /// Counts it; the failure that reaches the threshold, or any failure while half-open, opens the circuit now.
    /// Failures reported while already open (requests that started before it opened) do not extend the cool-down.
    public func recordFailure(_ key: EndpointKey) {
        entries.withLock { entries in
            var entry = entries[key] ?? Entry()
            entry.consecutiveFailures += 1
            switch entry.state {
            case .closed where entry.consecutiveFailures >= threshold, .halfOpen:
                entry.state = .open
                entry.openedAt = now()
                entry.probeStartedAt = nil
            case .closed, .open:
                break
            }
            entries[key] = entry
        }
    }

    /// The attempt ended with no verdict (the client went away): releases a probe reservation, nothing else.
    public func recordAbandoned(_ key: EndpointKey) {
        entries.withLock { entries in
            guard entries[key]?.probeStartedAt != nil else { return }
            entries[key]?.probeStartedAt = nil
        }
    }

    /// The endpoint's health; an endpoint never reported on is closed with no failures and no figures.
    public func health(_ key: EndpointKey) -> EndpointHealth {
        entries.withLock { $0[key]?.health } ?? EndpointHealth()
    }

    /// Every endpoint reported on so far.
    public func snapshot() -> [EndpointKey: EndpointHealth] {
        entries.withLock { $0.mapValues(\.health) }
    }

    // MARK: For the planner (one lock per endpoint)

    /// `nil` when the endpoint is available now, else the seconds until its circuit admits a probe.
    func waitBeforeAdmission(_ key: EndpointKey) -> Double? {
        entries.withLock { entries -> Double? in
            guard let entry = entries[key], entry.state != .closed else { return nil }
            let wait = entry.admitsAt(cooldown: policy.cooldown) - now()
            return wait > 0 ? wait : nil
        }
    }

    /// The availability and the moving figures, read under one lock (for `sort: latency|throughput`).
    func reading(_ key: EndpointKey) -> Reading {
        entries.withLock { entries -> Reading in
            guard let entry = entries[key] else { return Reading(wait: nil, latency: nil, throughput: nil) }
            var wait: Double?
            if entry.state != .closed {
                let remaining = entry.admitsAt(cooldown: policy.cooldown) - now()
                wait = remaining > 0 ? remaining : nil
            }
            return Reading(wait: wait, latency: entry.latency, throughput: entry.throughput)
        }
    }

    struct Reading {
        var wait: Double?
        var latency: Double?
        var throughput: Double?
    }

    private static func fold(_ old: Double?, _ sample: Double) -> Double {
        guard let old else { return sample }
        return old + smoothing * (sample - old)
    }

    private struct Entry {
        var state: CircuitState = .closed
        var consecutiveFailures = 0
        var latency: Double?
        var throughput: Double?
        var openedAt: Double?
        /// When the current half-open probe was reserved; `nil` when none is out.
        var probeStartedAt: Double?

        /// The clock time from which a probe may be reserved (meaningful when not closed).
        func admitsAt(cooldown: Double) -> Double {
            if let probeStartedAt { return probeStartedAt + cooldown }  // a live probe, or a lost one
            if state == .open { return (openedAt ?? 0) + cooldown }
            return -Double.infinity  // half-open, probe released
        }

        var health: EndpointHealth {
            EndpointHealth(
                state: state, consecutiveFailures: consecutiveFailures, latency: latency, throughput: throughput,
                openedAt: openedAt
            )
        }
    }
}
