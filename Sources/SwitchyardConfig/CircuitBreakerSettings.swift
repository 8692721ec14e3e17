/// The `circuit_breaker` section: when the gateway stops sending to an endpoint that keeps failing.
///
/// An endpoint's circuit opens after `failures` consecutive retryable failures (connect errors, timeouts, 429,
/// 5xx, 529, invalid answers, broken streams); while open, the endpoint is skipped. After `cooldown_s` one request
/// is let through as a probe: its success closes the circuit, its failure opens it for another cool-down.
public struct CircuitBreakerSettings: Sendable, Equatable {
    /// Consecutive failures that open an endpoint's circuit (`failures`). Default `5`.
    public var failures: Int
    /// Seconds an open circuit waits before a probe (`cooldown_s`). Default `30`.
    public var cooldown: Double

    /// Creates the settings; every argument defaults to the documented default.
    public init(failures: Int = 5, cooldown: Double = 30) {
        self.failures = failures
        self.cooldown = cooldown
    }
}
