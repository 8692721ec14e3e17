/// What ``ByteJSONParser`` makes of the values it reads. The parser checks the grammar and tells the builder about
/// each value in document order; the builder decides what to keep: the full ``JSONValue`` tree
/// (``JSONValueBuilder``) or byte ranges only (``SkimTreeBuilder``).
///
/// Values and keys are `consuming`, so that they move into their container without a retain and release each.
protocol JSONTreeBuilding {
    /// What one value becomes.
    associatedtype Value
    /// What one string (a value or an object key) becomes.
    associatedtype Text
    /// An array being read.
    associatedtype ArrayContents
    /// An object being read.
    associatedtype ObjectContents

    mutating func null(at range: Range<Int>) -> Value
    mutating func bool(_ value: Bool, at range: Range<Int>) -> Value
    /// A grammar-checked number literal.
    mutating func number(_ literal: UnsafeRawBufferPointer, at range: Range<Int>) -> Value
    mutating func string(_ text: consuming Text) -> Value

    /// A string without escapes, its `content` (between the quotes) at `range`; `nil` when it is not valid UTF-8.
    /// `isASCII` tells that no byte is above 0x7F.
    mutating func plainString(_ content: UnsafeRawBufferPointer, at range: Range<Int>, isASCII: Bool) -> Text?
    /// A string with escapes begins: `prefix` is its content up to the first backslash.
    mutating func beginEscapedString(_ prefix: UnsafeRawBufferPointer)
    /// Bytes of the string's content between escapes, as written.
    mutating func appendUnescaped(_ run: UnsafeRawBufferPointer)
    /// The byte that a one-character escape (`\n`, `\"`, …) stands for.
    mutating func appendEscapedByte(_ byte: UInt8)
    /// The scalar that a `\u` escape (or surrogate pair) stands for; never a surrogate.
    mutating func appendEscapedScalar(_ scalar: UInt32)
    /// The string with escapes ends: `content` is everything between its quotes, escapes as written, at `range`;
    /// `nil` when the unescaped parts are not valid UTF-8. `isASCII` tells that no unescaped byte is above 0x7F.
    mutating func endEscapedString(_ content: UnsafeRawBufferPointer, at range: Range<Int>, isASCII: Bool) -> Text?

    /// An array begins at `offset` (its `[`).
    mutating func beginArray(at offset: Int) -> ArrayContents
    mutating func append(_ element: consuming Value, to array: inout ArrayContents)
    /// The array ends; `end` is just past its `]`.
    mutating func endArray(_ array: ArrayContents, end: Int) -> Value

    /// An object begins at `offset` (its `{`).
    mutating func beginObject(at offset: Int) -> ObjectContents
    mutating func append(key: consuming Text, value: consuming Value, to object: inout ObjectContents)
    /// The object ends; `end` is just past its `}`.
    mutating func endObject(_ object: ObjectContents, end: Int) -> Value
}

/// Builds the full ``JSONValue`` tree: every string decoded, every number's literal kept as text.
struct JSONValueBuilder: JSONTreeBuilding {
    /// Reused buffer for the decoded content of strings that contain escapes.
    private var scratch: [UInt8] = []

    @inline(__always)
    func null(at range: Range<Int>) -> JSONValue { .null }

    @inline(__always)
    func bool(_ value: Bool, at range: Range<Int>) -> JSONValue { .bool(value) }

    @inline(__always)
    func number(_ literal: UnsafeRawBufferPointer, at range: Range<Int>) -> JSONValue {
        .number(String(decoding: literal, as: UTF8.self))
    }

    @inline(__always)
    func string(_ text: consuming String) -> JSONValue { .string(consume text) }

    @inline(__always)
    func plainString(_ content: UnsafeRawBufferPointer, at range: Range<Int>, isASCII: Bool) -> String? {
        if isASCII { return String(decoding: content, as: UTF8.self) }
        return String(validating: content.assumingMemoryBound(to: UInt8.self), as: UTF8.self)
    }

    @inline(__always)
    mutating func beginEscapedString(_ prefix: UnsafeRawBufferPointer) {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: prefix)
    }

    @inline(__always)
    mutating func appendUnescaped(_ run: UnsafeRawBufferPointer) {
        scratch.append(contentsOf: run)
    }

    @inline(__always)
    mutating func appendEscapedByte(_ byte: UInt8) {
        scratch.append(byte)
    }

    mutating func appendEscapedScalar(_ scalar: UInt32) {
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

    func endEscapedString(_ content: UnsafeRawBufferPointer, at range: Range<Int>, isASCII: Bool) -> String? {
        // Escapes always produce valid UTF-8; only raw non-ASCII bytes need checking.
        if isASCII { return String(decoding: scratch, as: UTF8.self) }
        return scratch.withUnsafeBufferPointer { String(validating: $0, as: UTF8.self) }
    }

    @inline(__always)
    func beginArray(at offset: Int) -> [JSONValue] { [] }

    @inline(__always)
    func append(_ element: consuming JSONValue, to array: inout [JSONValue]) { array.append(consume element) }

    @inline(__always)
    func endArray(_ array: [JSONValue], end: Int) -> JSONValue { .array(array) }

    @inline(__always)
    func beginObject(at offset: Int) -> [(key: String, value: JSONValue)] { [] }

    @inline(__always)
    func append(key: consuming String, value: consuming JSONValue, to object: inout [(key: String, value: JSONValue)]) {
        object.append((key: consume key, value: consume value))
    }

    @inline(__always)
    func endObject(_ object: [(key: String, value: JSONValue)], end: Int) -> JSONValue {
        .object(JSONObject(object))
    }
}
