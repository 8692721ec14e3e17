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
        var parser = ByteJSONParser(bytes, builder: JSONValueBuilder(), recordTopLevelMembers: false)
        return try parser.parseDocument()
    }

    /// Parses one JSON document.
    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { (buffer) throws(JSONSyntaxError) in
            try parse(UnsafeRawBufferPointer(buffer))
        }
    }

    /// Parses one JSON document from the UTF-8 of `text`.
    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// Parses a document and also returns, when the root is an object, the byte span of each of its members.
    static func parseRecordingTopLevel(
        _ bytes: UnsafeRawBufferPointer
    ) throws(JSONSyntaxError) -> (value: JSONValue, spans: [MemberSpan]) {
        var parser = ByteJSONParser(bytes, builder: JSONValueBuilder(), recordTopLevelMembers: true)
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
