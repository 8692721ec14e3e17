import NIOCore
import SwitchyardEventStream
import Testing

/// Chunk boundaries carry no meaning: every way of cutting a stream yields the same events.
@Suite struct ParserChunkBoundaryTests {
    @Test(arguments: LineEnding.allCases)
    func wholeAnthropicStreamYieldsEveryEventInOrder(_ ending: LineEnding) throws {
        let (events, parser) = try parse([anthropicStreamBytes(ending)])
        #expect(events == anthropicExpectedEvents)
        #expect(events.map(\.event) == anthropicStreamEvents.map(\.name))
        #expect(!parser.hasPartialEvent)
    }

    @Test(arguments: LineEnding.allCases)
    func splittingAtEveryByteBoundaryYieldsTheSameEvents(_ ending: LineEnding) throws {
        let bytes = anthropicStreamBytes(ending)
        for cut in 0...bytes.count {
            let (events, parser) = try parse([Array(bytes[..<cut]), Array(bytes[cut...])])
            #expect(events == anthropicExpectedEvents, "cut at byte \(cut)")
            #expect(!parser.hasPartialEvent, "cut at byte \(cut)")
        }
    }

    @Test(arguments: LineEnding.allCases)
    func feedingOneByteAtATimeYieldsTheSameEvents(_ ending: LineEnding) throws {
        let bytes = anthropicStreamBytes(ending)
        let (events, parser) = try parse(bytes.map { [$0] })
        #expect(events == anthropicExpectedEvents)
        #expect(!parser.hasPartialEvent)
    }

    @Test(arguments: LineEnding.allCases)
    func randomChunkingsYieldTheSameEvents(_ ending: LineEnding) throws {
        let bytes = anthropicStreamBytes(ending)
        var generator = SplitMix64(seed: 0x5EED)
        for _ in 0..<200 {
            var chunks: [[UInt8]] = []
            var offset = 0
            while offset < bytes.count {
                let length = min(Int(generator.next() % 97), bytes.count - offset)  // includes empty chunks
                chunks.append(Array(bytes[offset..<(offset + length)]))
                offset += length
            }
            #expect(try parse(chunks).events == anthropicExpectedEvents)
        }
    }

    @Test func crAtTheEndOfAChunkAndLfAtTheStartOfTheNextAreOneLineEnd() throws {
        // Were CR and LF two line ends, the LF would be a blank line dispatching "a" on its own.
        let split = try parse([Array("data: a\r".utf8), Array("\ndata: b\r\n\r\n".utf8)]).events
        #expect(split == [ServerSentEvent(data: "a\nb")])

        // An empty chunk in between does not forget the pending CR.
        let withEmpty = try parse([Array("data: a\r".utf8), [], Array("\ndata: b\r\n\r\n".utf8)]).events
        #expect(withEmpty == [ServerSentEvent(data: "a\nb")])

        // The blank line itself split as CR | LF dispatches exactly once.
        let blank = try parse([Array("data: a\r\n\r".utf8), Array("\nevent: x\r\n\r\n".utf8)]).events
        #expect(blank == [ServerSentEvent(data: "a"), ServerSentEvent(event: "x")])
    }

    @Test func loneCarriageReturnsEndLines() throws {
        #expect(try parse("data: a\rdata: b\r\rdata: c\r\r") == [
            ServerSentEvent(data: "a\nb"), ServerSentEvent(data: "c"),
        ])
    }

    @Test func singleLineDataIsASliceOfTheChunkNotACopy() throws {
        let chunk = ByteBuffer(string: "event: message_delta\ndata: {\"usage\":{\"output_tokens\":89}}\n\n")
        var parser = ServerSentEventParser()
        var dataAddress: UInt? = nil
        try parser.feed(chunk) { event in
            dataAddress = event.data.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        }
        let chunkRange = chunk.withUnsafeReadableBytes {
            UInt(bitPattern: $0.baseAddress)..<(UInt(bitPattern: $0.baseAddress) + UInt($0.count))
        }
        let address = try #require(dataAddress)
        #expect(chunkRange.contains(address))
    }
}

/// A small deterministic generator so random chunkings are reproducible.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
