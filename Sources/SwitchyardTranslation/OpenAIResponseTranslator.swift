import SwitchyardMessages

/// Turns a non-streaming OpenAI Chat Completions answer into an Anthropic Messages answer (issue 3).
///
/// - `id`: `msg_` followed by the upstream id without its `chatcmpl-` prefix (random when there is none).
/// - `model`: the model the client asked for.
/// - `content`, in this order: a `thinking` block from `reasoning_content` (DeepSeek, vLLM) or `reasoning`
///   (OpenRouter, Groq, newer vLLM) with an empty `signature` (there is none to give; such a block can be sent
///   back through this translator but not to Anthropic itself); a `text` block from `content` (or from
///   `refusal`); one `tool_use` block per tool call, with the upstream's id and `arguments` parsed into `input`.
///   Arguments that are empty or only whitespace become `{}` (some upstreams send nothing for a tool without
///   parameters); arguments that are not a JSON object make the answer invalid (``TranslationError``, a 502) —
///   a silently emptied tool call would run a tool with inputs the model never chose.
/// - `stop_reason`: `tool_use` whenever a tool call is present, whatever `finish_reason` says; otherwise
///   `length` → `max_tokens`, `content_filter` (or a `refusal`) → `refusal`, and `stop` → `stop_sequence` or
///   `end_turn` — see ``matchedStopSequence(text:upstreamStopReason:stopSequences:)``.
/// - `usage`: `input_tokens` = `prompt_tokens` − cached (never below 0), `cache_read_input_tokens` =
///   `prompt_tokens_details.cached_tokens` (or DeepSeek's `prompt_cache_hit_tokens`), `output_tokens` =
///   `completion_tokens`, `cache_creation_input_tokens` = 0 (Chat Completions does not report cache writes).
///   An answer without `usage` gets `output_tokens` estimated from its text (``TokenEstimator``, erring high)
///   and `input_tokens` 0; the caller may fill the input from its own estimate.
public enum OpenAIResponseTranslator {
    /// The Anthropic message JSON and its usage for a Chat Completions answer.
    ///
    /// - Parameters:
    ///   - body: the upstream's JSON answer.
    ///   - requestedModel: the model name the client asked for (written to `model`).
    ///   - stopSequences: the request's `stop_sequences`, to report which one ended the answer.
    /// - Throws: ``TranslationError`` when the body is not a usable chat completion.
    public static func translate(
        _ body: [UInt8], requestedModel: String, stopSequences: [String]
    ) throws(TranslationError) -> (message: [UInt8], usage: Usage) {
        let parsed: JSONValue
        do throws(JSONSyntaxError) {
            parsed = try JSONParser.parse(body)
        } catch {
            throw TranslationError(message: "The upstream answer is not valid JSON: \(error.reason) at byte \(error.offset)")
        }
        return try translate(parsed, requestedModel: requestedModel, stopSequences: stopSequences)
    }

    /// the byte-array `translate(_:requestedModel:stopSequences:)` over raw bytes.
    public static func translate(
        _ body: UnsafeRawBufferPointer, requestedModel: String, stopSequences: [String]
    ) throws(TranslationError) -> (message: [UInt8], usage: Usage) {
        let parsed: JSONValue
        do throws(JSONSyntaxError) {
            parsed = try JSONParser.parse(body)
        } catch {
            throw TranslationError(message: "The upstream answer is not valid JSON: \(error.reason) at byte \(error.offset)")
        }
        return try translate(parsed, requestedModel: requestedModel, stopSequences: stopSequences)
    }

    /// The stop sequence that ended an answer whose `finish_reason` is `stop`, or `nil`.
    ///
    /// Chat Completions does not say whether `stop` came from a stop sequence, so this is decided from what the
    /// upstream does show: vLLM's choice-level `stop_reason` naming one of the requested sequences, or the text
    /// ending with one (servers that keep the stop string in the output). On api.openai.com neither holds and a
    /// stop-sequence stop is reported as `end_turn`. The text itself is never changed.
    public static func matchedStopSequence(text: Substring, upstreamStopReason: String?, stopSequences: [String]) -> String? {
        guard !stopSequences.isEmpty else { return nil }
        if let reason = upstreamStopReason, stopSequences.contains(reason) { return reason }
        var best: String?
        for sequence in stopSequences where !sequence.isEmpty && text.hasSuffix(sequence) {
            if sequence.utf8.count > (best?.utf8.count ?? 0) { best = sequence }
        }
        return best
    }

