import SwitchyardMessages
import Testing

struct JSONParserConformanceTests {
    @Test(arguments: [
        ("null", JSONValue.null),
        ("true", .bool(true)),
        (" false ", .bool(false)),
        ("0", .number("0")),
        ("-0", .number("-0")),
        ("1.50", .number("1.50")),
        ("-1E-2", .number("-1E-2")),
        ("1e+2", .number("1e+2")),
        ("12345678901234567890123", .number("12345678901234567890123")),
        (#""x""#, .string("x")),
        ("[]", .array([])),
        ("{}", .object([:])),
        ("\t[ 1 ,\r\n2 ]\n", .array([.number("1"), .number("2")])),
        (#"{"a":{"b":[null,true]},"c":"d"}"#, .object(["a": .object(["b": .array([.null, .bool(true)])]), "c": .string("d")])),
        (#""\"\\\/\b\f\n\r\t""#, .string("\"\\/\u{8}\u{C}\n\r\t")),
        (#""\u0000\u001f\u00e9\u20AC""#, .string("\u{0}\u{1F}é€")),
        (#""é😀 raw""#, .string("é😀 raw")),
        ("\"del\u{7F}\"", .string("del\u{7F}")),
        (#""a\nb" "#, .string("a\nb")),
        (#"["", {}, [], [[]]]"#, .array([.string(""), .object([:]), .array([]), .array([.array([])])])),
    ])
    func parsesValidDocuments(input: String, expected: JSONValue) throws {
        #expect(try parseJSON(input).get() == expected)
        // The raw-buffer entry point agrees with the array one.
        #expect(try parseJSON(bytes: utf8(input)).get() == expected)
    }

    @Test(arguments: [
        ("", 0),
        ("   ", 3),
        ("01", 1),
        ("-01", 2),
        ("1.", 2),
        (".5", 0),
        ("+1", 0),
        ("1e", 2),
        ("1e+", 3),
        ("-", 1),
        ("-a", 1),
        ("[1,]", 3),
        ("[,1]", 1),
        ("[1 2]", 3),
        ("[1", 2),
        (#"{"a":1,}"#, 7),
        (#"{"a" 1}"#, 5),
        (#"{"a":}"#, 5),
        ("{a:1}", 1),
        (#"{"a":1"#, 6),
        (#"{"a":1 "b":2}"#, 7),
        (#""abc"#, 0),
        (#""\x""#, 2),
        (#""\u12G4""#, 5),
        (#""\u12""#, 3),
        (#""abc\"#, 0),
        ("tru", 0),
        ("trUe", 2),
        ("nul", 0),
        ("nulls", 4),
        ("[1] x", 4),
        (#"{"a":1}}"#, 7),
        ("NaN", 0),
        ("Infinity", 0),
        ("-Infinity", 1),
        ("'a'", 0),
        ("\u{FEFF}{}", 0),
        ("[1]\u{0}", 3),
    ])
    func rejectsInvalidDocumentsAtTheRightOffset(input: String, offset: Int) {
        guard case .failure(let error) = parseJSON(input) else {
            Issue.record("accepted invalid JSON \(input.debugDescription)")
            return
        }
        #expect(error.offset == offset, "\(input.debugDescription): \(error)")
        #expect(!error.reason.isEmpty)
    }

    @Test(arguments: [
        [UInt8(ascii: "\""), 0x01, UInt8(ascii: "\"")],           // raw control character
        [UInt8(ascii: "\""), 0x0A, UInt8(ascii: "\"")],           // raw newline
        [UInt8(ascii: "\""), 0x09, UInt8(ascii: "\"")],           // raw tab
        [UInt8(ascii: "\""), 0xC3, 0x28, UInt8(ascii: "\"")],     // broken 2-byte sequence
        [UInt8(ascii: "\""), 0xC0, 0x80, UInt8(ascii: "\"")],     // overlong NUL
        [UInt8(ascii: "\""), 0xED, 0xA0, 0x80, UInt8(ascii: "\"")],  // UTF-8-encoded surrogate
        [UInt8(ascii: "\""), 0xFF, UInt8(ascii: "\"")],
        [UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "n"), 0xE2, 0x82, UInt8(ascii: "\"")],  // escape + truncated €
    ])
    func rejectsControlCharactersAndInvalidUTF8InStrings(bytes: [UInt8]) {
        guard case .failure(let error) = parseJSON(bytes: bytes) else {
            Issue.record("accepted \(bytes)")
            return
        }
        #expect(error.offset >= 1)
    }

    @Test(arguments: [
        (#""\ud83d\ude00""#, "😀"),
        (#""\uD83D\uDE00!""#, "😀!"),
        (#""a\uD834\uDD1Eb""#, "a𝄞b"),
        (#""\ud83d""#, "\u{FFFD}"),
        (#""\ud83dx""#, "\u{FFFD}x"),
        (#""\ud83d\u0041""#, "\u{FFFD}A"),
        (#""\ude00x""#, "\u{FFFD}x"),
        (#""\ud83d\ud83d\ude00""#, "\u{FFFD}😀"),
        (#""\ud83d\n""#, "\u{FFFD}\n"),
    ])
    func combinesSurrogatePairsAndReplacesLoneSurrogates(input: String, expected: String) throws {
        #expect(try parseJSON(input).get() == .string(expected))
    }

    @Test func acceptsNestingUpToTheLimitAndRejectsDeeper() {
        let limit = JSONParser.maxDepth
        let deepestArray = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect((try? parseJSON(deepestArray).get()) != nil)

        let tooDeepArray = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        guard case .failure(let error) = parseJSON(tooDeepArray) else {
            Issue.record("accepted nesting deeper than the limit")
            return
        }
        #expect(error.offset == limit)

        let tooDeepObject = String(repeating: #"{"a":"#, count: limit + 1) + "1" + String(repeating: "}", count: limit + 1)
        guard case .failure(let objectError) = parseJSON(tooDeepObject) else {
            Issue.record("accepted object nesting deeper than the limit")
            return
        }
        #expect(objectError.offset == limit * 5)
    }

    @Test func survivesHostileNestingWithoutCrashing() {
        let hostile = String(repeating: "[{\"k\":", count: 50_000)
        guard case .failure(let error) = parseJSON(hostile) else {
            Issue.record("accepted an unterminated hostile document")
            return
        }
        #expect(error.reason.contains("nesting"))
    }

    @Test(arguments: [
        ("0", 0 as Int?),
        ("-0", 0),
        ("42", 42),
        ("-17", -17),
        ("9223372036854775807", Int.max),
        ("-9223372036854775808", Int.min),
        ("9223372036854775808", nil),
        ("-9223372036854775809", nil),
        ("1.0", nil),
        ("1e3", nil),
        ("10E0", nil),
        ("-0.0", nil),
    ])
    func recognisesIntegersExactly(literal: String, expected: Int?) throws {
        let value = try parseJSON(literal).get()
        #expect(value.intValue == expected)
        #expect(value.doubleValue != nil)
    }

    @Test func keepsNumberTextAndReadsDoubles() throws {
        let value = try parseJSON("[1.50, -2.5e3, 1E400, 0.1]").get()
        let numbers = try #require(value.arrayValue)
        #expect(numbers[0] == .number("1.50"))
        #expect(numbers[0].doubleValue == 1.5)
        #expect(numbers[1].doubleValue == -2500)
        #expect(numbers[2].doubleValue == .infinity)
        #expect(numbers[3].doubleValue == 0.1)
        #expect(JSONValue.string("1").doubleValue == nil)
        #expect(JSONValue.string("1").intValue == nil)
    }

    @Test func keepsDuplicateKeysInOrderAndLooksUpTheLastOne() throws {
        let value = try parseJSON(#"{"a":1,"b":2,"a":3}"#).get()
        let object = try #require(value.objectValue)
        #expect(object.keys == ["a", "b", "a"])
        #expect(object["a"] == .number("3"))
        #expect(object["b"] == .number("2"))
        #expect(object["zzz"] == nil)
        #expect(value["a"]?.intValue == 3)
    }

    @Test func decodesEscapedKeys() throws {
        let value = try parseJSON(#"{"mod\u0065l":"x","\"q\"":1}"#).get()
        #expect(value["model"] == .string("x"))
        #expect(value["\"q\""] == .number("1"))
    }

    @Test func parsesALargeStringWithEscapesSpreadThroughout() throws {
        var body = "\""
        var expected = ""
        for i in 0..<5_000 {
            body += "chunk \(i) \\\"quoted\\\" é \\u00e9 \\ud83d\\ude00\\n"
            expected += "chunk \(i) \"quoted\" é é 😀\n"
        }
        body += "\""
        #expect(try parseJSON(body).get() == .string(expected))
    }
    /// Strings are scanned eight bytes at a time: a special byte must be found at every position of a word.
    @Test func findsSpecialBytesAtEveryPositionOfAScannedWord() throws {
        for prefix in 0..<20 {
            let lead = String(repeating: "a", count: prefix)
            let trail = String(repeating: "b", count: 11)
            #expect(try parseJSON("\"\(lead)\"").get() == .string(lead))
            #expect(try parseJSON("\"\(lead)\\n\(trail)\"").get() == .string(lead + "\n" + trail))
            #expect(try parseJSON("\"\(lead)é\(trail)\"").get() == .string(lead + "é" + trail))
            #expect(try parseJSON("[\"\(lead)\",\"\(trail)\"]").get() == .array([.string(lead), .string(trail)]))

            var control = utf8("\"\(lead)\(trail)\"")
            control[1 + prefix] = 0x1F
            guard case .failure(let controlError) = parseJSON(bytes: control) else {
                Issue.record("accepted a control character after \(prefix) bytes")
                continue
            }
            #expect(controlError.offset == 1 + prefix)

            var broken = utf8("\"\(lead)\(trail)\"")
            broken[1 + prefix] = 0xC3  // a lead byte followed by ASCII
            guard case .failure(let utf8Error) = parseJSON(bytes: broken) else {
                Issue.record("accepted invalid UTF-8 after \(prefix) bytes")
                continue
            }
            #expect(utf8Error.reason.contains("UTF-8"))

            var escapedThenBroken = utf8("\"\\t\(lead)\(trail)\"")
            escapedThenBroken[3 + prefix] = 0xFF
            guard case .failure = parseJSON(bytes: escapedThenBroken) else {
                Issue.record("accepted invalid UTF-8 after an escape and \(prefix) bytes")
                continue
            }
        }
    }
}
