/// One value of a skim tree: its kind and where it sits in the body. Strings are validated but not decoded.
///
/// A skim tree is the nodes of a document in document order: an array's elements follow it, an object's members
/// follow it as key node then value node; `next` skips a value's whole subtree.
struct SkimNode {
    enum Kind: UInt8 {
        case null, `false`, `true`, number, string, array, object
    }

    var kind: Kind
    /// For a string: whether it contains a backslash escape.
    var isEscaped = false
    /// For a string: whether no byte of its content is above 0x7F.
    var isASCII = true
    /// For a string: the first byte after its opening quote; otherwise the value's first byte.
    var start: Int
    /// For a string: its closing quote; otherwise just past the value's last byte.
    var end: Int
    /// The index of the node after this value's subtree.
    var next: Int
}

/// Builds a skim tree: the parser's full syntax check (UTF-8 included), with nothing decoded or copied.
struct SkimTreeBuilder: JSONTreeBuilding {
    private(set) var nodes: [SkimNode] = []

    /// A builder with room for about `capacity` nodes.
    init(capacity: Int) {
        nodes.reserveCapacity(capacity)
    }

    @inline(__always)
    private mutating func appendLeaf(
        _ kind: SkimNode.Kind, _ range: Range<Int>, escaped: Bool = false, ascii: Bool = true
    ) {
        nodes.append(SkimNode(
            kind: kind, isEscaped: escaped, isASCII: ascii,
            start: range.lowerBound, end: range.upperBound, next: nodes.count + 1
        ))
    }

    @inline(__always)
    mutating func null(at range: Range<Int>) { appendLeaf(.null, range) }

    @inline(__always)
    mutating func bool(_ value: Bool, at range: Range<Int>) { appendLeaf(value ? .true : .false, range) }

    @inline(__always)
    mutating func number(_ literal: UnsafeRawBufferPointer, at range: Range<Int>) { appendLeaf(.number, range) }

    /// The node was added when the string was read (a key needs one too).
    @inline(__always)
    func string(_ text: Void) {}

    @inline(__always)
    mutating func plainString(_ content: UnsafeRawBufferPointer, at range: Range<Int>, isASCII: Bool) -> Void? {
        guard isASCII || isValidUTF8(content) else { return nil }
        appendLeaf(.string, range, ascii: isASCII)
        return ()
    }

    @inline(__always)
    func beginEscapedString(_ prefix: UnsafeRawBufferPointer) {}

    @inline(__always)
    func appendUnescaped(_ run: UnsafeRawBufferPointer) {}

    @inline(__always)
    func appendEscapedByte(_ byte: UInt8) {}

    @inline(__always)
    func appendEscapedScalar(_ scalar: UInt32) {}

    /// Escapes are ASCII and stand for whole scalars, so the decoded text is valid UTF-8 exactly when the content
    /// as written is: checking that needs no decoding.
    @inline(__always)
    mutating func endEscapedString(_ content: UnsafeRawBufferPointer, at range: Range<Int>, isASCII: Bool) -> Void? {
        guard isASCII || isValidUTF8(content) else { return nil }
        appendLeaf(.string, range, escaped: true, ascii: isASCII)
        return ()
    }

    @inline(__always)
    mutating func beginArray(at offset: Int) -> Int {
        appendLeaf(.array, offset..<offset)
        return nodes.count - 1
    }

    @inline(__always)
    func append(_ element: Void, to array: inout Int) {}

    @inline(__always)
    mutating func endArray(_ array: Int, end: Int) { close(array, end: end) }

    @inline(__always)
    mutating func beginObject(at offset: Int) -> Int {
        appendLeaf(.object, offset..<offset)
        return nodes.count - 1
    }

    @inline(__always)
    func append(key: Void, value: Void, to object: inout Int) {}

    @inline(__always)
    mutating func endObject(_ object: Int, end: Int) { close(object, end: end) }

    @inline(__always)
    private mutating func close(_ container: Int, end: Int) {
        nodes[container].end = end
        nodes[container].next = nodes.count
    }
}

/// Whether `bytes` are well-formed UTF-8, decided as `String(validating:)` does but without making a string.
func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
    let units = bytes.assumingMemoryBound(to: UInt8.self)
    if #available(macOS 26, *) {
        do {
            _ = try UTF8Span(validating: units.span)
            return true
        } catch {
            return false
        }
    }
    return String(validating: units, as: UTF8.self) != nil
}