    // MARK: - Implementation

    static func translate(
        _ parsed: JSONValue, requestedModel: String, stopSequences: [String]
    ) throws(TranslationError) -> (message: [UInt8], usage: Usage) {
        guard case .object(let root) = parsed else {
            throw TranslationError(message: "The upstream answer is not a JSON object")
        }
        if let error = root["error"], !error.isNull { throw upstreamError(error) }
        guard let choices = root["choices"]?.arrayValue, let choice = choices.first(where: { $0["index"]?.intValue ?? 0 == 0 }) ?? choices.first,
              case .object(let message)? = choice["message"] else {
            throw TranslationError(message: "The upstream answer has no choices[0].message")
        }

        var blocks: [UInt8] = []
        var blockCount = 0
        var estimatedOutput = 0
        func separate() {
            if blockCount > 0 { blocks.append(UInt8(ascii: ",")) }
            blockCount += 1
        }

        if let reasoning = reasoningText(message), !reasoning.isEmpty {
            separate()
            blocks.append(literal: #"{"type":"thinking","thinking":"#)
            blocks.append(quoted: reasoning)
            blocks.append(literal: #","signature":""}"#)
            estimatedOutput += TokenEstimator.estimate(text: reasoning)
        }
        let refusal = message["refusal"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        let content = contentText(message["content"]).flatMap { $0.isEmpty ? nil : $0 }
        let text = content ?? refusal ?? ""
        if !text.isEmpty {
            separate()
            blocks.append(literal: #"{"type":"text","text":"#)
            blocks.append(quoted: text)
            blocks.append(UInt8(ascii: "}"))
            estimatedOutput += TokenEstimator.estimate(text: text)
        }
        var toolCalls = 0
        for call in message["tool_calls"]?.arrayValue ?? [] {
            let function = call["function"]
            guard let name = function?["name"]?.stringValue, !name.isEmpty else {
                throw TranslationError(message: "The upstream answer has a tool call without a function name")
            }
            let input = try toolInput(function?["arguments"], toolName: name)
            separate()
            toolCalls += 1
            blocks.append(literal: #"{"type":"tool_use","id":"#)
            let id = call["id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? AnthropicIDs.random(prefix: "toolu_")
            blocks.append(quoted: id)
            blocks.append(literal: #","name":"#)
            blocks.append(quoted: name)
            blocks.append(literal: #","input":"#)
            let start = blocks.count
            blocks.append(json: .object(input))
            estimatedOutput += TokenEstimator.estimate(utf8: blocks[start...]) + TokenEstimator.estimate(text: name)
            blocks.append(UInt8(ascii: "}"))
        }

        let finishReason = choice["finish_reason"]?.stringValue
        let matched = finishReason == nil || finishReason == "stop"
            ? matchedStopSequence(text: text[...], upstreamStopReason: choice["stop_reason"]?.stringValue, stopSequences: stopSequences)
            : nil
        let stopReason = StopReason.map(
            finishReason: finishReason, hasToolUse: toolCalls > 0, refused: content == nil && refusal != nil,
            matchedStopSequence: matched
        )

        var usage = Usage(outputTokens: max(estimatedOutput, 1))
        if case .object(let reported)? = root["usage"] { usage = openAIUsage(reported) }

        var out: [UInt8] = []
        out.reserveCapacity(blocks.count + 320)
        out.append(literal: #"{"id":"#)
        out.append(quoted: AnthropicIDs.messageID(fromUpstream: root["id"]?.stringValue))
        out.append(literal: #","type":"message","role":"assistant","model":"#)
        out.append(quoted: requestedModel)
        out.append(literal: #","content":["#)
        out.append(contentsOf: blocks)
        out.append(literal: #"],"stop_reason":"#)
        out.append(quoted: stopReason)
        out.append(literal: #","stop_sequence":"#)
        if stopReason == "stop_sequence", let matched { out.append(quoted: matched) } else { out.append(literal: "null") }
        out.append(literal: #","usage":"#)
        appendUsage(usage, to: &out)
        out.append(UInt8(ascii: "}"))
        return (out, usage)
    }

    /// `reasoning_content`, else `reasoning`, when it is a string.
    static func reasoningText(_ object: JSONObject) -> String? {
        if let text = object["reasoning_content"]?.stringValue { return text }
        return object["reasoning"]?.stringValue
    }

    /// `content` as text: a string, or the `text` of each part of a list joined together; `nil` for null.
    static func contentText(_ content: JSONValue?) -> String? {
        switch content {
        case .string(let text)?:
            return text
        case .array(let parts)?:
            var text = ""
            for part in parts { if let piece = part["text"]?.stringValue { text += piece } }
            return text
        default:
            return nil
        }
    }

    /// A tool call's `arguments` as an object: a JSON-object string, an object (a few servers send one), or
    /// empty / whitespace only (→ `{}`).
    static func toolInput(_ arguments: JSONValue?, toolName: String) throws(TranslationError) -> JSONObject {
        switch arguments {
        case nil, .null?:
            return JSONObject()
        case .object(let object)?:
            return object
        case .string(let text)?:
            if text.utf8.allSatisfy(isJSONWhitespace) { return JSONObject() }
            if case .object(let object)? = try? JSONParser.parse(text) { return object }
            throw invalidArguments(toolName: toolName)
        default:
            throw invalidArguments(toolName: toolName)
        }
    }

    static func invalidArguments(toolName: String) -> TranslationError {
        TranslationError(message: "The upstream model called tool '\(toolName)' with arguments that are not a JSON object")
    }

    /// Usage in Anthropic terms from a Chat Completions `usage` object.
    static func openAIUsage(_ usage: JSONObject) -> Usage {
        let prompt = integer(usage["prompt_tokens"]) ?? 0
        let cached = integer(usage["prompt_tokens_details"]?["cached_tokens"]) ?? integer(usage["prompt_cache_hit_tokens"]) ?? 0
        return Usage(
            inputTokens: max(prompt - cached, 0), outputTokens: integer(usage["completion_tokens"]) ?? 0,
            cacheReadInputTokens: max(cached, 0), cacheCreationInputTokens: 0
        )
    }

    /// `{"input_tokens":…,"cache_creation_input_tokens":…,"cache_read_input_tokens":…,"output_tokens":…}`.
    static func appendUsage(_ usage: Usage, to out: inout [UInt8]) {
        out.append(literal: #"{"input_tokens":"#)
        out.append(integer: usage.inputTokens)
        out.append(literal: #","cache_creation_input_tokens":"#)
        out.append(integer: usage.cacheCreationInputTokens)
        out.append(literal: #","cache_read_input_tokens":"#)
        out.append(integer: usage.cacheReadInputTokens)
        out.append(literal: #","output_tokens":"#)
        out.append(integer: usage.outputTokens)
        out.append(UInt8(ascii: "}"))
    }

    /// A whole number, also when written as `12.0`.
    static func integer(_ value: JSONValue?) -> Int? {
        guard let value else { return nil }
        if let exact = value.intValue { return exact }
        if let double = value.doubleValue, double.isFinite, double >= 0, double < 1e15 { return Int(double) }
        return nil
    }

    /// The error an upstream `error` member describes.
    static func upstreamError(_ error: JSONValue) -> TranslationError {
        let detail = error["message"]?.stringValue ?? error.stringValue ?? "no message"
        return TranslationError(message: "The upstream reported an error: \(detail)")
    }

    @inline(__always)
    static func isJSONWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }
}

/// The Anthropic `stop_reason` for a Chat Completions `finish_reason`.
enum StopReason {
    static func map(finishReason: String?, hasToolUse: Bool, refused: Bool, matchedStopSequence: String?) -> String {
        if hasToolUse { return "tool_use" }  // whatever finish_reason says: otherwise the client never runs the tool
        switch finishReason {
        case "length": return "max_tokens"
        case "content_filter": return "refusal"
        default:
            if refused { return "refusal" }
            return matchedStopSequence == nil ? "end_turn" : "stop_sequence"
        }
    }
}
