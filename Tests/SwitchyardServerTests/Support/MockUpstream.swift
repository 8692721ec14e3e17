import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A loopback Anthropic upstream for the server tests. What it answers depends on the upstream model name the
/// gateway sends (`up-text`, `up-hold`, `up-cut`, `up-error-429`, …); it records every request it receives.
final class MockUpstream: Sendable {
    struct Recorded: Sendable {
        let method: String
        let uri: String
        let headers: [(name: String, value: String)]
        let body: [UInt8]

        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }

        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
        }
    }

    private let recorded = Mutex<[Recorded]>([])
    /// How many held streams saw their connection closed by the gateway.
    private let closedWhileHolding = Mutex(0)
    private let released = Mutex(false)

    var requests: [Recorded] { recorded.withLock { $0 } }
    var closedStreams: Int { closedWhileHolding.withLock { $0 } }
    func reset() { recorded.withLock { $0.removeAll() } }
    /// Waits (at most `limit`) until a held stream has seen its connection closed; returns how many have.
    func waitForClosedStream(within limit: Duration) async throws -> Int {
        let start = ContinuousClock.now
        while closedStreams == 0 && ContinuousClock.now - start < limit {
            try await Task.sleep(for: .milliseconds(10))
        }
        return closedStreams
    }

    /// Lets every held stream (`up-hold`) finish.
    func releaseHeldStreams() { released.withLock { $0 = true } }

    static let text = "Hello from the mock upstream."
    static let usage = (input: 10, output: 5, cacheRead: 2, cacheWrite: 3)

    /// Runs the mock on an ephemeral port for the duration of `body`.
    static func run<T: Sendable>(_ body: @Sendable (_ port: Int, _ mock: MockUpstream) async throws -> T) async throws -> T {
        let mock = MockUpstream()
        let router = Router()
        router.post("/v1/messages") { request, context in try await mock.messages(request, context: context) }
        router.post("/v1/chat/completions") { request, context in try await mock.chatCompletions(request) }
        router.post("/v1/moderations") { request, context in try await mock.moderations(request) }
        router.post("/v1/messages/count_tokens") { request, context in
            _ = try await mock.record(request)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"input_tokens":42}"#)))
        }
        let (ports, portSource) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "mock-upstream")
        logger.logLevel = .critical
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { portSource.yield($0.localAddress!.port!) },
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next()!
            do {
                let result = try await body(port, mock)
                mock.releaseHeldStreams()
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                mock.releaseHeldStreams()
                await group.triggerGracefulShutdown()
                tasks.cancelAll()
                throw error
            }
        }
    }

    private func record(_ request: Request) async throws -> Recorded {
        var request = request
        let body = try await request.collectBody(upTo: 64 << 20)
        let entry = Recorded(
            method: request.method.rawValue,
            uri: request.uri.description,
            headers: request.headers.map { ($0.name.canonicalName, $0.value) },
            body: Array(buffer: body))
        recorded.withLock { $0.append(entry) }
        return entry
    }

    private func messages(_ request: Request, context: some RequestContext) async throws -> Response {
        let entry = try await record(request)
        let json = entry.json
        let model = json["model"] as? String ?? ""
        let stream = json["stream"] as? Bool ?? false
        if model.hasPrefix("up-error-"), let status = Int(model.dropFirst("up-error-".count)) {
            var headers: HTTPFields = [.contentType: "application/json", HTTPField.Name("request-id")!: "req_upstream"]
            if status == 429 { headers[HTTPField.Name("retry-after")!] = "7" }
            let type = [400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                        429: "rate_limit_error", 529: "overloaded_error"][status] ?? "api_error"
            let body = #"{"type":"error","error":{"type":"\#(type)","message":"upstream says \#(status)"},"request_id":"req_upstream"}"#
            return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        if model == "up-silent" {
            let deadline = ContinuousClock.now + .seconds(10)
            while !released.withLock({ $0 }) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        if model == "up-slow" {
            // Answers after 1.5 s: slower than a first-byte limit of 1 s.
            try await Task.sleep(for: .milliseconds(1500))
        }
        if model == "up-garbage" {
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "this is not json")))
        }
        if !stream {
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: Self.messageJSON(model: model))))
        }
        if let special = Self.failingStream(model: model) {
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: .init { writer in
                    for part in special.parts { try await writer.write(ByteBuffer(string: part)) }
                    if special.stall {
                        let deadline = ContinuousClock.now + .seconds(10)
                        while !self.released.withLock({ $0 }) && ContinuousClock.now < deadline {
                            try await Task.sleep(for: .milliseconds(20))
                        }
                    }
                    if special.die { throw CancellationError() }
                    try await writer.finish(nil)
                })
        }
        let events = Self.streamEvents(model: model)
        let hold = model == "up-hold"
        let cut = model == "up-cut"
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: .init { writer in
                for (index, event) in events.enumerated() {
                    if cut && index == 3 {
                        throw CancellationError()  // dies mid-stream, without message_delta/message_stop
                    }
                    try await writer.write(ByteBuffer(string: event))
                    if hold && index == 1 {
                        // Hold the rest until released; a ping every 20 ms notices a closed connection.
                        let deadline = ContinuousClock.now + .seconds(10)
                        while !self.released.withLock({ $0 }) && ContinuousClock.now < deadline {
                            try await Task.sleep(for: .milliseconds(20))
                            do {
                                try await writer.write(ByteBuffer(string: "event: ping\ndata: {\"type\": \"ping\"}\n\n"))
                            } catch {
                                self.closedWhileHolding.withLock { $0 += 1 }
                                throw error
                            }
                        }
                    }
                }
                try await writer.finish(nil)
            })
    }

    /// Streams that fail in a given way, by upstream model:
    /// - `up-sse-garbage`: bytes that are not an Anthropic event stream, then the end;
    /// - `up-sse-error`: `message_start`, then an `overloaded_error` event (as Anthropic does under load);
    /// - `up-cut-early`: `message_start`, then the connection dies;
    /// - `up-stall-early`: `message_start`, then silence (until released or 10 s);
    /// - `up-stall`: `message_start`, a text block and one delta, then silence.
    static func failingStream(model: String) -> (parts: [String], stall: Bool, die: Bool)? {
        let events = streamEvents(model: model)
        switch model {
        case "up-sse-garbage":
            return (["this is { not an event stream\n\n", "data: {\"neither\": is this\n\n"], false, false)
        case "up-sse-error":
            return ([events[0], "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"], false, false)
        case "up-cut-early":
            return ([events[0]], false, true)
        case "up-stall-early":
            return ([events[0]], true, false)
        case "up-stall":
            return (Array(events[0...3]), true, false)
        default:
            return nil
        }
    }

    /// An OpenAI-style moderation endpoint: flags inputs containing `flag-me` (harassment), fails on `fail-me`.
    private func moderations(_ request: Request) async throws -> Response {
        let entry = try await record(request)
        let inputs = entry.json["input"] as? [String] ?? []
        if inputs.contains(where: { $0.contains("fail-me") }) {
            return Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: "boom")))
        }
        let results = inputs.map { text in
            let flagged = text.contains("flag-me")
            return #"{"flagged":\#(flagged),"categories":{"harassment":\#(flagged),"violence":false},"category_scores":{"harassment":\#(flagged ? 0.9 : 0.01),"violence":0.0}}"#
        }
        let body = #"{"id":"modr-1","model":"omni-moderation-latest","results":["# + results.joined(separator: ",") + "]}"
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// OpenAI usage figures the mock reports: prompt 12 of which 4 cached, completion 6.
    static let openAIUsage = #"{"prompt_tokens":12,"completion_tokens":6,"total_tokens":18,"prompt_tokens_details":{"cached_tokens":4}}"#

    private func chatCompletions(_ request: Request) async throws -> Response {
        let entry = try await record(request)
        let json = entry.json
        let model = json["model"] as? String ?? ""
        if model.hasPrefix("up-oai-error-"), let status = Int(model.dropFirst("up-oai-error-".count)) {
            let body = #"{"error":{"message":"openai upstream says \#(status)","type":"server_error","code":null}}"#
            return Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        if model == "up-oai-garbage" {
            // A 200 event stream whose data is not JSON.
            return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: .init(byteBuffer: ByteBuffer(string: "data: {this is not json\n\n")))
        }
        if json["stream"] as? Bool != true {
            let body = #"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"\#(model)","choices":[{"index":0,"message":{"role":"assistant","content":"\#(Self.text)"},"finish_reason":"stop"}],"usage":\#(Self.openAIUsage)}"#
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        let cut = model == "up-oai-cut"
        let chunks = Self.openAIChunks(model: model)
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream"],
            body: .init { writer in
                for (index, chunk) in chunks.enumerated() {
                    if cut && index == 2 { throw CancellationError() }
                    try await writer.write(ByteBuffer(string: chunk))
                }
                try await writer.finish(nil)
            })
    }

    /// A Chat Completions stream: role, two content pieces, finish_reason, the usage chunk, [DONE].
    static func openAIChunks(model: String) -> [String] {
        let head = #"{"id":"chatcmpl-2","object":"chat.completion.chunk","created":1,"model":"\#(model)","#
        return [
            "data: " + head + #""choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"# + "\n\n",
            "data: " + head + #""choices":[{"index":0,"delta":{"content":"Hello from "},"finish_reason":null}]}"# + "\n\n",
            "data: " + head + #""choices":[{"index":0,"delta":{"content":"the mock upstream."},"finish_reason":null}]}"# + "\n\n",
            "data: " + head + #""choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"# + "\n\n",
            "data: " + head + #""choices":[],"usage":"# + openAIUsage + "}\n\n",
            "data: [DONE]\n\n",
        ]
    }

    static func messageJSON(model: String) -> String {
        #"{"id":"msg_mock1","type":"message","role":"assistant","model":"\#(model)","content":[{"type":"text","text":"\#(text)"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":\#(usage.input),"output_tokens":\#(usage.output),"cache_read_input_tokens":\#(usage.cacheRead),"cache_creation_input_tokens":\#(usage.cacheWrite)}}"#
    }

    /// The event sequence of WIRE.md §4.5, one string per event.
    static func streamEvents(model: String) -> [String] {
        [
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_mock2\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"\(model)\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":\(usage.input),\"output_tokens\":1,\"cache_read_input_tokens\":\(usage.cacheRead),\"cache_creation_input_tokens\":\(usage.cacheWrite)}}}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
            "event: ping\ndata: {\"type\": \"ping\"}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello from \"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"the mock upstream.\"}}\n\n",
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":\(usage.output)}}\n\n",
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        ]
    }
}
