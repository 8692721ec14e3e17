/// A parsed JSON value.
///
/// Numbers keep their literal text exactly as written, so that integers are recognised exactly and a value can be
/// written back without any change of representation; use ``doubleValue`` and ``intValue`` to read them.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number, as its literal text (grammar-checked by ``JSONParser``).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// A number value from an integer.
    public static func integer(_ value: Int) -> JSONValue { .number(String(value)) }

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The boolean, if this is `true` or `false`.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The object, if this is an object.
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// Whether this is `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The number as a `Double`, if this is a number (integers beyond 2^53 are rounded).
    public var doubleValue: Double? {
        if case .number(let text) = self { return Double(text) }
        return nil
    }

    /// The number as an `Int`, only for an integral literal (no fraction, no exponent) that fits in `Int`.
    /// `1`, `-0` and `9223372036854775807` qualify; `1.0`, `1e3` and `9223372036854775808` do not.
    public var intValue: Int? {
        guard case .number(let text) = self else { return nil }
        return Self.exactInteger(text.utf8)
    }

    /// Parses the UTF-8 text `-?[0-9]+` exactly, with overflow detection.
    static func exactInteger(_ text: some Sequence<UInt8>) -> Int? {
        var utf8 = text.makeIterator()
        guard var byte = utf8.next() else { return nil }
        let negative = byte == UInt8(ascii: "-")
        if negative {
            guard let next = utf8.next() else { return nil }
            byte = next
        }
        var result = 0
        while true {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let digit = Int(byte &- UInt8(ascii: "0"))
            let (times10, o1) = result.multipliedReportingOverflow(by: 10)
            // Accumulate negatively so that Int.min is representable.
            let (next, o2) = negative ? times10.subtractingReportingOverflow(digit) : times10.addingReportingOverflow(digit)
            if o1 || o2 { return nil }
            result = next
            guard let following = utf8.next() else { return result }
            byte = following
        }
    }

    /// The member `key`, if this is an object that has it (see ``JSONObject/subscript(_:)`` for duplicates).
    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// The compact JSON text of this value (numbers are written as their original literal).
    public var jsonBytes: [UInt8] {
        var out: [UInt8] = []
        JSONText.append(self, to: &out)
        return out
    }
}

/// A JSON object with its members in document order.
///
/// Duplicate keys are kept (JSON allows them). Lookup by key is **last-wins**, like `JSON.parse` in JavaScript and
/// Python's `json` module, so the value a gateway validates is the value a typical upstream would read.
public struct JSONObject: Sendable, Equatable {
    /// The members in document order, duplicates included.
    public var members: [(key: String, value: JSONValue)]

    /// An object with the given members.
    public init(_ members: [(key: String, value: JSONValue)] = []) {
        self.members = members
    }

    /// The value of the last member named `key`, or `nil`.
    public subscript(key: String) -> JSONValue? {
        var index = members.endIndex
        while index > members.startIndex {
            index -= 1
            if members[index].key == key { return members[index].value }
        }
        return nil
    }

    /// The keys in document order, duplicates included.
    public var keys: [String] { members.map(\.key) }

    /// The number of members, duplicates included.
    public var count: Int { members.count }

    /// Whether the object has no members.
    public var isEmpty: Bool { members.isEmpty }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.members.count == rhs.members.count else { return false }
        for (l, r) in zip(lhs.members, rhs.members) where l.key != r.key || l.value != r.value {
            return false
        }
        return true
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.members = elements.map { (key: $0.0, value: $0.1) }
    }
}
