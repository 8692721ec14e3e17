import NIOCore
import SwitchyardEventStream
import Testing

/// A stream that ends mid-event is reported, never dispatched; an oversized event is refused.
@Suite struct ParserTruncationAndLimitTests {
    @Test(arguments: [
        ("", false),
        ("data: a\n\n", false),
        ("data: a\n\n: comment\n", false),
        ("data: a\n\n\n\n", false),
        ("data: a\r", true),
        ("data: a\n", true),
        ("data: a\r\n", true),
        ("data: a", true),
        ("d", true),
        ("event: message_stop\n", true),
        ("id: 5\n", true),
        ("data: a\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n", true),
        ("data: a\n\n:", true),
    ])
    func partialEventFlagReflectsWhetherTheStreamEndedMidEvent(_ text: String, _ partial: Bool) throws {
        let (events, parser) = try parse([Array(text.utf8)])
        #expect(parser.hasPartialEvent == partial)
        // The trailing fragment is never dispatched, whatever the flag says.
        #expect(events.count == (text.hasPrefix("data: a\n\n") ? 1 : 0))
    }

    @Test func aPartialByteOrderMarkAtTheEndIsAPartialEvent() throws {
        #expect(try parse([[0xEF, 0xBB]]).parser.hasPartialEvent)
        #expect(try !parse([[0xEF, 0xBB, 0xBF]]).parser.hasPartialEvent)
    }

    @Test func aTruncatedAnthropicStreamIsFlaggedAtEveryCut() throws {
        let bytes = anthropicStreamBytes(.lf)
        // The offsets right after a blank line or a complete comment line: the only places where the stream is
        // not mid-event (an unterminated line, even a comment, counts as partial).
        var boundaries = Set<Int>()
        for index in bytes.indices.dropFirst() where bytes[index] == 0x0A && bytes[index - 1] == 0x0A {
            boundaries.insert(index + 1)
        }
        let comment = Array(": keep-alive\n".utf8)
        for start in bytes.indices where bytes[start...].starts(with: comment) {
            boundaries.insert(start + comment.count)
        }
        #expect(boundaries.count == anthropicStreamEvents.count + 2)
        for cut in 1..<bytes.count {
            let (events, parser) = try parse([Array(bytes[..<cut])])
            #expect(parser.hasPartialEvent == !boundaries.contains(cut), "cut at byte \(cut)")
            #expect(events == Array(anthropicExpectedEvents.prefix(events.count)))
        }
    }

    @Test func oneDataLineOverTheLimitThrows() throws {
        let line = "data: " + String(repeating: "x", count: 65) + "\n\n"
        #expect(throws: SSEError.eventTooLarge) { try parse([Array(line.utf8)], maximumEventSize: 64) }
        let atLimit = "data: " + String(repeating: "x", count: 64) + "\n\n"
        #expect(try parse([Array(atLimit.utf8)], maximumEventSize: 64).events.first?.data.readableBytes == 64)
    }

    @Test func manyDataLinesTogetherOverTheLimitThrow() throws {
        let text = String(repeating: "data: 0123456789\n", count: 6) + "\n"  // 6×10 + 5 separators = 65
        #expect(throws: SSEError.eventTooLarge) { try parse([Array(text.utf8)], maximumEventSize: 64) }
        #expect(try parse([Array(text.utf8)], maximumEventSize: 65).events.count == 1)
    }

    @Test func anUnterminatedLineIsRefusedBeforeItsEnd() throws {
        // A line with no end in sight, arriving in small chunks, must not be buffered without bound.
        var parser = ServerSentEventParser(maximumEventSize: 1024)
        var fed = 0
        let error = #expect(throws: SSEError.self) {
            while fed < 1_000_000 {
                try parser.feed(Array(repeating: UInt8(ascii: "x"), count: 100)) { _ in }
                fed += 100
            }
        }
        #expect(error == .eventTooLarge)
        #expect(fed <= 1024)
    }

    @Test func theLimitAppliesPerEventNotPerStream() throws {
        let event = "data: " + String(repeating: "y", count: 50) + "\n\n"
        let text = String(repeating: event, count: 100)
        #expect(try parse([Array(text.utf8)], maximumEventSize: 64).events.count == 100)
        #expect(try parse(Array(text.utf8).map { [$0] }, maximumEventSize: 64).events.count == 100)
    }

    @Test func anErrorThrownByTheCallbackStopsParsing() throws {
        struct Stop: Error {}
        var parser = ServerSentEventParser()
        var seen = 0
        #expect(throws: Stop.self) {
            try parser.feed(Array("data: a\n\ndata: b\n\n".utf8)) { _ in
                seen += 1
                throw Stop()
            }
        }
        #expect(seen == 1)
    }
}
