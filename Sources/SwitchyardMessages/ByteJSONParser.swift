private enum ASCII {
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let slash = UInt8(ascii: "/")
    static let comma = UInt8(ascii: ",")
    static let colon = UInt8(ascii: ":")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let minus = UInt8(ascii: "-")
    static let plus = UInt8(ascii: "+")
    static let dot = UInt8(ascii: ".")
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let newline = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
}

/// The strict RFC 8259 grammar behind ``JSONParser``: checks every byte and hands each value to `Builder`, which
/// decides what the parse produces (see ``JSONTreeBuilding``).
struct ByteJSONParser<Builder: JSONTreeBuilding> {
    private let bytes: UnsafeRawBufferPointer
    private let end: Int
    private var position = 0
    private var depth = 0
    private let recordTopLevelMembers: Bool
    private(set) var topLevelSpans: [MemberSpan] = []
    /// What the values read become.
    private(set) var builder: Builder

    init(_ bytes: UnsafeRawBufferPointer, builder: Builder, recordTopLevelMembers: Bool) {
        self.bytes = bytes
        self.end = bytes.count
        self.builder = builder
        self.recordTopLevelMembers = recordTopLevelMembers
    }

    mutating func parseDocument() throws(JSONSyntaxError) -> Builder.Value {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if position != end {
            throw JSONSyntaxError(offset: position, reason: "unexpected data after the JSON value")
        }
        return value
    }

    // MARK: - Values

    private mutating func parseValue() throws(JSONSyntaxError) -> Builder.Value {
        guard position < end else { throw error("unexpected end of input") }
        let start = position
        switch bytes[position] {
        case ASCII.openBrace: return try parseObject()
        case ASCII.openBracket: return try parseArray()
        case ASCII.quote: return builder.string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return builder.bool(true, at: start..<position)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return builder.bool(false, at: start..<position)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return builder.null(at: start..<position)
        case ASCII.minus, ASCII.zero...ASCII.nine:
            try scanNumber()
            return builder.number(UnsafeRawBufferPointer(rebasing: bytes[start..<position]), at: start..<position)
        default:
            throw error("unexpected character")
        }
    }

