/// What an endpoint charges, in US dollars per million tokens, held exactly as integers.
///
/// Each value is in **micro-dollars per million tokens** (equivalently, picodollars per token): `3.00` USD per
/// million is `3_000_000`, `0.0375` is `37_500`. The configuration's decimal text is converted digit by digit, never
/// through `Double`, so no price is off by a rounding error.
public struct Price: Sendable, Hashable {
    /// Uncached input tokens (`input`). Default `0`.
    public var input: Int64
    /// Output tokens, thinking included (`output`). Default `0`.
    public var output: Int64
    /// Input tokens read from the prompt cache (`cache_read`). Default `0`.
    public var cacheRead: Int64
    /// Input tokens written to the prompt cache (`cache_write`). Default `0`.
    public var cacheWrite: Int64

    /// Creates a price; all values in micro-dollars per million tokens, defaulting to `0`.
    public init(input: Int64 = 0, output: Int64 = 0, cacheRead: Int64 = 0, cacheWrite: Int64 = 0) {
        self.input = input
        self.output = output
        self.cacheRead = cacheRead
        self.cacheWrite = cacheWrite
    }

    /// Why a decimal text cannot be a price.
    enum DecimalProblem: Error, Equatable {
        case notANumber
        case negative
        case tooPrecise
        case tooLarge

        var message: String {
            switch self {
            case .notANumber: "expected a decimal number of US dollars"
            case .negative: "a price cannot be negative"
            case .tooPrecise: "more than 6 decimal places (prices are held in millionths of a dollar)"
            case .tooLarge: "too large"
            }
        }
    }

    /// Converts a decimal text (`3`, `15.00`, `0.0375`, `.5`, `1e-6`) to millionths exactly.
    ///
    /// Digits beyond the sixth decimal place must be zero; a sign of `-` is refused, `+` allowed.
    static func micros(fromDecimal text: String) -> Result<Int64, DecimalProblem> {
        let zero = UInt8(ascii: "0")
        var bytes = Substring(text).utf8[...]
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            negative = first == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        var digits: [UInt8] = []
        var fractionDigits = 0
        var seenPoint = false
        var exponent = 0
        while let byte = bytes.first {
            if byte >= zero, byte <= UInt8(ascii: "9") {
                digits.append(byte &- zero)
                if seenPoint { fractionDigits += 1 }
            } else if byte == UInt8(ascii: "."), !seenPoint {
                seenPoint = true
            } else {
                break
            }
            bytes = bytes.dropFirst()
        }
        guard !digits.isEmpty else { return .failure(.notANumber) }
        if let marker = bytes.first, marker == UInt8(ascii: "e") || marker == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            var exponentNegative = false
            if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                exponentNegative = sign == UInt8(ascii: "-")
                bytes = bytes.dropFirst()
            }
            guard !bytes.isEmpty else { return .failure(.notANumber) }
            for byte in bytes {
                guard byte >= zero, byte <= UInt8(ascii: "9") else { return .failure(.notANumber) }
                exponent = min(exponent * 10 + Int(byte &- zero), 100_000)  // clamped: far beyond any valid value
            }
            if exponentNegative { exponent = -exponent }
            bytes = bytes[bytes.endIndex...]
        }
        guard bytes.isEmpty else { return .failure(.notANumber) }
        if negative { return .failure(.negative) }

        // value = digits × 10^(exponent − fractionDigits) dollars = digits × 10^shift millionths.
        let shift = exponent - fractionDigits + 6
        var significant = digits.drop(while: { $0 == 0 })
        if shift < 0 {
            let dropped = significant.suffix(-shift)
            guard dropped.allSatisfy({ $0 == 0 }) else { return .failure(.tooPrecise) }
            significant = significant.dropLast(min(-shift, significant.count))
        }
        var value: Int64 = 0
        for digit in significant {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int64(digit))
            guard !overflow1, !overflow2 else { return .failure(.tooLarge) }
            value = sum
        }
        if shift > 0, value != 0 {
            for _ in 0..<shift {
                let (times10, overflow) = value.multipliedReportingOverflow(by: 10)
                guard !overflow else { return .failure(.tooLarge) }
                value = times10
            }
        }
        return .success(value)
    }
}
