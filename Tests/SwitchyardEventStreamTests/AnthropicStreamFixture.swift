import NIOCore
import SwitchyardEventStream
import Testing

/// The event sequence of WIRE.md §4.5 (a thinking block, a text block and a tool call), as (name, data) pairs.
let anthropicStreamEvents: [(name: String, data: String)] = [
    ("message_start", #"{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}"#),
    ("ping", #"{"type":"ping"}"#),
    ("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#),
    ("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me …"}}"#),
    ("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQB…"}}"#),
    ("content_block_stop", #"{"type":"content_block_stop","index":0}"#),
    ("content_block_start", #"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#),
    ("content_block_delta", #"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Checking the weather"}}"#),
    ("content_block_stop", #"{"type":"content_block_stop","index":1}"#),
    ("content_block_start", #"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{}}}"#),
    ("content_block_delta", #"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Par"}}"#),
    ("content_block_delta", #"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"is\"}"}}"#),
    ("content_block_stop", #"{"type":"content_block_stop","index":2}"#),
    ("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}"#),
    ("message_stop", #"{"type":"message_stop"}"#),
]

/// The events the parser must produce for ``anthropicStreamEvents``.
let anthropicExpectedEvents: [ServerSentEvent] = anthropicStreamEvents.map {
    ServerSentEvent(event: $0.name, data: $0.data)
}

/// The line endings a server may use.
enum LineEnding: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case lf = "\n"
    case crlf = "\r\n"
    case cr = "\r"

    var testDescription: String {
        switch self {
        case .lf: "LF"
        case .crlf: "CRLF"
        case .cr: "CR"
        }
    }
}

/// The §4.5 stream as the upstream sends it, with a keep-alive comment after `ping`, in the given line ending.
func anthropicStreamBytes(_ ending: LineEnding) -> [UInt8] {
    var text = ""
    for (index, event) in anthropicStreamEvents.enumerated() {
        text += "event: \(event.name)\(ending.rawValue)data: \(event.data)\(ending.rawValue)\(ending.rawValue)"
        if index == 1 {
            text += ": keep-alive\(ending.rawValue)\(ending.rawValue)"
        }
    }
    return Array(text.utf8)
}

/// Feeds `chunks` in order to a fresh parser and returns the events and the parser.
func parse(
    _ chunks: [[UInt8]],
    maximumEventSize: Int = ServerSentEventParser.defaultMaximumEventSize
) throws -> (events: [ServerSentEvent], parser: ServerSentEventParser) {
    var parser = ServerSentEventParser(maximumEventSize: maximumEventSize)
    var events: [ServerSentEvent] = []
    for chunk in chunks {
        try parser.feed(chunk) { events.append($0) }
    }
    return (events, parser)
}

/// Parses a whole stream given as text, in one chunk.
func parse(_ text: String) throws -> [ServerSentEvent] {
    try parse([Array(text.utf8)]).events
}