    private mutating func parseObject() throws(JSONSyntaxError) -> Builder.Value {
        depth += 1
        guard depth <= JSONParser.maxDepth else { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
        let recording = recordTopLevelMembers && depth == 1
        var members = builder.beginObject(at: position)
        position += 1  // {
        skipWhitespace()
        if position < end, bytes[position] == ASCII.closeBrace {
            position += 1
            depth -= 1
            return builder.endObject(members, end: position)
        }
        while true {
            guard position < end else { throw error("unexpected end of input in object") }
            guard bytes[position] == ASCII.quote else { throw error("expected a string key") }
            let keyStart = position
            let key = try parseString()
            skipWhitespace()
            guard position < end, bytes[position] == ASCII.colon else { throw error("expected ':' after object key") }
            position += 1
            skipWhitespace()
            let valueStart = position
            let value = try parseValue()
            if recording {
                topLevelSpans.append(MemberSpan(keyStart: keyStart, valueStart: valueStart, valueEnd: position))
            }
            builder.append(key: consume key, value: consume value, to: &members)
            guard try moreMembers(closedBy: ASCII.closeBrace, in: "object") else { break }
        }
        depth -= 1
        return builder.endObject(members, end: position)
    }

    private mutating func parseArray() throws(JSONSyntaxError) -> Builder.Value {
        depth += 1
        guard depth <= JSONParser.maxDepth else { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
        var elements = builder.beginArray(at: position)
        position += 1  // [
        skipWhitespace()
        if position < end, bytes[position] == ASCII.closeBracket {
            position += 1
            depth -= 1
            return builder.endArray(elements, end: position)
        }
        while true {
            builder.append(try parseValue(), to: &elements)
            guard try moreMembers(closedBy: ASCII.closeBracket, in: "array") else { break }
        }
        depth -= 1
        return builder.endArray(elements, end: position)
    }

    /// After a member or element: consumes a `,` (true: another follows) or the container's closing byte (false).
    @inline(__always)
    private mutating func moreMembers(closedBy close: UInt8, in container: StaticString) throws(JSONSyntaxError) -> Bool {
        skipWhitespace()
        guard position < end else { throw error("unexpected end of input in \(container)") }
        let byte = bytes[position]
        position += 1
        if byte == ASCII.comma {
            skipWhitespace()
            return true
        }
        if byte == close { return false }
        position -= 1
        throw error("expected ',' or '\(Character(Unicode.Scalar(close)))' in \(container)")
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let count = literal.utf8CodeUnitCount
        guard end - position >= count else { throw error("invalid literal") }
        let expected = literal.utf8Start
        for k in 0..<count where bytes[position + k] != expected[k] {
            throw JSONSyntaxError(offset: position + k, reason: "invalid literal")
        }
        position += count
    }

    // MARK: - Numbers

    /// Moves past a number literal, checking its grammar.
    private mutating func scanNumber() throws(JSONSyntaxError) {
        if bytes[position] == ASCII.minus { position += 1 }
        guard position < end, isDigit(bytes[position]) else { throw error("expected a digit in number") }
        if bytes[position] == ASCII.zero {
            position += 1
            if position < end, isDigit(bytes[position]) { throw error("leading zero in number") }
        } else {
            skipDigits()
        }
        if position < end, bytes[position] == ASCII.dot {
            position += 1
            guard position < end, isDigit(bytes[position]) else { throw error("expected a digit after '.'") }
            skipDigits()
        }
        if position < end, bytes[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            if position < end, bytes[position] == ASCII.plus || bytes[position] == ASCII.minus { position += 1 }
            guard position < end, isDigit(bytes[position]) else { throw error("expected a digit in exponent") }
            skipDigits()
        }
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool { byte &- ASCII.zero < 10 }

    @inline(__always)
    private mutating func skipDigits() {
        while position < end, isDigit(bytes[position]) { position += 1 }
    }

    // MARK: - Strings

    /// Parses a string starting at its opening quote.
    private mutating func parseString() throws(JSONSyntaxError) -> Builder.Text {
        let openQuote = position
        position += 1
        let start = position
        var highBits: UInt64 = 0
        scanPlainBytes(&highBits)
        guard position < end else { throw JSONSyntaxError(offset: openQuote, reason: "unterminated string") }
        switch bytes[position] {
        case ASCII.quote:
            // Fast path: no escapes, the content is used in place.
            let range = start..<position
            position += 1
            let content = UnsafeRawBufferPointer(rebasing: bytes[range])
            let isASCII = highBits & 0x8080_8080_8080_8080 == 0
            guard let text = builder.plainString(content, at: range, isASCII: isASCII) else {
                throw JSONSyntaxError(offset: start, reason: "invalid UTF-8 in string")
            }
            return text
        case ASCII.backslash:
            return try parseEscapedString(start: start, openQuote: openQuote, highBits: highBits)
        default:
            throw error("control character in string")
        }
    }

    /// Advances `position` to the next `"`, `\` or control character (or the end), OR-ing the bytes passed over
    /// into `highBits` so that the caller can tell whether any was non-ASCII.
    @inline(__always)
    private mutating func scanPlainBytes(_ highBits: inout UInt64) {
        var at = position
        defer { position = at }
        if let base = bytes.baseAddress {
            // Sixteen bytes at a time, lane by lane (SSE2, NEON), while none of them is special...
            var highLanes = SIMD16<UInt8>()
            while end - at >= 16 {
                let chunk = (base + at).loadUnaligned(as: SIMD16<UInt8>.self)
                if Self.hasSpecialLane(chunk) { break }
                highLanes |= chunk
                at += 16
            }
            let lanes = unsafeBitCast(highLanes, to: (UInt64, UInt64).self)
            highBits |= lanes.0 | lanes.1
            // ...then eight at a time, which also tells where the special byte is.
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            while end - at >= 8 {
                let word = UInt64(littleEndian: (base + at).loadUnaligned(as: UInt64.self))
                let control = (word &- ones &* 0x20) & ~word & highs
                let quoteBytes = word ^ (ones &* UInt64(ASCII.quote))
                let quote = (quoteBytes &- ones) & ~quoteBytes & highs
                let backslashBytes = word ^ (ones &* UInt64(ASCII.backslash))
                let backslash = (backslashBytes &- ones) & ~backslashBytes & highs
                let special = control | quote | backslash
                if special != 0 {
                    // Borrows only carry into later bytes, so the first flagged byte is a true `"`, `\` or control.
                    let plainBits = special.trailingZeroBitCount & ~7
                    highBits |= word & ((1 &<< plainBits) &- 1)
                    at += plainBits >> 3
                    return
                }
                highBits |= word
                at += 8
            }
        }
        while at < end {
            let byte = bytes[at]
            if byte == ASCII.quote || byte == ASCII.backslash || byte < 0x20 { return }
            highBits |= UInt64(byte)
            at += 1
        }
    }

    /// Whether a byte of `chunk` is `"`, `\` or a control character.
    @inline(__always)
    private static func hasSpecialLane(_ chunk: SIMD16<UInt8>) -> Bool {
        // Lane by lane: x - 1 sets the top bit only for x == 0 (among x < 0x80, which ~x keeps), and x - 0x20 only
        // for x < 0x20 (among those).
        let quote = chunk ^ SIMD16(repeating: ASCII.quote)
        let backslash = chunk ^ SIMD16(repeating: ASCII.backslash)
        let isQuote = (quote &- SIMD16(repeating: 1)) & ~quote
        let isBackslash = (backslash &- SIMD16(repeating: 1)) & ~backslash
        let isControl = (chunk &- SIMD16(repeating: 0x20)) & ~chunk
        let flags = unsafeBitCast((isQuote | isBackslash | isControl) & SIMD16(repeating: 0x80), to: (UInt64, UInt64).self)
        return flags.0 | flags.1 != 0
    }

    /// Continues a string at its first backslash; the bytes from `start` up to here are plain. The escapes are
    /// checked here and their meaning handed to the builder.
    private mutating func parseEscapedString(
        start: Int, openQuote: Int, highBits: UInt64
    ) throws(JSONSyntaxError) -> Builder.Text {
        var highBits = highBits
        builder.beginEscapedString(UnsafeRawBufferPointer(rebasing: bytes[start..<position]))
        while true {
            // Here bytes[position] is a backslash.
            position += 1
            guard position < end else { break }
            let escape = bytes[position]
            position += 1
            switch escape {
            case ASCII.quote, ASCII.backslash, ASCII.slash: builder.appendEscapedByte(escape)
            case UInt8(ascii: "b"): builder.appendEscapedByte(0x08)
            case UInt8(ascii: "f"): builder.appendEscapedByte(0x0C)
            case UInt8(ascii: "n"): builder.appendEscapedByte(0x0A)
            case UInt8(ascii: "r"): builder.appendEscapedByte(0x0D)
            case UInt8(ascii: "t"): builder.appendEscapedByte(0x09)
            case UInt8(ascii: "u"): builder.appendEscapedScalar(try readUnicodeEscape())
            default:
                position -= 1
                throw error("invalid escape sequence")
            }
            let runStart = position
            scanPlainBytes(&highBits)
            if runStart < position {
                builder.appendUnescaped(UnsafeRawBufferPointer(rebasing: bytes[runStart..<position]))
            }
            guard position < end else { break }
            switch bytes[position] {
            case ASCII.quote:
                let range = start..<position
                position += 1
                let content = UnsafeRawBufferPointer(rebasing: bytes[range])
                let isASCII = highBits & 0x8080_8080_8080_8080 == 0
                guard let text = builder.endEscapedString(content, at: range, isASCII: isASCII) else {
                    throw JSONSyntaxError(offset: start, reason: "invalid UTF-8 in string")
                }
                return text
            case ASCII.backslash:
                continue
            default:
                throw error("control character in string")
            }
        }
        throw JSONSyntaxError(offset: openQuote, reason: "unterminated string")
    }

    /// Reads the `XXXX` after `\u` (and a following low-surrogate escape, if any): the scalar it stands for.
    private mutating func readUnicodeEscape() throws(JSONSyntaxError) -> UInt32 {
        let unit = try readHex4()
        var scalar: UInt32
        switch unit {
        case 0xD800...0xDBFF:
            // A high surrogate: combine with an immediately following low-surrogate escape.
            scalar = 0xFFFD
            if end - position >= 6, bytes[position] == ASCII.backslash, bytes[position + 1] == UInt8(ascii: "u") {
                let save = position
                position += 2
                let low = try readHex4()
                if (0xDC00...0xDFFF).contains(low) {
                    scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    position = save  // not a pair: decode the next escape on its own
                }
            }
        case 0xDC00...0xDFFF:
            scalar = 0xFFFD
        default:
            scalar = unit
        }
        return scalar
    }

    private mutating func readHex4() throws(JSONSyntaxError) -> UInt32 {
        guard end - position >= 4 else { throw error("incomplete \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case ASCII.zero...ASCII.nine: digit = byte - ASCII.zero
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    // MARK: - Helpers

    @inline(__always)
    private mutating func skipWhitespace() {
        while position < end {
            switch bytes[position] {
            case ASCII.space, ASCII.newline, ASCII.carriageReturn, ASCII.tab: position += 1
            default: return
            }
        }
    }

    private func error(_ reason: String) -> JSONSyntaxError {
        JSONSyntaxError(offset: position, reason: reason)
    }
}
