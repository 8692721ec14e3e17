import Foundation
import SwitchyardMessages
import SwitchyardTranslation
import Testing

/// The UTF-8 bytes of `text`.
func utf8(_ text: String) -> [UInt8] { Array(text.utf8) }

/// The text of `bytes`.
func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// Errors of the test helpers themselves.
struct TestFailure: Error, CustomStringConvertible {
    let description: String
}

/// The bytes of `Fixtures/<path>`.
func fixture(_ path: String) throws -> [UInt8] {
    guard let root = Bundle.module.resourceURL?.appendingPathComponent("Fixtures") else {
        throw TestFailure(description: "no resource bundle")
    }
    return Array(try Data(contentsOf: root.appendingPathComponent(path)))
}

/// Parses JSON bytes.
func json(_ bytes: [UInt8]) throws -> JSONValue {
    do throws(JSONSyntaxError) {
        return try JSONParser.parse(bytes)
    } catch {
        throw TestFailure(description: "not JSON: \(error)\n\(text(bytes))")
    }
}

/// Parses JSON text.
func json(_ source: String) throws -> JSONValue { try json(utf8(source)) }

/// The value with every object's keys sorted, written with one member per line, for comparisons that ignore
/// member order (JSON objects are unordered) and show readable differences.
func canonical(_ value: JSONValue, indent: String = "") -> String {
    switch value {
    case .object(let object):
        if object.isEmpty { return "{}" }
        let inner = indent + "  "
        let members = object.members.sorted { $0.key < $1.key }.map {
            "\(inner)\(JSONText.quoted($0.key)): \(canonical($0.value, indent: inner))"
        }
        return "{\n" + members.joined(separator: ",\n") + "\n\(indent)}"
    case .array(let elements):
        if elements.isEmpty { return "[]" }
        let inner = indent + "  "
        return "[\n" + elements.map { inner + canonical($0, indent: inner) }.joined(separator: ",\n") + "\n\(indent)]"
    case .number(let literal):
        // 0.20 and 0.2 are the same number; integers stay exact.
        if let integer = value.intValue { return String(integer) }
        return Double(literal).map { String($0) } ?? literal
    default:
        return text(value.jsonBytes)
    }
}

/// Parses a Messages request fixture.
func messagesRequest(_ path: String) throws -> MessagesRequest {
    let body = try fixture(path)
    do throws(InvalidRequest) {
        return try MessagesRequest.parse(body)
    } catch {
        throw TestFailure(description: "fixture \(path) is not a valid Messages request: \(error.message)")
    }
}

/// Translates a Messages request to a Chat Completions body, or records the refusal.
func translateRequest(_ request: MessagesRequest, model: String = "m", dialect: OpenAIDialect = .standard) throws -> JSONValue {
    let bytes: [UInt8]
    do throws(InvalidRequest) {
        bytes = try OpenAIRequestTranslator.translate(request, upstreamModel: model, dialect: dialect)
    } catch {
        throw TestFailure(description: "refused: \(error.message)")
    }
    return try json(bytes)
}

/// The refusal message for a Messages body, or `nil` when it translates.
func refusal(_ body: String, dialect: OpenAIDialect = .standard) throws -> String? {
    let request: MessagesRequest
    do throws(InvalidRequest) {
        request = try MessagesRequest.parse(utf8(body))
    } catch {
        throw TestFailure(description: "the body itself is invalid: \(error.message)")
    }
    do throws(InvalidRequest) {
        _ = try OpenAIRequestTranslator.translate(request, upstreamModel: "m", dialect: dialect)
        return nil
    } catch {
        return error.message
    }
}

/// A Messages body parsed from text.
func request(_ body: String) throws -> MessagesRequest {
    do throws(InvalidRequest) {
        return try MessagesRequest.parse(utf8(body))
    } catch {
        throw TestFailure(description: "invalid body: \(error.message)")
    }
}

// MARK: - SSE

/// One server-sent event: its `event:` name (if any) and its `data` lines joined with `\n`.
struct SSEEvent: Equatable {
    var name: String?
    var data: [UInt8]
}

/// A tiny line-based SSE splitter (WHATWG rules that matter here): lines end in `\n`, `\r\n` or `\r`; a blank
/// line ends an event; `data:` lines are joined with `\n`; one space after the colon is dropped; comments
/// (`:` lines) and other fields are ignored. Bytes may arrive in any pieces.
struct SSESplitter {
    private var line: [UInt8] = []
    private var lastWasCR = false
    private var name: String?
    private var data: [UInt8] = []
    private var hasData = false

