import SwitchyardMessages
import Testing

struct JSONTextWritingTests {
    @Test func escapesQuotesBackslashesAndControlCharacters() {
        #expect(JSONText.quoted("plain") == #""plain""#)
        #expect(JSONText.quoted("") == #""""#)
        #expect(JSONText.quoted("a\"b\\c") == #""a\"b\\c""#)
        #expect(JSONText.quoted("l1\nl2\r\t\u{8}\u{C}") == #""l1\nl2\r\t\b\f""#)
        #expect(JSONText.quoted("\u{0}\u{1}\u{1F}") == #""\u0000\u0001\u001f""#)
        #expect(JSONText.quoted("é😀/\u{7F}") == "\"é😀/\u{7F}\"")
    }

    @Test func everyControlCharacterRoundTripsThroughTheParser() throws {
        var all = ""
        for scalar in 0..<0x20 { all.unicodeScalars.append(Unicode.Scalar(UInt8(scalar))) }
        all += "\"\\ end é 😀"
        let quoted = JSONText.quoted(all)
        #expect(!quoted.utf8.dropFirst().dropLast().contains { $0 < 0x20 })
        #expect(try parseJSON(quoted).get() == .string(all))
    }

    @Test func appendQuotedAppendsToExistingBytes() {
        var out = utf8("x=")
        JSONText.appendQuoted("a\"b", to: &out)
        #expect(text(out) == #"x="a\"b""#)
    }

    @Test func serializesValuesThatParseBackEqual() throws {
        let source = #"{ "a" : [1.50, -0, true, null, "q\"\n😀"], "b":{}, "a":{"n":1e5} }"#
        let value = try parseJSON(source).get()
        let written = text(value.jsonBytes)
        #expect(written == #"{"a":[1.50,-0,true,null,"q\"\n😀"],"b":{},"a":{"n":1e5}}"#)
        #expect(try parseJSON(written).get() == value)
    }
}
