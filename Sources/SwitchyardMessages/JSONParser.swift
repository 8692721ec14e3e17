/// Why a byte sequence is not JSON: the byte offset where the problem was found and a short reason.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Zero-based offset of the offending byte (or of the end of input).
    public let offset: Int
    /// A short lowercase reason, e.g. `expected ':' after object key`.
    public let reason: String

    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "\(reason) at byte \(offset)" }
}

/// A strict RFC 8259 JSON parser over raw bytes.
///
/// - Accepts any value at the top level, surrounded by optional whitespace; anything after it is an error.
/// - Strings must be valid UTF-8 without raw control characters; all escapes are decoded, `\uD83D\uDE00`-style
///   surrogate pairs are combined, and a lone surrogate escape (which no Swift `String` can hold) decodes to
///   U+FFFD rather than failing, since the grammar allows it.
/// - Numbers follow the grammar exactly (no leading zeros, no `+`, no bare `.`) and keep their literal text.
/// - Arrays and objects may nest at most ``maxDepth`` levels.
public enum JSONParser {
    /// The deepest nesting of arrays and objects accepted.
    public static let maxDepth = 512

    /// Parses one JSON document.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONSyntaxError) -> JSONValue {
        var parser = ByteJSONParser(bytes, recordTopLevelMembers: false)
        return try parser.parseDocument()
    }

    /// Parses one JSON document.
    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        let result: Result<JSONValue, JSONSyntaxError> = bytes.withUnsafeBytes { buffer in
            var parser = ByteJSONParser(buffer, recordTopLevelMembers: false)
            do throws(JSONSyntaxError) {
                return .success(try parser.parseDocument())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Parses one JSON document from the UTF-8 of `text`.
    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// Parses a document and also returns, when the root is an object, the byte span of each of its members.
    static func parseRecordingTopLevel(
        _ bytes: UnsafeRawBufferPointer
    ) throws(JSONSyntaxError) -> (value: JSONValue, spans: [MemberSpan]) {
        var parser = ByteJSONParser(bytes, recordTopLevelMembers: true)
        let value = try parser.parseDocument()
        return (value, parser.topLevelSpans)
    }
}

/// Where one member of the root object sits in the original bytes.
struct MemberSpan: Sendable, Equatable {
    /// Offset of the key's opening quote.
    var keyStart: Int
    /// Offset of the value's first byte.
    var valueStart: Int
    /// Offset just past the value's last byte.
    var valueEnd: Int
}

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

struct ByteJSONParser {
    private let bytes: UnsafeRawBufferPointer
    private let end: Int
    private var position = 0
    private var depth = 0
    private let recordTopLevelMembers: Bool
    private(set) var topLevelSpans: [MemberSpan] = []
    /// Reused buffer for strings that contain escapes.
    private var scratch: [UInt8] = []

    init(_ bytes: UnsafeRawBufferPointer, recordTopLevelMembers: Bool) {
        self.bytes = bytes
        self.end = bytes.count
        self.recordTopLevelMembers = recordTopLevelMembers
    }

    mutating func parseDocument() throws(JSONSyntaxError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if position != end {
            throw JSONSyntaxError(offset: position, reason: "unexpected data after the JSON value")
        }
        return value
    }

    // MARK: - Values

    private mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        guard position < end else { throw error("unexpected end of input") }
        switch bytes[position] {
        case ASCII.openBrace: return .object(try parseObject())
        case ASCII.openBracket: return try parseArray()
        case ASCII.quote: return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case ASCII.minus, ASCII.zero...ASCII.nine:
            return .number(try parseNumber())
        default:
            throw error("unexpected character")
        }
    }

    private mutating func parseObject() throws(JSONSyntaxError) -> JSONObject {
        depth += 1
        guard depth <= JSONParser.maxDepth else { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
        let recording = recordTopLevelMembers && depth == 1
        position += 1  // {
        skipWhitespace()
        var members: [(key: String, value: JSONValue)] = []
        if position < end, bytes[position] == ASCII.closeBrace {
            position += 1
            depth -= 1
            return JSONObject(members)
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
            members.append((key: key, value: value))
            skipWhitespace()
            guard position < end else { throw error("unexpected end of input in object") }
            let byte = bytes[position]
            position += 1
            if byte == ASCII.comma {
                skipWhitespace()
                continue
            }
            if byte == ASCII.closeBrace { break }
            position -= 1
            throw error("expected ',' or '}' in object")
        }
        depth -= 1
        return JSONObject(members)
    }

    private mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
        depth += 1
        guard depth <= JSONParser.maxDepth else { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
        position += 1  // [
        skipWhitespace()
        var elements: [JSONValue] = []
        if position < end, bytes[position] == ASCII.closeBracket {
            position += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            elements.append(try parseValue())
            skipWhitespace()
            guard position < end else { throw error("unexpected end of input in array") }
            let byte = bytes[position]
            position += 1
            if byte == ASCII.comma {
                skipWhitespace()
                continue
            }
            if byte == ASCII.closeBracket { break }
            position -= 1
            throw error("expected ',' or ']' in array")
        }
        depth -= 1
        return .array(elements)
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

    private mutating func parseNumber() throws(JSONSyntaxError) -> String {
        let start = position
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
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool { byte &- ASCII.zero < 10 }

    @inline(__always)
    private mutating func skipDigits() {
        while position < end, isDigit(bytes[position]) { position += 1 }
    }

    // MARK: - Strings

    /// Parses a string starting at its opening quote.
    private mutating func parseString() throws(JSONSyntaxError) -> String {
        let openQuote = position
        position += 1
        let start = position
        var highBits: UInt64 = 0
        scanPlainBytes(&highBits)
        guard position < end else { throw JSONSyntaxError(offset: openQuote, reason: "unterminated string") }
        switch bytes[position] {
        case ASCII.quote:
            // Fast path: no escapes, the content is used in place.
            let content = UnsafeRawBufferPointer(rebasing: bytes[start..<position])
            position += 1
            if highBits & 0x8080_8080_8080_8080 == 0 { return String(decoding: content, as: UTF8.self) }
            guard let string = String(validating: content.assumingMemoryBound(to: UInt8.self), as: UTF8.self) else {
                throw JSONSyntaxError(offset: start, reason: "invalid UTF-8 in string")
            }
            return string
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
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        if let base = bytes.baseAddress {
            // Eight bytes at a time while none of them is special.
            while end - position >= 8 {
                let word = UInt64(littleEndian: (base + position).loadUnaligned(as: UInt64.self))
                let control = (word &- ones &* 0x20) & ~word & highs
                let quoteBytes = word ^ (ones &* UInt64(ASCII.quote))
                let quote = (quoteBytes &- ones) & ~quoteBytes & highs
                let backslashBytes = word ^ (ones &* UInt64(ASCII.backslash))
                let backslash = (backslashBytes &- ones) & ~backslashBytes & highs
                if control | quote | backslash != 0 { break }
                highBits |= word
                position += 8
            }
        }
        while position < end {
            let byte = bytes[position]
            if byte == ASCII.quote || byte == ASCII.backslash || byte < 0x20 { return }
            highBits |= UInt64(byte)
            position += 1
        }
    }

    /// Continues a string at its first backslash; the bytes from `start` up to here are plain.
    private mutating func parseEscapedString(
        start: Int, openQuote: Int, highBits: UInt64
    ) throws(JSONSyntaxError) -> String {
        var highBits = highBits
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<position]))
        while true {
            // Here bytes[position] is a backslash.
            position += 1
            guard position < end else { break }
            let escape = bytes[position]
            position += 1
            switch escape {
            case ASCII.quote, ASCII.backslash, ASCII.slash: scratch.append(escape)
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"): try decodeUnicodeEscape()
            default:
                position -= 1
                throw error("invalid escape sequence")
            }
            let runStart = position
            scanPlainBytes(&highBits)
            if runStart < position {
                scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<position]))
            }
            guard position < end else { break }
            switch bytes[position] {
            case ASCII.quote:
                position += 1
                // Escapes always produce valid UTF-8; only raw non-ASCII bytes need checking.
                if highBits & 0x8080_8080_8080_8080 == 0 { return String(decoding: scratch, as: UTF8.self) }
                let result: String? = scratch.withUnsafeBufferPointer { String(validating: $0, as: UTF8.self) }
                guard let result else { throw JSONSyntaxError(offset: start, reason: "invalid UTF-8 in string") }
                return result
            case ASCII.backslash:
                continue
            default:
                throw error("control character in string")
            }
        }
        throw JSONSyntaxError(offset: openQuote, reason: "unterminated string")
    }

    /// Decodes the `XXXX` after `\u` (and a following low-surrogate escape, if any) into `scratch`.
    private mutating func decodeUnicodeEscape() throws(JSONSyntaxError) {
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
        appendUTF8(scalar)
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

    private mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | scalar >> 6))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | scalar >> 12))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | scalar >> 18))
            scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
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
