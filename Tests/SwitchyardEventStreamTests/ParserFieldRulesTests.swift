import NIOCore
import SwitchyardEventStream
import Testing

/// How lines become fields and fields become events (WHATWG event-stream interpretation).
@Suite struct ParserFieldRulesTests {
    @Test func exactlyOneSpaceAfterTheColonIsRemoved() throws {
        #expect(try parse("data:x\n\n") == [ServerSentEvent(data: "x")])
        #expect(try parse("data: x\n\n") == [ServerSentEvent(data: "x")])
        #expect(try parse("data:  x \n\n") == [ServerSentEvent(data: " x ")])
        #expect(try parse("data:\tx\n\n") == [ServerSentEvent(data: "\tx")])
    }

    @Test func dataLinesAreJoinedWithNewlines() throws {
        #expect(try parse("data: one\ndata: two\ndata:\ndata: four\n\n") == [
            ServerSentEvent(data: "one\ntwo\n\nfour")
        ])
    }

    @Test func lineWithoutColonIsAFieldWithAnEmptyValue() throws {
        #expect(try parse("data\ndata\n\n") == [ServerSentEvent(data: "\n")])
        #expect(try parse("event\ndata: x\n\n") == [ServerSentEvent(data: "x")])
    }

    @Test func linesWithoutABlankSeparatorBelongToOneEvent() throws {
        // The last name wins and the data lines are joined, as a browser would do.
        let events = try parse("event: content_block_start\ndata: {\"a\":1}\nevent: content_block_delta\ndata: {\"b\":2}\n\n")
        #expect(events == [ServerSentEvent(event: "content_block_delta", data: "{\"a\":1}\n{\"b\":2}")])
    }

    @Test func commentsAreIgnoredAndDoNotSplitEvents() throws {
        let events = try parse(": keep-alive\n\n:\n\ndata: a\n: in the middle\ndata: b\n\n: trailing\n")
        #expect(events == [ServerSentEvent(data: "a\nb")])
    }

    @Test func blankLinesAloneDispatchNothing() throws {
        #expect(try parse("\n\n\r\n\r\r\n").isEmpty)
        #expect(try parse("event:\n\n").isEmpty)  // an empty name is no name
    }

    @Test func anEventWithANameButNoDataIsDispatchedWithEmptyData() throws {
        #expect(try parse("event: ping\n\n") == [ServerSentEvent(event: "ping", data: ByteBuffer())])
    }

    @Test func unknownFieldsAreIgnored() throws {
        #expect(try parse("foo: bar\nData: x\ndata: y\n\n") == [ServerSentEvent(data: "y")])
        #expect(try parse("foo: bar\n\n").isEmpty)
    }

    @Test func idPersistsAcrossEventsUntilChanged() throws {
        let events = try parse("id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\nid\ndata: d\n\n")
        #expect(events.map(\.id) == ["1", "1", "2", nil])
        // An id containing NUL is ignored, leaving the previous one in effect.
        #expect(try parse("id: 7\ndata: a\n\nid: x\u{0}y\ndata: b\n\n").map(\.id) == ["7", "7"])
        // An id-only block sets the id without dispatching anything.
        #expect(try parse("id: 9\n\ndata: a\n\n") == [ServerSentEvent(data: "a", id: "9")])
    }

    @Test func retryAcceptsOnlyDigits() throws {
        var parser = ServerSentEventParser()
        var events: [ServerSentEvent] = []
        try parser.feed(Array("retry: 1500\ndata: a\n\nretry: 15s\ndata: b\n\nretry: 3000\n\n".utf8)) {
            events.append($0)
        }
        #expect(events.map(\.retry) == [1500, nil])
        #expect(parser.reconnectionTime == 3000)
    }

    @Test func eventNamesAndDataKeepUTF8() throws {
        let events = try parse("event: grüße\ndata: {\"text\":\"héllo — 世界 👋\"}\n\n")
        #expect(events.first?.event == "grüße")
        #expect(events.first?.dataString == "{\"text\":\"héllo — 世界 👋\"}")
    }

    @Test func repeatedLongEventNamesAreEqual() throws {
        let text = String(repeating: "event: custom_event_name_longer_than_fifteen\ndata: x\n\n", count: 40)
        let events = try parse(text)
        #expect(events.count == 40)
        #expect(events.allSatisfy { $0.event == "custom_event_name_longer_than_fifteen" })
    }

    @Test func aByteOrderMarkAtTheStartIsIgnored() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("data: a\n\n".utf8)
        #expect(try parse([bytes]).events == [ServerSentEvent(data: "a")])
        #expect(try parse(bytes.map { [$0] }).events == [ServerSentEvent(data: "a")])
    }

    @Test func onlyTheFirstByteOrderMarkIsIgnored() throws {
        // A second BOM makes the first field's name "\u{FEFF}data", which is unknown.
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF] + Array("data: a\n\ndata: b\n\n".utf8)
        #expect(try parse([bytes]).events == [ServerSentEvent(data: "b")])
        // Nor is a BOM later in the stream.
        let later: [UInt8] = Array("data: a\n\n".utf8) + [0xEF, 0xBB, 0xBF] + Array("data: b\n\n".utf8)
        #expect(try parse([later]).events == [ServerSentEvent(data: "a")])
    }

    @Test func aPartialByteOrderMarkBelongsToTheFirstLine() throws {
        // EF BB followed by "data" is a field named "\u{EF}\u{BB}data": ignored, not a data line.
        let bytes: [UInt8] = [0xEF, 0xBB] + Array("data: a\n\ndata: b\n\n".utf8)
        #expect(try parse([bytes]).events == [ServerSentEvent(data: "b")])
        #expect(try parse(bytes.map { [$0] }).events == [ServerSentEvent(data: "b")])
    }
}
