import SwitchyardMessages

/// Turns an OpenAI Chat Completions chunk stream into an Anthropic Messages event stream (issue 3), one upstream
/// event at a time. One value per request; it holds only that request's state.
///
/// Feed it the `data` of each upstream SSE event with ``feed(data:)`` and send what it returns; call
/// ``finish()`` when the upstream ends and send that too. The output obeys the rules Anthropic SDKs and Claude
/// Code check (WIRE §4.5): exactly one `message_start`, first; block indices dense from 0; every block started
/// before its deltas and stopped before the next one starts; then one `message_delta` and `message_stop`.
///
/// - The answer moves between blocks as the chunks do: `reasoning_content` / `reasoning` deltas go to a
///   `thinking` block (started with an empty `signature`; none follows), `content` (and `refusal`) to a `text`
///   block, each tool call (told apart by its `index`) to its own `tool_use` block. Within one chunk the order is
///   thinking, text, tool calls. A change of kind stops the open block and starts a new one.
/// - Tool arguments are passed on verbatim as `input_json_delta`, as they arrive. A tool call that started
///   before its name arrived is held until the name does. When a tool block stops, a call whose arguments were
///   empty (or only blank) gets `{}` as one more delta, so the client's input is always a JSON object; arguments
///   that do not form a JSON object, or that arrive after their block stopped, are a ``TranslationError``
///   (the client would fail to parse the input anyway). Blank text between tool-call fragments is skipped.
/// - `finish_reason` stops the open block and is held: the `message_delta` goes out when the usage chunk
///   (`stream_options.include_usage`) arrives after it, at `[DONE]`, or at ``finish()``, whichever comes first,
///   so it carries the real usage. `stop_reason` is `tool_use` whenever a tool call was streamed; otherwise
///   `length` → `max_tokens`, `content_filter` → `refusal`, and `stop` → `end_turn`, or `stop_sequence` by the
///   rule of ``OpenAIResponseTranslator/matchedStopSequence(text:upstreamStopReason:stopSequences:)``.
/// - Usage: Chat Completions reports usage only at the end, so `message_start` carries `input_tokens: 0` (or
///   the real figures if the first chunk already has them) and `output_tokens: 1`; the `message_delta` carries
///   all four counts (`input_tokens` = `prompt_tokens` − cached, `cache_read_input_tokens` = cached,
///   `cache_creation_input_tokens` 0, `output_tokens` = `completion_tokens`), which the SDKs take over (they
///   overwrite the fields a `message_delta` has). An upstream that never reports usage gets only an
///   `output_tokens` estimated from the streamed text (``usageReported`` is then `false`).
/// - `[DONE]` or a `finish_reason` means the answer is complete. An upstream that ends without either, sends
///   something that is not JSON, or sends an `error` object makes ``feed(data:)`` throw or
///   ``finish()`` return an `error` event — never a silently truncated success.
public struct OpenAIStreamTranslator: Sendable {
    /// The usage so far, Anthropic semantics. Before (or without) the upstream's usage report, the output tokens
    /// are an estimate from the text streamed so far and the input tokens are 0.
    public var usage: Usage {
        usageReported ? reportedUsage : Usage(outputTokens: outputEstimate)
    }
    /// Whether the upstream reported usage.
    public private(set) var usageReported = false
    /// Whether a `finish_reason` arrived.
    public private(set) var sawFinish = false
    /// Whether `[DONE]` arrived.
    public private(set) var sawDone = false
    /// Whether `message_stop` was produced: the answer is complete.
    public private(set) var completed = false
    /// Whether the stream failed (a `feed` threw, or ``finish()`` returned an error event); later input is ignored.
    public private(set) var failed = false
    /// The `stop_reason` sent in `message_delta`, once sent.
    public private(set) var stopReason: String?
    /// The `msg_` id, once `message_start` was produced.
    public private(set) var messageID: String?

