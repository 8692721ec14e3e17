/// The tokens one request consumed, by kind (Anthropic's `usage`: `input_tokens`, `output_tokens`,
/// `cache_read_input_tokens`, `cache_creation_input_tokens`).
public struct TokenUsage: Sendable, Equatable, Hashable {
    /// Uncached input tokens.
    public var input: Int
    /// Output tokens (including thinking).
    public var output: Int
    /// Input tokens read from the prompt cache.
    public var cacheRead: Int
    /// Input tokens written to the prompt cache.
    public var cacheWrite: Int

    /// A usage; every kind defaults to zero.
    public init(input: Int = 0, output: Int = 0, cacheRead: Int = 0, cacheWrite: Int = 0) {
        self.input = input
        self.output = output
        self.cacheRead = cacheRead
        self.cacheWrite = cacheWrite
    }

    /// No tokens.
    public static let zero = TokenUsage()

    /// All tokens of every kind (saturating).
    public var total: Int {
        var sum = 0
        for value in [input, output, cacheRead, cacheWrite] {
            let (next, overflow) = sum.addingReportingOverflow(value)
            sum = overflow ? .max : next
        }
        return sum
    }
}

/// Prices for one endpoint, in micro-dollars per million tokens of each kind: 3.00 USD per million
/// tokens is `3_000_000`, 0.0375 USD per million is `37_500`.
public struct TokenPrices: Sendable, Equatable, Hashable {
    /// Uncached input, micro-USD per million tokens.
    public var input: Int64
    /// Output, micro-USD per million tokens.
    public var output: Int64
    /// Cache reads, micro-USD per million tokens.
    public var cacheRead: Int64
    /// Cache writes, micro-USD per million tokens.
    public var cacheWrite: Int64

    /// Prices in micro-dollars per million tokens; every kind defaults to zero (free).
    public init(input: Int64 = 0, output: Int64 = 0, cacheRead: Int64 = 0, cacheWrite: Int64 = 0) {
        self.input = input
        self.output = output
        self.cacheRead = cacheRead
        self.cacheWrite = cacheWrite
    }

    /// Free: every price zero.
    public static let free = TokenPrices()

    /// Converts a configured price in USD per million tokens (e.g. `3.75` from YAML) to micro-dollars per
    /// million, rounded to the nearest micro-dollar. Values with at most six decimals convert exactly;
    /// negative, NaN and infinite values give 0, values beyond the `Int64` range clamp to `Int64.max`.
    public static func microUSD(fromUSDPerMillion value: Double) -> Int64 {
        guard value.isFinite, value > 0 else { return 0 }
        let micros = (value * 1_000_000).rounded()
        guard micros < 9.2e18 else { return .max }
        return Int64(micros)
    }
}

/// The exact price of `usage` at `prices`.
///
/// Each kind's `tokens × micro-USD-per-million` is an amount in pico-dollars (1e-12 USD); the four are
/// summed in 128 bits and converted to nano-dollars once, rounding up, so a request is never charged less
/// than it cost and never more than one nano-dollar extra. Negative token counts or prices count as zero;
/// a total beyond `Int64.max` nano-dollars (about 9.2 billion USD) clamps to ``Money/max``.
public func cost(of usage: TokenUsage, at prices: TokenPrices) -> Money {
    @inline(__always)
    func picos(_ tokens: Int, _ price: Int64) -> UInt128 {
        UInt128(Swift.max(tokens, 0)) * UInt128(Swift.max(price, 0))
    }
    // Each product is below 2^126, so the sum of four (plus 999) stays below 2^128: no overflow.
    let total = picos(usage.input, prices.input) + picos(usage.output, prices.output)
        + picos(usage.cacheRead, prices.cacheRead) + picos(usage.cacheWrite, prices.cacheWrite)
    let nanos = (total + 999) / 1000
    guard nanos <= UInt128(Int64.max) else { return .max }
    return Money(nanos: Int64(nanos))
}
