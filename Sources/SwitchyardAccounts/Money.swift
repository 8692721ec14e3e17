/// An exact amount of US dollars, counted in nano-dollars (1e-9 USD) in an `Int64`.
///
/// Money never passes through `Double`: it is parsed from and printed to decimal text exactly. The range is
/// about ±9.2 billion USD. Arithmetic saturates at the bounds instead of trapping, so a corrupt or hostile
/// amount can never crash the gateway; no real balance comes near them.
public struct Money: Sendable, Hashable, Comparable {
    /// The amount in nano-dollars (1e-9 USD).
    public var nanos: Int64

    /// Nano-dollars in one dollar.
    public static let nanosPerUSD: Int64 = 1_000_000_000

    /// Zero dollars.
    public static let zero = Money(nanos: 0)

    /// The largest representable amount.
    public static let max = Money(nanos: .max)

    /// An amount of nano-dollars.
    @inlinable
    public init(nanos: Int64) {
        self.nanos = nanos
    }

    /// Parses a plain decimal number of dollars exactly: an optional sign, digits, and an optional
    /// fraction of up to 9 digits (more are accepted only when they are zeros), e.g. `12.5`, `-0.000003`,
    /// `+3`, `.25`, `7.`.
    ///
    /// Returns `nil` for anything else (exponents, separators, spaces, `inf`, an empty string) and for
    /// amounts outside the representable range.
    public init?(usd text: String) {
        var utf8 = Array(text.utf8)[...]
        var negative = false
        if let first = utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            utf8 = utf8.dropFirst()
        }
        // Accumulate the magnitude as a negative number so that Int64.min itself is reachable.
        var accumulated: Int64 = 0
        var digits = 0
        var fractionDigits = 0
        var seenPoint = false
        for byte in utf8 {
            if byte == UInt8(ascii: ".") {
                if seenPoint { return nil }
                seenPoint = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let digit = Int64(byte &- UInt8(ascii: "0"))
            digits += 1
            if seenPoint {
                fractionDigits += 1
                if fractionDigits > 9 {
                    // Beyond nano precision only zeros keep the value exact.
                    if digit != 0 { return nil }
                    continue
                }
            }
            let (times10, overflow1) = accumulated.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = times10.subtractingReportingOverflow(digit)
            if overflow1 || overflow2 { return nil }
            accumulated = next
        }
        guard digits > 0 else { return nil }
        var scale = Swift.min(fractionDigits, 9)
        while scale < 9 {
            let (next, overflow) = accumulated.multipliedReportingOverflow(by: 10)
            if overflow { return nil }
            accumulated = next
            scale += 1
        }
        if negative {
            self.nanos = accumulated
        } else {
            guard accumulated != .min else { return nil }
            self.nanos = -accumulated
        }
    }

    /// The amount as a plain decimal number of dollars, e.g. `12.5`, `-0.000003`, `0`: trailing zeros of
    /// the fraction trimmed, no exponent, at least one digit. The text is also a valid JSON number and
    /// round-trips through ``init(usd:)``.
    public var usdString: String {
        let magnitude = nanos.magnitude
        let whole = magnitude / UInt64(Self.nanosPerUSD)
        var fraction = magnitude % UInt64(Self.nanosPerUSD)
        var result = nanos < 0 ? "-" : ""
        result += String(whole)
        guard fraction != 0 else { return result }
        var width = 9
        while fraction % 10 == 0 {
            fraction /= 10
            width -= 1
        }
        let fractionText = String(fraction)
        result += "."
        result += String(repeating: "0", count: width - fractionText.count)
        result += fractionText
        return result
    }

    /// Whether the amount is above zero (a key may be used while its balance is).
    @inlinable
    public var isPositive: Bool { nanos > 0 }

    /// The sum, saturating at the representable bounds.
    @inlinable
    public static func + (lhs: Money, rhs: Money) -> Money {
        let (sum, overflow) = lhs.nanos.addingReportingOverflow(rhs.nanos)
        if overflow { return Money(nanos: rhs.nanos > 0 ? .max : .min) }
        return Money(nanos: sum)
    }

    /// The difference, saturating at the representable bounds.
    @inlinable
    public static func - (lhs: Money, rhs: Money) -> Money {
        let (difference, overflow) = lhs.nanos.subtractingReportingOverflow(rhs.nanos)
        if overflow { return Money(nanos: rhs.nanos > 0 ? .min : .max) }
        return Money(nanos: difference)
    }

    /// Adds in place, saturating.
    @inlinable
    public static func += (lhs: inout Money, rhs: Money) { lhs = lhs + rhs }

    /// Subtracts in place, saturating.
    @inlinable
    public static func -= (lhs: inout Money, rhs: Money) { lhs = lhs - rhs }

    /// The negated amount (saturating: `-Int64.min` becomes `Int64.max`).
    @inlinable
    public static prefix func - (operand: Money) -> Money { .zero - operand }

    @inlinable
    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.nanos < rhs.nanos }
}

extension Money: CustomStringConvertible {
    /// The amount as `usdString` followed by ` USD`.
    public var description: String { usdString + " USD" }
}
