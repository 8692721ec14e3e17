import SwitchyardMessages

/// Small writers for building JSON and SSE text straight into a byte array (no Foundation, no intermediate
/// strings on the hot path).
extension Array where Element == UInt8 {
    /// Appends a literal known to need no escaping.
    @inline(__always)
    mutating func append(literal: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Appends `s` as a JSON string literal, quotes included.
    @inline(__always)
    mutating func append(quoted s: String) {
        JSONText.appendQuoted(s, to: &self)
    }

    /// Appends the compact JSON text of `value`.
    @inline(__always)
    mutating func append(json value: JSONValue) {
        JSONText.append(value, to: &self)
    }

    /// Appends the decimal digits of `n`.
    mutating func append(integer n: Int) {
        if n == 0 {
            append(UInt8(ascii: "0"))
            return
        }
        if n < 0 { append(UInt8(ascii: "-")) }
        var magnitude = n.magnitude
        let start = count
        while magnitude > 0 {
            append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        }
        self[start...].reverse()
    }
}

/// Identifiers in the Anthropic style.
enum AnthropicIDs {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// `prefix` followed by 24 random base-62 characters.
    static func random(prefix: StaticString) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(prefix.utf8CodeUnitCount + 24)
        bytes.append(literal: prefix)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<24 { bytes.append(alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))]) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A `msg_` id derived from the upstream completion id (`chatcmpl-abc` → `msg_abc`; characters other than
    /// letters, digits, `_` and `-` are left out), or a random one when there is nothing usable.
    static func messageID(fromUpstream upstream: String?) -> String {
        guard var id = upstream, !id.isEmpty else { return random(prefix: "msg_") }
        if id.hasPrefix("chatcmpl-") { id.removeFirst("chatcmpl-".count) }
        var bytes: [UInt8] = Array("msg_".utf8)
        for byte in id.utf8 where isIDByte(byte) { bytes.append(byte) }
        guard bytes.count > 4 else { return random(prefix: "msg_") }
        return String(decoding: bytes, as: UTF8.self)
    }

    @inline(__always)
    private static func isIDByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }
}