    mutating func feed(_ bytes: some Sequence<UInt8>) -> [SSEEvent] {
        var events: [SSEEvent] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n"), lastWasCR {
                lastWasCR = false
                continue  // the second half of \r\n
            }
            lastWasCR = byte == UInt8(ascii: "\r")
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                if let event = endLine() { events.append(event) }
            } else {
                line.append(byte)
            }
        }
        return events
    }

    private mutating func endLine() -> SSEEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            defer {
                name = nil
                data = []
                hasData = false
            }
            return hasData ? SSEEvent(name: name, data: data) : nil
        }
        if line.first == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let field = text(Array(line[..<colon]))
        var valueStart = colon < line.endIndex ? colon + 1 : colon
        if valueStart < line.endIndex, line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let value = Array(line[valueStart...])
        switch field {
        case "data":
            if hasData { data.append(UInt8(ascii: "\n")) }
            data.append(contentsOf: value)
            hasData = true
        case "event":
            name = text(value)
        default:
            break
        }
        return nil
    }
}

/// All events of a complete SSE text.
func sseEvents(_ bytes: [UInt8]) -> [SSEEvent] {
    var splitter = SSESplitter()
    return splitter.feed(bytes + utf8("\n\n"))
}

/// The result of running upstream events through a stream translator the way the server does: each event's
/// data is fed, a thrown error becomes an `error` event and ends the stream, and `finish()` closes it.
struct StreamRun {
    var output: [UInt8] = []
    var error: TranslationError?
    var usage = Usage()
    var completed = false
}

let testRequestID = "req_test_0001"

func runStream(_ events: [SSEEvent], stopSequences: [String] = [], model: String = "claude-via-openai") -> StreamRun {
    var translator = OpenAIStreamTranslator(requestedModel: model, requestID: testRequestID, stopSequences: stopSequences)
    var run = StreamRun()
    for event in events {
        do throws(TranslationError) {
            run.output += try translator.feed(data: event.data)
        } catch {
            run.error = error
            run.output += error.apiError.sseEvent(requestID: testRequestID)
            break
        }
    }
    run.output += translator.finish()
    run.usage = translator.usage
    run.completed = translator.completed
    return run
}

// MARK: - Anthropic SDK-like accumulation

/// Rebuilds the final message from an Anthropic event stream by the rules the Anthropic SDKs apply
/// (`accumulate_event`, WIRE §4.5), and records every rule the stream breaks.
struct AnthropicStreamAccumulator {
    /// The message built so far (`content`, `stop_reason`, `usage`, …).
    var message: [String: JSONValue] = [:]
    var content: [[String: JSONValue]] = []
    var partialJSON: [Int: String] = [:]
    var stopped: Set<Int> = []
    var violations: [String] = []
    var messageStarts = 0
    var sawMessageDelta = false
    var sawMessageStop = false
    var errorEvent: JSONValue?

    mutating func accept(_ events: [SSEEvent]) {
        for event in events { accept(event) }
    }

