import NIOCore
import SwitchyardEventStream
import Testing

/// What the writers put on the wire, and that the parser reads it back.
@Suite struct WriterRoundTripTests {
    @Test func anEventIsWrittenAsNameDataAndBlankLine() {
        var buffer = ByteBuffer()
        let written = buffer.writeServerSentEvent(event: "ping", data: #"{"type":"ping"}"#)
        #expect(String(buffer: buffer) == "event: ping\ndata: {\"type\":\"ping\"}\n\n")
        #expect(written == buffer.readableBytes)
    }

    @Test func anUnnamedEventHasNoEventLine() {
        var buffer = ByteBuffer()
        buffer.writeServerSentEvent(data: Array("[DONE]".utf8))
        #expect(String(buffer: buffer) == "data: [DONE]\n\n")
    }

    @Test func dataWithLineBreaksBecomesSeveralDataLines() {
        var buffer = ByteBuffer()
        buffer.writeServerSentEvent(event: "e", data: "a\nb\r\nc\rd")
        #expect(String(buffer: buffer) == "event: e\ndata: a\ndata: b\ndata: c\ndata: d\n\n")
    }

    @Test func aCommentIsColonSpaceTextAndBlankLine() {
        var buffer = ByteBuffer()
        let written = buffer.writeServerSentEventComment("keep-alive")
        #expect(String(buffer: buffer) == ": keep-alive\n\n")
        #expect(written == 14)
        var multi = ByteBuffer()
        multi.writeServerSentEventComment("one\ntwo")
        #expect(String(buffer: multi) == ": one\n: two\n\n")
    }

    @Test func writtenEventsRoundTripThroughTheParser() throws {
        let cases: [(String?, String)] = [
            ("message_start", #"{"type":"message_start"}"#),
            (nil, "plain"),
            ("multi", "line one\nline two\n\nline four"),
            ("trailing", "ends with newline\n"),
            ("empty", ""),
            ("spaces", "  leading and trailing  "),
            ("colon", ": looks like a comment"),
            ("unicode", "héllo — 世界 👋"),
        ]
        var buffer = ByteBuffer()
        for (name, data) in cases {
            buffer.writeServerSentEvent(event: name, data: data)
            buffer.writeServerSentEventComment("between events")
        }
        // Through the byte-collection overload too, with a non-contiguous collection.
        buffer.writeServerSentEvent(event: "bytes", data: Array("x\ny".utf8).lazy.map { $0 })
        var parser = ServerSentEventParser()
        var events: [ServerSentEvent] = []
        try parser.feed(buffer) { events.append($0) }
        let expected = cases.map { ServerSentEvent(event: $0.0, data: $0.1) } + [ServerSentEvent(event: "bytes", data: "x\ny")]
        #expect(events == expected)
        #expect(!parser.hasPartialEvent)
    }

    @Test func carriageReturnsInDataComeBackAsNewlines() throws {
        var buffer = ByteBuffer()
        buffer.writeServerSentEvent(event: "e", data: "a\r\nb\rc")
        var parser = ServerSentEventParser()
        var events: [ServerSentEvent] = []
        try parser.feed(buffer) { events.append($0) }
        #expect(events == [ServerSentEvent(event: "e", data: "a\nb\nc")])
    }
}
