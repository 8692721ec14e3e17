// Micro-benchmarks of the request path's pure parts, in release mode:
//   swift run -c release switchyard-microbench [FIXTURES_DIR]   (default bench/mock/fixtures)
// Each line: the operation, nanoseconds per operation (median of 7 rounds) and the bytes per second it processes.
// Figures are for comparing builds on one machine, never for assertions.
import Foundation
import NIOCore
import SwitchyardEventStream
import SwitchyardMessages
import SwitchyardTranslation

let directory = CommandLine.arguments.dropFirst().first ?? "bench/mock/fixtures"
func fixture(_ name: String) -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: directory + "/" + name) else {
        FileHandle.standardError.write(Data("missing fixture \(directory)/\(name)\n".utf8))
        exit(2)
    }
    return [UInt8](data)
}

/// Runs `body` `iterations` times per round for 7 rounds; prints the median time per operation.
func measure(_ name: String, bytes: Int, iterations: Int, _ body: () throws -> Int) rethrows {
    var sink = 0
    for _ in 0..<max(1, iterations / 10) { sink &+= try body() }  // warm-up
    var rounds: [Double] = []
    for _ in 0..<7 {
        let start = ContinuousClock.now
        for _ in 0..<iterations { sink &+= try body() }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        rounds.append(seconds / Double(iterations))
    }
    rounds.sort()
    let perOperation = rounds[3]
    let throughput = Double(bytes) / perOperation / 1_048_576
    let label = name.padding(toLength: 58, withPad: " ", startingAt: 0)
    print("\(label) \(String(format: "%10.0f", perOperation * 1e9)) ns/op \(String(format: "%9.1f", throughput)) MiB/s   (\(bytes) B, sink \(sink & 1))")
}

let anthropicSSE = fixture("anthropic.sse")
let openAISSE = fixture("openai.sse")
/// The harness's request templates, filled in as `lib/post.lua` does (`__MODEL__`, `__STREAM__`).
func request(_ name: String) -> [UInt8] {
    let text = String(decoding: fixture(name), as: UTF8.self)
        .replacingOccurrences(of: "__MODEL__", with: "bench-json")
        .replacingOccurrences(of: "__STREAM__", with: "false")
    return Array(text.utf8)
}
let smallRequest = request("request-anthropic.json")
let largeRequest = request("request-anthropic-large.json")
let anthropicJSON = fixture("anthropic.json")
let openAIJSON = fixture("openai.json")

print("switchyard micro-benchmarks, fixtures from \(directory)")

// SSE parser: one Anthropic stream (50 deltas) fed as one buffer, and in 512-byte reads.
let sseBuffer = ByteBuffer(bytes: anthropicSSE)
try measure("SSE parser: Anthropic stream, one buffer", bytes: anthropicSSE.count, iterations: 2_000) {
    var parser = ServerSentEventParser()
    var events = 0
    try parser.feed(sseBuffer) { _ in events += 1 }
    return events
}
let sseChunks = stride(from: 0, to: anthropicSSE.count, by: 512).map {
    ByteBuffer(bytes: anthropicSSE[$0..<min($0 + 512, anthropicSSE.count)])
}
try measure("SSE parser: Anthropic stream, 512-byte reads", bytes: anthropicSSE.count, iterations: 2_000) {
    var parser = ServerSentEventParser()
    var events = 0
    for chunk in sseChunks { try parser.feed(chunk) { _ in events += 1 } }
    return events
}

// The pass-through relay's usage reading: parse, and read usage from message_start / message_delta only.
try measure("SSE relay usage: parse + StreamUsageAccumulator", bytes: anthropicSSE.count, iterations: 2_000) {
    var parser = ServerSentEventParser()
    var usage = StreamUsageAccumulator()
    try parser.feed(sseBuffer) { event in
        if let name = event.event, name == "message_start" || name == "message_delta" {
            event.data.withUnsafeReadableBytes { usage.observe(eventName: name, data: $0) }
        }
    }
    return usage.usage.outputTokens
}

// Request validation and the byte-exact model rewrite.
try measure("MessagesRequest.parse: 1.2 KB request", bytes: smallRequest.count, iterations: 20_000) {
    try MessagesRequest.parse(smallRequest).maxTokens
}
try measure("MessagesRequest.parse: 66 KB Claude Code-sized request", bytes: largeRequest.count, iterations: 500) {
    try MessagesRequest.parse(largeRequest).maxTokens
}
// A translated or moderated request also needs the full tree (`root`), parsed on first use.
try measure("MessagesRequest.parse + root: 66 KB request", bytes: largeRequest.count, iterations: 500) {
    try MessagesRequest.parse(largeRequest).root.count
}
let parsedLarge = try MessagesRequest.parse(largeRequest)
_ = parsedLarge.root  // parsed here, so that the translator lines below measure translation only
measure("forwardedBody(model:): 66 KB request", bytes: largeRequest.count, iterations: 5_000) {
    parsedLarge.forwardedBody(model: "claude-sonnet-4-5-20250929").count
}
measure("AnthropicResponse.usage: 0.7 KB message", bytes: anthropicJSON.count, iterations: 50_000) {
    anthropicJSON.withUnsafeBytes { AnthropicResponse.usage(fromMessageJSON: $0)?.usage.outputTokens ?? 0 }
}

// Translation to and from OpenAI Chat Completions.
let parsedSmall = try MessagesRequest.parse(smallRequest)
_ = parsedSmall.root
try measure("OpenAIRequestTranslator: 1.2 KB request", bytes: smallRequest.count, iterations: 20_000) {
    try OpenAIRequestTranslator.translate(parsedSmall, upstreamModel: "gpt-4o-mini", dialect: OpenAIDialect()).count
}
try measure("OpenAIRequestTranslator: 66 KB request", bytes: largeRequest.count, iterations: 500) {
    try OpenAIRequestTranslator.translate(parsedLarge, upstreamModel: "gpt-4o-mini", dialect: OpenAIDialect()).count
}
try measure("OpenAIResponseTranslator: 1 KB answer", bytes: openAIJSON.count, iterations: 20_000) {
    try OpenAIResponseTranslator.translate(openAIJSON, requestedModel: "bench-oai-json", stopSequences: []).message.count
}
let openAIBuffer = ByteBuffer(bytes: openAISSE)
try measure("OpenAIStreamTranslator: 15 KB stream (parse + translate)", bytes: openAISSE.count, iterations: 1_000) {
    var parser = ServerSentEventParser()
    var translator = OpenAIStreamTranslator(requestedModel: "bench-oai-slow", requestID: "req_bench")
    var produced = 0
    try parser.feed(openAIBuffer) { event in
        produced += try event.data.withUnsafeReadableBytes { try translator.feed(data: $0) }.count
    }
    return produced + translator.finish().count
}