    private let requestedModel: String
    private let requestID: String
    private let stopSequences: [String]
    private let stopTailLimit: Int

    private var started = false
    private var nextIndex = 0
    private var open: OpenBlock?
    private var calls: [ToolCallState] = []
    private var lastCallPosition: Int?
    private var hasToolUse = false
    private var refused = false
    private var finishReason: String?
    private var upstreamStopReason: String?
    private var reportedUsage = Usage()
    private var outputEstimate = 0
    private var textTail: [UInt8] = []

    private enum OpenBlock: Equatable {
        case thinking(index: Int)
        case text(index: Int)
        case tool(index: Int, call: Int)
    }

    private struct ToolCallState: Sendable {
        /// The upstream's `index`, or a negative key for calls that came without one.
        var key: Int
        var id: String?
        var name: String?
        var blockIndex: Int?
        /// Arguments received before the block could start (no name yet).
        var pending: [UInt8] = []
        /// Every argument byte sent, to check at the end that they form a JSON object.
        var sent: [UInt8] = []
        var closed = false
    }

    /// A translator for one answer.
    ///
    /// - Parameters:
    ///   - requestedModel: the model name the client asked for (written to `message_start`).
    ///   - requestID: this request's id, for the body of an `error` event from ``finish()``.
    ///   - stopSequences: the request's `stop_sequences`, to report which one ended the answer.
    public init(requestedModel: String, requestID: String, stopSequences: [String] = []) {
        self.requestedModel = requestedModel
        self.requestID = requestID
        self.stopSequences = stopSequences
        self.stopTailLimit = (stopSequences.map(\.utf8.count).max() ?? 0) + 4
    }

    /// Translates the `data` of one upstream SSE event.
    ///
    /// - Returns: the Anthropic SSE bytes to send now (possibly none).
    /// - Throws: ``TranslationError`` when the upstream sent something that is not a valid chunk, an `error`
    ///   object, or tool arguments that cannot form a JSON object. The caller then sends
    ///   `error.apiError.sseEvent(requestID:)` and ends the stream; the translator ignores later input.
    public mutating func feed(data: UnsafeRawBufferPointer) throws(TranslationError) -> [UInt8] {
        guard !failed, !completed else { return [] }
        var out: [UInt8] = []
        do throws(TranslationError) {
            try process(data, into: &out)
        } catch {
            failed = true
            throw error
        }
        return out
    }