    mutating func accept(_ event: SSEEvent) {
        guard let value = try? JSONParser.parse(event.data), case .object(let body) = value else {
            violations.append("event data is not a JSON object: \(text(event.data))")
            return
        }
        let type = body["type"]?.stringValue ?? ""
        if event.name != type { violations.append("event name \(event.name ?? "nil") differs from data type \(type)") }
        if sawMessageStop { violations.append("\(type) after message_stop") }
        if type != "message_start", type != "error", type != "ping", messageStarts == 0 {
            violations.append("\(type) before message_start")
        }
        switch type {
        case "message_start":
            messageStarts += 1
            if messageStarts > 1 { violations.append("a second message_start") }
            for member in body["message"]?.objectValue?.members ?? [] { message[member.key] = member.value }
            if message["content"]?.arrayValue?.isEmpty != true { violations.append("message_start content is not empty") }
        case "content_block_start":
            let index = body["index"]?.intValue ?? -1
            if index != content.count { violations.append("content_block_start index \(index), expected \(content.count)") }
            if let last = content.indices.last, !stopped.contains(last) {
                violations.append("block \(content.count) started while block \(last) is open")
            }
            var block: [String: JSONValue] = [:]
            for member in body["content_block"]?.objectValue?.members ?? [] { block[member.key] = member.value }
            content.append(block)
        case "content_block_delta":
            let index = body["index"]?.intValue ?? -1
            guard content.indices.contains(index) else {
                violations.append("delta for block \(index) that was not started")
                return
            }
            if stopped.contains(index) { violations.append("delta for stopped block \(index)") }
            let delta = body["delta"]
            let blockType = content[index]["type"]?.stringValue
            switch delta?["type"]?.stringValue {
            case "text_delta":
                if blockType != "text" { violations.append("text_delta in a \(blockType ?? "?") block") }
                content[index]["text"] = .string((content[index]["text"]?.stringValue ?? "") + (delta?["text"]?.stringValue ?? ""))
            case "thinking_delta":
                if blockType != "thinking" { violations.append("thinking_delta in a \(blockType ?? "?") block") }
                content[index]["thinking"] = .string((content[index]["thinking"]?.stringValue ?? "") + (delta?["thinking"]?.stringValue ?? ""))
            case "signature_delta":
                content[index]["signature"] = delta?["signature"] ?? .null
            case "input_json_delta":
                if blockType != "tool_use" { violations.append("input_json_delta in a \(blockType ?? "?") block") }
                partialJSON[index, default: ""] += delta?["partial_json"]?.stringValue ?? ""
            default:
                violations.append("unknown delta type in \(text(event.data))")
            }
        case "content_block_stop":
            let index = body["index"]?.intValue ?? -1
            guard content.indices.contains(index) else {
                violations.append("stop for block \(index) that was not started")
                return
            }
            if stopped.contains(index) { violations.append("block \(index) stopped twice") }
            stopped.insert(index)
            if content[index]["type"]?.stringValue == "tool_use" {
                let buffer = partialJSON[index] ?? ""
                if buffer.isEmpty {
                    content[index]["input"] = content[index]["input"] ?? .object(JSONObject())
                } else if case .object(let input)? = try? JSONParser.parse(buffer) {
                    content[index]["input"] = .object(input)
                } else {
                    violations.append("tool input of block \(index) is not a JSON object: \(buffer)")
                }
            }
        case "message_delta":
            sawMessageDelta = true
            for member in body["delta"]?.objectValue?.members ?? [] { message[member.key] = member.value }
            if var usage = message["usage"]?.objectValue, let update = body["usage"]?.objectValue {
                for member in update.members {
                    usage.members.removeAll { $0.key == member.key }
                    usage.members.append(member)
                }
                message["usage"] = .object(usage)
            }
        case "message_stop":
            if !sawMessageDelta { violations.append("message_stop without message_delta") }
            if let open = content.indices.first(where: { !stopped.contains($0) }) {
                violations.append("message_stop while block \(open) is open")
            }
            sawMessageStop = true
        case "error":
            errorEvent = value
        case "ping":
            break
        default:
            violations.append("unknown event type \(type)")
        }
    }

    /// Checks that end a successful stream: exactly one message_start, a message_stop, `tool_use` exactly when
    /// there are tool blocks.
    mutating func checkComplete() {
        if messageStarts != 1 { violations.append("\(messageStarts) message_start events") }
        if !sawMessageStop { violations.append("no message_stop") }
        let hasTools = content.contains { $0["type"]?.stringValue == "tool_use" }
        let reason = message["stop_reason"]?.stringValue
        if hasTools != (reason == "tool_use") { violations.append("stop_reason \(reason ?? "nil") with tool blocks: \(hasTools)") }
    }

    /// The final message as JSON (member order: Anthropic's).
    var finalMessage: JSONValue {
        var object = JSONObject()
        for key in ["id", "type", "role", "model"] { if let value = message[key] { object.members.append((key, value)) } }
        object.members.append(("content", .array(content.map { block in
            var ordered = JSONObject()
            for key in block.keys.sorted() { ordered.members.append((key, block[key]!)) }
            return .object(ordered)
        })))
        for key in ["stop_reason", "stop_sequence", "usage"] { if let value = message[key] { object.members.append((key, value)) } }
        return .object(object)
    }
}

/// Accumulates a translated Anthropic stream and returns the accumulator (violations included).
func accumulate(_ output: [UInt8]) -> AnthropicStreamAccumulator {
    var accumulator = AnthropicStreamAccumulator()
    accumulator.accept(sseEvents(output))
    return accumulator
}
