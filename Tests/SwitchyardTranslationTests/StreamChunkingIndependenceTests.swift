import SwitchyardMessages
import SwitchyardTranslation
import Testing

/// The translated stream does not depend on how the upstream's bytes were cut: every fixture split at every
/// byte boundary, fed byte by byte, or fed whole gives the same Anthropic bytes.
struct StreamChunkingIndependenceTests {
    /// Runs `pieces` through the SSE splitter and the translator, feeding each event as soon as it is complete.
    static func translate(pieces: [ArraySlice<UInt8>]) -> [UInt8] {
        var splitter = SSESplitter()
        var events: [SSEEvent] = []
        for piece in pieces { events += splitter.feed(piece) }
        events += splitter.feed(utf8("\n\n"))  // the connection closed
        return runStream(events).output
    }

    @Test(arguments: StreamTranslationGoldenTests.streams)
    func everySplitPointGivesTheSameEvents(_ name: String) throws {
        let bytes = try fixture("streams/\(name).openai.sse")
        let whole = Self.translate(pieces: [bytes[...]])
        #expect(text(whole) == text(try fixture("streams/\(name).anthropic.sse")))
        for cut in 1..<bytes.count {
            let split = Self.translate(pieces: [bytes[..<cut], bytes[cut...]])
            if split != whole {
                Issue.record("\(name): different output when split at byte \(cut)")
                return
            }
        }
        let byteByByte = Self.translate(pieces: bytes.indices.map { bytes[$0...$0] })
        #expect(byteByByte == whole)
    }

    @Test(arguments: StreamTranslationGoldenTests.streams)
    func feedingEventsOneByOneOrAllAtOnceIsTheSame(_ name: String) throws {
        let events = sseEvents(try fixture("streams/\(name).openai.sse"))
        // One translator fed event by event, concatenating what each call returns…
        let incremental = runStream(events).output
        // …equals a fresh translator whose outputs are collected only at the end.
        var translator = OpenAIStreamTranslator(requestedModel: "claude-via-openai", requestID: testRequestID)
        var outputs: [[UInt8]] = []
        for event in events { outputs.append(try translator.feed(data: event.data)) }
        outputs.append(translator.finish())
        #expect(outputs.flatMap { $0 } == incremental)
        // And every returned piece is whole events: it can be written to the client as is.
        for output in outputs where !output.isEmpty {
            #expect(text(output).hasSuffix("\n\n"))
            #expect(text(output).hasPrefix("event: "))
        }
    }
}