    /// ``feed(data:)`` over a byte array.
    public mutating func feed(data: [UInt8]) throws(TranslationError) -> [UInt8] {
        let result: Result<[UInt8], TranslationError> = data.withUnsafeBytes { buffer in
            do throws(TranslationError) {
                return .success(try feed(data: buffer))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Called when the upstream stream ends.
    ///
    /// - Returns: the held `message_delta` and `message_stop` when the answer was complete (`finish_reason` or
    ///   `[DONE]` seen) and not yet closed; an `error` event (502 `api_error`) when the upstream ended before
    ///   that; nothing when the stream already completed or failed.
    public mutating func finish() -> [UInt8] {
        guard !failed, !completed else { return [] }
        guard sawFinish || sawDone else {
            failed = true
            return APIError.upstream("The upstream ended the stream before the answer was complete")
                .sseEvent(requestID: requestID)
        }
        var out: [UInt8] = []
        do throws(TranslationError) {
            try complete(into: &out)
            return out
        } catch {
            failed = true
            return error.apiError.sseEvent(requestID: requestID)
        }
    }

    // MARK: - Chunks

    private mutating func process(_ data: UnsafeRawBufferPointer, into out: inout [UInt8]) throws(TranslationError) {
        var start = 0
        var end = data.count
        while start < end, OpenAIResponseTranslator.isJSONWhitespace(data[start]) { start += 1 }
        while end > start, OpenAIResponseTranslator.isJSONWhitespace(data[end - 1]) { end -= 1 }
        guard start < end else { return }
        let payload = UnsafeRawBufferPointer(rebasing: data[start..<end])
        if payload.elementsEqual("[DONE]".utf8) {
            sawDone = true
            try complete(into: &out)
            return
        }
        let parsed: JSONValue
        do throws(JSONSyntaxError) {
            parsed = try JSONParser.parse(payload)
        } catch {
            throw TranslationError(message: "The upstream stream sent data that is not JSON: \(error.reason) at byte \(error.offset)")
        }
        guard case .object(let chunk) = parsed else {
            throw TranslationError(message: "The upstream stream sent data that is not a JSON object")
        }
        if let error = chunk["error"], !error.isNull { throw OpenAIResponseTranslator.upstreamError(error) }

        if case .object(let reported)? = chunk["usage"] {
            reportedUsage = OpenAIResponseTranslator.openAIUsage(reported)
            usageReported = true
        }
        if !started { startMessage(upstreamID: chunk["id"]?.stringValue, into: &out) }

        let wasFinished = sawFinish
        if !wasFinished, let choices = chunk["choices"]?.arrayValue,
           let choice = choices.first(where: { ($0["index"]?.intValue ?? 0) == 0 }) {
            try apply(choice, into: &out)
        }
        // The usage chunk that follows finish_reason: the held message_delta can go out now.
        if wasFinished, case .object? = chunk["usage"] { try complete(into: &out) }
    }

    private mutating func apply(_ choice: JSONValue, into out: inout [UInt8]) throws(TranslationError) {
        if case .object(let delta)? = choice["delta"] {
            if let reasoning = OpenAIResponseTranslator.reasoningText(delta), !reasoning.isEmpty {
                try thinking(reasoning, into: &out)
            }
            if let content = OpenAIResponseTranslator.contentText(delta["content"]), !content.isEmpty {
                try text(content, into: &out)
            }
            if let refusal = delta["refusal"]?.stringValue, !refusal.isEmpty {
                refused = true
                try text(refusal, into: &out)
            }
            if let fragments = delta["tool_calls"]?.arrayValue {
                for fragment in fragments { try toolFragment(fragment, into: &out) }
            }
        }
        if let reason = choice["finish_reason"]?.stringValue {
            sawFinish = true
            finishReason = reason
            upstreamStopReason = choice["stop_reason"]?.stringValue
            try closeOpenBlock(into: &out)
        }
    }

    private mutating func thinking(_ text: String, into out: inout [UInt8]) throws(TranslationError) {
        let index: Int
        if case .thinking(let current)? = open {
            index = current
        } else {
            try closeOpenBlock(into: &out)
            index = openBlock(into: &out) { out in
                out.append(literal: #"{"type":"thinking","thinking":"","signature":""}"#)
            }
            open = .thinking(index: index)
        }
        outputEstimate += TokenEstimator.estimate(text: text)
        event("content_block_delta", into: &out) { out in
            out.append(literal: #"{"type":"content_block_delta","index":"#)
            out.append(integer: index)
            out.append(literal: #","delta":{"type":"thinking_delta","thinking":"#)
            out.append(quoted: text)
            out.append(literal: "}}")
        }
    }

    private mutating func text(_ text: String, into out: inout [UInt8]) throws(TranslationError) {
        let index: Int
        switch open {
        case .text(let current)?:
            index = current
        case .tool?:
            // Some servers send blank content between or after tool-call fragments; it carries nothing.
            if text.utf8.allSatisfy(OpenAIResponseTranslator.isJSONWhitespace) { return }
            fallthrough
        default:
            try closeOpenBlock(into: &out)
            index = openBlock(into: &out) { out in out.append(literal: #"{"type":"text","text":""}"#) }
            open = .text(index: index)
        }
        outputEstimate += TokenEstimator.estimate(text: text)
        if stopTailLimit > 4 {
            textTail.append(contentsOf: text.utf8)
            if textTail.count > stopTailLimit { textTail.removeFirst(textTail.count - stopTailLimit) }
        }
        event("content_block_delta", into: &out) { out in
            out.append(literal: #"{"type":"content_block_delta","index":"#)
            out.append(integer: index)
            out.append(literal: #","delta":{"type":"text_delta","text":"#)
            out.append(quoted: text)
            out.append(literal: "}}")
        }
    }

    private mutating func toolFragment(_ fragment: JSONValue, into out: inout [UInt8]) throws(TranslationError) {
        let id = fragment["id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        let position: Int
        if let key = fragment["index"]?.intValue {
            position = calls.firstIndex { $0.key == key } ?? newCall(key: key)
        } else if let id, let known = calls.firstIndex(where: { $0.id == id }) {
            position = known
        } else if id == nil, let last = lastCallPosition {
            position = last
        } else {
            position = newCall(key: -1 - calls.count)
        }
        lastCallPosition = position

        let function = fragment["function"]
        if calls[position].id == nil, let id { calls[position].id = id }
        if calls[position].name == nil, let name = function?["name"]?.stringValue, !name.isEmpty {
            calls[position].name = name
        }
        let arguments = function?["arguments"]?.stringValue ?? ""

        if calls[position].closed {
            guard arguments.utf8.allSatisfy(OpenAIResponseTranslator.isJSONWhitespace) else {
                throw TranslationError(
                    message: "The upstream stream sent arguments for tool call \(calls[position].key) after another block had started"
                )
            }
            return
        }
        if let blockIndex = calls[position].blockIndex {
            guard !arguments.isEmpty else { return }
            calls[position].sent.append(contentsOf: arguments.utf8)
            outputEstimate += TokenEstimator.estimate(text: arguments)
            inputJSONDelta(arguments, index: blockIndex, into: &out)
            return
        }
        calls[position].pending.append(contentsOf: arguments.utf8)
        guard let name = calls[position].name else { return }  // held until the name arrives

        try closeOpenBlock(into: &out)
        let toolID = calls[position].id ?? AnthropicIDs.random(prefix: "toolu_")
        calls[position].id = toolID
        let index = openBlock(into: &out) { out in
            out.append(literal: #"{"type":"tool_use","id":"#)
            out.append(quoted: toolID)
            out.append(literal: #","name":"#)
            out.append(quoted: name)
            out.append(literal: #","input":{}}"#)
        }
        calls[position].blockIndex = index
        open = .tool(index: index, call: position)
        hasToolUse = true
        outputEstimate += TokenEstimator.estimate(text: name)
        if !calls[position].pending.isEmpty {
            let pending = String(decoding: calls[position].pending, as: UTF8.self)
            calls[position].sent = calls[position].pending
            calls[position].pending = []
            outputEstimate += TokenEstimator.estimate(text: pending)
            inputJSONDelta(pending, index: index, into: &out)
        }
    }

    private mutating func newCall(key: Int) -> Int {
        calls.append(ToolCallState(key: key))
        return calls.count - 1
    }

    // MARK: - Blocks

    /// Starts a block at the next index; `body` writes the `content_block` object.
    private mutating func openBlock(into out: inout [UInt8], _ body: (inout [UInt8]) -> Void) -> Int {
        let index = nextIndex
        nextIndex += 1
        event("content_block_start", into: &out) { out in
            out.append(literal: #"{"type":"content_block_start","index":"#)
            out.append(integer: index)
            out.append(literal: #","content_block":"#)
            body(&out)
            out.append(UInt8(ascii: "}"))
        }
        return index
    }

    /// Stops the open block; a tool block first gets `{}` if it had no arguments, and its arguments are checked.
    private mutating func closeOpenBlock(into out: inout [UInt8]) throws(TranslationError) {
        guard let block = open else { return }
        let index: Int
        switch block {
        case .thinking(let current), .text(let current):
            index = current
        case .tool(let current, let position):
            index = current
            calls[position].closed = true
            let sent = calls[position].sent
            if sent.allSatisfy(OpenAIResponseTranslator.isJSONWhitespace) {
                inputJSONDelta("{}", index: index, into: &out)
            } else if case .object? = try? JSONParser.parse(sent) {
                // A complete object: the client's concatenation parses.
            } else {
                throw OpenAIResponseTranslator.invalidArguments(toolName: calls[position].name ?? "")
            }
        }
        open = nil
        event("content_block_stop", into: &out) { out in
            out.append(literal: #"{"type":"content_block_stop","index":"#)
            out.append(integer: index)
            out.append(UInt8(ascii: "}"))
        }
    }

    private func inputJSONDelta(_ partial: String, index: Int, into out: inout [UInt8]) {
        event("content_block_delta", into: &out) { out in
            out.append(literal: #"{"type":"content_block_delta","index":"#)
            out.append(integer: index)
            out.append(literal: #","delta":{"type":"input_json_delta","partial_json":"#)
            out.append(quoted: partial)
            out.append(literal: "}}")
        }
    }

    // MARK: - Message

    private mutating func startMessage(upstreamID: String?, into out: inout [UInt8]) {
        started = true
        let id = AnthropicIDs.messageID(fromUpstream: upstreamID)
        messageID = id
        let startUsage = usageReported ? reportedUsage : Usage()
        event("message_start", into: &out) { out in
            out.append(literal: #"{"type":"message_start","message":{"id":"#)
            out.append(quoted: id)
            out.append(literal: #","type":"message","role":"assistant","model":"#)
            out.append(quoted: requestedModel)
            out.append(literal: #","content":[],"stop_reason":null,"stop_sequence":null,"usage":"#)
            OpenAIResponseTranslator.appendUsage(Usage(
                inputTokens: startUsage.inputTokens, outputTokens: 1,
                cacheReadInputTokens: startUsage.cacheReadInputTokens, cacheCreationInputTokens: 0
            ), to: &out)
            out.append(literal: "}}")
        }
    }

    /// Stops the open block and sends `message_delta` and `message_stop`.
    private mutating func complete(into out: inout [UInt8]) throws(TranslationError) {
        if !started { startMessage(upstreamID: nil, into: &out) }
        try closeOpenBlock(into: &out)
        if calls.contains(where: { $0.blockIndex == nil }) {
            throw TranslationError(message: "The upstream stream sent a tool call without a function name")
        }
        let matched = finishReason == nil || finishReason == "stop"
            ? OpenAIResponseTranslator.matchedStopSequence(
                text: String(decoding: textTail, as: UTF8.self)[...], upstreamStopReason: upstreamStopReason,
                stopSequences: stopSequences)
            : nil
        let reason = StopReason.map(
            finishReason: finishReason, hasToolUse: hasToolUse, refused: refused, matchedStopSequence: matched
        )
        stopReason = reason
        event("message_delta", into: &out) { out in
            out.append(literal: #"{"type":"message_delta","delta":{"stop_reason":"#)
            out.append(quoted: reason)
            out.append(literal: #","stop_sequence":"#)
            if reason == "stop_sequence", let matched { out.append(quoted: matched) } else { out.append(literal: "null") }
            out.append(literal: #"},"usage":"#)
            if usageReported {
                OpenAIResponseTranslator.appendUsage(reportedUsage, to: &out)
            } else {
                out.append(literal: #"{"output_tokens":"#)
                out.append(integer: outputEstimate)
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: "}"))
        }
        event("message_stop", into: &out) { out in out.append(literal: #"{"type":"message_stop"}"#) }
        completed = true
    }

    /// `event: name\ndata: <body>\n\n`.
    private func event(_ name: StaticString, into out: inout [UInt8], _ body: (inout [UInt8]) -> Void) {
        out.append(literal: "event: ")
        out.append(literal: name)
        out.append(literal: "\ndata: ")
        body(&out)
        out.append(literal: "\n\n")
    }
}
