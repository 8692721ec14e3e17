/// A parsed JSON value as ``RequestChecker`` reads it: a ``JSONValue`` of the full tree, or a ``SkimValue`` that
/// only points into the body. The members are named like ``JSONValue``'s, which conforms as it is.
protocol JSONTreeValue {
    associatedtype Text: JSONTreeString
    associatedtype Object: JSONTreeObject where Object.Value == Self
    associatedtype Elements: Collection where Elements.Element == Self

    var isNull: Bool { get }
    var boolValue: Bool? { get }
    /// The number, only for an integral literal that fits in `Int` (see ``JSONValue/intValue``).
    var intValue: Int? { get }
    var doubleValue: Double? { get }
    var stringValue: Text? { get }
    var objectValue: Object? { get }
    var arrayValue: Elements? { get }
}

/// An object of a ``JSONTreeValue`` tree.
protocol JSONTreeObject {
    associatedtype Value: JSONTreeValue where Value.Object == Self
    associatedtype Keys: Sequence where Keys.Element == Value.Text

    /// The value of the last member named `key` (an ASCII field name), or `nil`.
    subscript(key: String) -> Value? { get }
    /// The keys in document order, duplicates included.
    var keys: Keys { get }
    /// The object as a full ``JSONObject``.
    var jsonObject: JSONObject { get }
}

/// A string of a ``JSONTreeValue`` tree. Comparisons follow `String` equality, as on the decoded text.
protocol JSONTreeString {
    var isEmpty: Bool { get }
    /// The decoded text.
    var decoded: String { get }
    /// Whether the decoded text equals `literal`.
    func equals(_ literal: StaticString) -> Bool
}

/// Lets a ``JSONTreeString`` be matched against string literals in a `switch`.
func ~= <Text: JSONTreeString>(pattern: StaticString, value: Text) -> Bool {
    value.equals(pattern)
}

extension JSONValue: JSONTreeValue {}

extension JSONObject: JSONTreeObject {
    var jsonObject: JSONObject { self }
}

extension String: JSONTreeString {
    var decoded: String { self }

    func equals(_ literal: StaticString) -> Bool {
        // `withUTF8Buffer`, not `utf8Start`, which traps for a literal of one Unicode scalar.
        literal.withUTF8Buffer { literalBytes in
            var string = self
            return string.withUTF8 { bytes in
                if bytes.elementsEqual(literalBytes) { return true }
                // Different bytes can still be equal strings (canonical equivalence) unless both sides are ASCII.
                if literal.isASCII, bytes.allSatisfy({ $0 < 0x80 }) { return false }
                return self == String(decoding: literalBytes, as: UTF8.self)
            }
        }
    }
}
