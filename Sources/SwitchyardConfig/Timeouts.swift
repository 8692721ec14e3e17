/// The `timeouts` section: how long the gateway waits on an upstream, in seconds.
public struct Timeouts: Sendable, Equatable {
    /// Establishing the connection, TLS included (`connect_s`). Default `10`.
    public var connect: Double
    /// From sending the request to the first byte of the answer (`first_byte_s`). Default `120`.
    public var firstByte: Double
    /// The longest silence between two bytes of an answer (`idle_s`). Default `120`.
    public var idle: Double
    /// The whole exchange, however long it streams (`total_s`). Default `900`.
    public var total: Double

    /// Creates timeouts; every argument defaults to the documented default. All must be positive.
    public init(connect: Double = 10, firstByte: Double = 120, idle: Double = 120, total: Double = 900) {
        self.connect = connect
        self.firstByte = firstByte
        self.idle = idle
        self.total = total
    }

    /// These timeouts with each value the overrides set replaced.
    ///
    /// - Parameter overrides: A provider's overrides; `nil` leaves everything as is.
    /// - Returns: The effective timeouts.
    public func applying(_ overrides: TimeoutOverrides?) -> Timeouts {
        guard let overrides else { return self }
        return Timeouts(
            connect: overrides.connect ?? self.connect,
            firstByte: overrides.firstByte ?? self.firstByte,
            idle: overrides.idle ?? self.idle,
            total: overrides.total ?? self.total
        )
    }
}

/// A provider's `timeouts`: the same keys as the top-level ``Timeouts``, each optional (`nil` = inherit).
public struct TimeoutOverrides: Sendable, Equatable {
    /// Overrides ``Timeouts/connect`` (`connect_s`).
    public var connect: Double?
    /// Overrides ``Timeouts/firstByte`` (`first_byte_s`).
    public var firstByte: Double?
    /// Overrides ``Timeouts/idle`` (`idle_s`).
    public var idle: Double?
    /// Overrides ``Timeouts/total`` (`total_s`).
    public var total: Double?

    /// Creates overrides; each `nil` (the default) inherits the top-level value.
    public init(connect: Double? = nil, firstByte: Double? = nil, idle: Double? = nil, total: Double? = nil) {
        self.connect = connect
        self.firstByte = firstByte
        self.idle = idle
        self.total = total
    }
}
