/// A skim tree (see ``SkimNode``) and the body it points into. Both are borrowed: a `SkimTree` and the values read
/// through it are only valid inside the closure that provides them (``RequestBody/skim(_:_:)``).
struct SkimTree {
    let body: UnsafeRawBufferPointer
    let nodes: UnsafeBufferPointer<SkimNode>

    /// Checks `body` in full (as ``RequestBody/skim(_:_:)`` does), then hands its root value to `read`; `nil` when
    /// `body` is not JSON. For answers and events of which only a few fields are read.
    static func withRoot<Result>(of body: UnsafeRawBufferPointer, _ read: (SkimValue) -> Result) -> Result? {
        var parser = ByteJSONParser(body, builder: SkimTreeBuilder(capacity: body.count / 32 + 8), recordTopLevelMembers: false)
        do throws(JSONSyntaxError) {
            try parser.parseDocument()
        } catch {
            return nil
        }
        return parser.builder.nodes.withUnsafeBufferPointer { nodes in
            read(SkimValue(tree: SkimTree(body: body, nodes: nodes), index: 0))
        }
    }

    /// Parses `body[range]`, a value the grammar has already accepted, into the full tree.
    func fullValue(at range: Range<Int>) -> JSONValue {
        do throws(JSONSyntaxError) {
            return try JSONParser.parse(UnsafeRawBufferPointer(rebasing: body[range]))
        } catch {
            // Unreachable: the skim parse ran the same grammar code over these bytes.
            preconditionFailure("a value accepted by the skim parse failed to parse: \(error)")
        }
    }
}

/// A value of a skim tree.
struct SkimValue: JSONTreeValue {
    let tree: SkimTree
    let index: Int

    private var node: SkimNode { tree.nodes[index] }

    private var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: tree.body[node.start..<node.end])
    }

    var isNull: Bool { node.kind == .null }

    var boolValue: Bool? {
        switch node.kind {
        case .true: true
        case .false: false
        default: nil
        }
    }

    var intValue: Int? {
        guard node.kind == .number else { return nil }
        return JSONValue.exactInteger(bytes)
    }

    var doubleValue: Double? {
        guard node.kind == .number else { return nil }
        return Double(String(decoding: bytes, as: UTF8.self))
    }

    var stringValue: SkimString? {
        node.kind == .string ? SkimString(tree: tree, index: index) : nil
    }

    var objectValue: SkimObject? {
        node.kind == .object ? SkimObject(tree: tree, index: index) : nil
    }

    var arrayValue: SkimArray? {
        node.kind == .array ? SkimArray(tree: tree, index: index) : nil
    }
}

/// An object of a skim tree. Keys are compared as bytes, and decoded only when they hold escapes or non-ASCII.
struct SkimObject: JSONTreeObject {
    let tree: SkimTree
    let index: Int

    subscript(key: String) -> SkimValue? {
        assert(key.utf8.allSatisfy { $0 < 0x80 }, "skim lookups take ASCII field names")
        var found: Int?
        var member = index + 1
        let end = tree.nodes[index].next
        var key = key
        key.withUTF8 { keyBytes in
            while member < end {
                let value = member + 1
                if SkimString(tree: tree, index: member).equals(asciiKey: UnsafeRawBufferPointer(keyBytes)) {
                    found = value
                }
                member = tree.nodes[value].next
            }
        }
        return found.map { SkimValue(tree: tree, index: $0) }
    }

    var keys: SkimKeys { SkimKeys(tree: tree, object: index) }

    var jsonObject: JSONObject {
        let node = tree.nodes[index]
        guard case .object(let object) = tree.fullValue(at: node.start..<node.end) else {
            preconditionFailure("a skim object is not an object")
        }
        return object
    }
}

/// The keys of a skim object, in document order.
struct SkimKeys: Sequence, IteratorProtocol {
    let tree: SkimTree
    private var member: Int
    private let end: Int

    init(tree: SkimTree, object: Int) {
        self.tree = tree
        self.member = object + 1
        self.end = tree.nodes[object].next
    }

    mutating func next() -> SkimString? {
        guard member < end else { return nil }
        let key = SkimString(tree: tree, index: member)
        member = tree.nodes[member + 1].next
        return key
    }
}

/// An array of a skim tree; its indices are node indices.
struct SkimArray: Collection {
    let tree: SkimTree
    let index: Int

    var startIndex: Int { index + 1 }
    var endIndex: Int { tree.nodes[index].next }
    func index(after i: Int) -> Int { tree.nodes[i].next }
    subscript(position: Int) -> SkimValue { SkimValue(tree: tree, index: position) }
}

/// A string of a skim tree: validated, decoded only on demand.
struct SkimString: JSONTreeString {
    let tree: SkimTree
    let index: Int

    private var node: SkimNode { tree.nodes[index] }

    /// The content as written (escapes not decoded).
    private var content: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: tree.body[node.start..<node.end])
    }

    /// Every escape stands for at least one character, so the content is empty exactly when the text is.
    var isEmpty: Bool { node.start == node.end }

    var decoded: String {
        let node = self.node
        guard node.isEscaped else { return String(decoding: content, as: UTF8.self) }
        // With its quotes, the string is a JSON document.
        guard case .string(let string) = tree.fullValue(at: node.start - 1..<node.end + 1) else {
            preconditionFailure("a skim string is not a string")
        }
        return string
    }

    func equals(_ literal: StaticString) -> Bool {
        // `withUTF8Buffer`, not `utf8Start`, which traps for a literal of one Unicode scalar.
        literal.withUTF8Buffer { literalBytes in
            guard literal.isASCII else { return decoded == String(decoding: literalBytes, as: UTF8.self) }
            return equals(asciiKey: UnsafeRawBufferPointer(literalBytes))
        }
    }

    /// Whether the decoded text equals the ASCII text `ascii`. Plain ASCII content is compared as bytes; anything
    /// else is decoded and compared as a `String`, which may find a non-ASCII text equal (U+212A KELVIN SIGN is "K").
    func equals(asciiKey ascii: UnsafeRawBufferPointer) -> Bool {
        let node = self.node
        guard !node.isEscaped, node.isASCII else { return decoded == String(decoding: ascii, as: UTF8.self) }
        guard node.end - node.start == ascii.count else { return false }
        return content.elementsEqual(ascii)
    }
}
