/// Token counts of one answer, Anthropic semantics (`inputTokens` excludes cache reads and writes).
public struct Usage: Sendable, Equatable {
    /// Uncached input tokens (`input_tokens`).
    public var inputTokens: Int
    /// Output tokens, thinking included (`output_tokens`).
    public var outputTokens: Int
    /// Input tokens read from the prompt cache (`cache_read_input_tokens`).
    public var cacheReadInputTokens: Int
    /// Input tokens written to the prompt cache (`cache_creation_input_tokens`).
    public var cacheCreationInputTokens: Int

    /// Usage with the given counts (0 by default).
    public init(inputTokens: Int = 0, outputTokens: Int = 0, cacheReadInputTokens: Int = 0, cacheCreationInputTokens: Int = 0) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cacheReadInputTokens = cacheReadInputTokens
        self.cacheCreationInputTokens = cacheCreationInputTokens
    }

    /// All zeros.
    public static let zero = Usage()

    /// Reads an Anthropic `usage` object; fields that are missing, null or not integers count as 0.
    init(anthropic usage: some JSONTreeObject) {
        self.init()
        overwrite(from: usage)
    }

    /// Overwrites each field that `usage` carries as an integer; leaves the others (message_delta semantics).
    mutating func overwrite(from usage: some JSONTreeObject) {
        if let value = usage["input_tokens"]?.intValue { inputTokens = value }
        if let value = usage["output_tokens"]?.intValue { outputTokens = value }
        if let value = usage["cache_read_input_tokens"]?.intValue { cacheReadInputTokens = value }
        if let value = usage["cache_creation_input_tokens"]?.intValue { cacheCreationInputTokens = value }
    }
}

/// The SSE event names of an Anthropic stream.
public enum StreamEventKind: Sendable, Equatable {
    case messageStart
    case contentBlockStart
    case contentBlockDelta
    case contentBlockStop
    case messageDelta
    case messageStop
    case ping
    case error
    /// Any other name (clients must ignore unknown events).
    case other

    /// The kind for an `event:` name.
    public init(name: some StringProtocol) {
        switch name {
        case "message_start": self = .messageStart
        case "content_block_start": self = .contentBlockStart
        case "content_block_delta": self = .contentBlockDelta
        case "content_block_stop": self = .contentBlockStop
        case "message_delta": self = .messageDelta
        case "message_stop": self = .messageStop
        case "ping": self = .ping
        case "error": self = .error
        default: self = .other
        }
    }

    /// The kind for an `event:` name given as UTF-8 bytes.
    public init(name: UnsafeRawBufferPointer) {
        self.init(name: String(decoding: name, as: UTF8.self))
    }
}

/// Follows the usage of an Anthropic SSE stream as it passes through.
///
/// Feed it the `data` of each event; only `message_start` and `message_delta` are parsed (both are small).
/// `message_start` sets the usage snapshot, the message id and the model; each `message_delta` overwrites the
/// usage fields it carries (they are cumulative) and sets the stop reason.
public struct StreamUsageAccumulator: Sendable {
    /// The usage so far.
    public private(set) var usage = Usage()
    /// `delta.stop_reason` of the last `message_delta` that had one.
    public private(set) var stopReason: String?
    /// Whether a `message_start` was seen.
    public private(set) var sawMessageStart = false
    /// Whether a `message_delta` carrying `usage` was seen (the final output count is known).
    public private(set) var sawMessageDelta = false
    /// Whether the stream ended properly (`message_stop` seen or ``markStop()`` called).
    public private(set) var sawMessageStop = false
    /// `message.id` from `message_start`.
    public private(set) var upstreamMessageID: String?
    /// `message.model` from `message_start`.
    public private(set) var upstreamModel: String?

    public init() {}

    /// Observes one event. Events other than `message_start`, `message_delta` and `message_stop` are ignored
    /// without parsing; undecodable data is ignored.
    public mutating func observe(eventType: StreamEventKind, data: UnsafeRawBufferPointer) {
        switch eventType {
        case .messageStart:
            // Skimmed, not decoded: only a few fields of the event are read.
            SkimTree.withRoot(of: data) { event in
                guard let message = event.objectValue?["message"]?.objectValue else { return }
                sawMessageStart = true
                if let usage = message["usage"]?.objectValue { self.usage = Usage(anthropic: usage) }
                if let id = message["id"]?.stringValue { upstreamMessageID = id.decoded }
                if let model = message["model"]?.stringValue { upstreamModel = model.decoded }
            }
        case .messageDelta:
            SkimTree.withRoot(of: data) { event in
                guard let event = event.objectValue else { return }
                if let usage = event["usage"]?.objectValue {
                    self.usage.overwrite(from: usage)
                    sawMessageDelta = true
                }
                if let reason = event["delta"]?.objectValue?["stop_reason"]?.stringValue { stopReason = reason.decoded }
            }
        case .messageStop:
            sawMessageStop = true
        default:
            return
        }
    }

    /// Observes one event given by its `event:` name.
    public mutating func observe(eventName: some StringProtocol, data: UnsafeRawBufferPointer) {
        observe(eventType: StreamEventKind(name: eventName), data: data)
    }

    /// Observes one event whose data is a byte array.
    public mutating func observe(eventType: StreamEventKind, data: [UInt8]) {
        data.withUnsafeBytes { observe(eventType: eventType, data: $0) }
    }

    /// Records that the stream ended properly.
    public mutating func markStop() {
        sawMessageStop = true
    }
}

/// Readers for Anthropic answers.
public enum AnthropicResponse {
    /// The usage and stop reason of a non-streaming Messages answer, or `nil` when the JSON is not a message
    /// object with a `usage` object.
    public static func usage(fromMessageJSON json: UnsafeRawBufferPointer) -> (usage: Usage, stopReason: String?)? {
        SkimTree.withRoot(of: json) { root -> (usage: Usage, stopReason: String?)? in
            guard let message = root.objectValue, let usage = message["usage"]?.objectValue else { return nil }
            return (Usage(anthropic: usage), message["stop_reason"]?.stringValue?.decoded)
        } ?? nil
    }

    /// The `error.type` and `error.message` of an error body.
    ///
    /// Reads the Anthropic envelope `{"type":"error","error":{"type":…,"message":…}}` and tolerates other servers'
    /// shapes: `{"error":{"message":…}}` (type then `api_error`), `{"error":"text"}`, and `{"message":…}`.
    /// `nil` when the body is not JSON or has none of these.
    public static func upstreamError(fromJSON json: UnsafeRawBufferPointer) -> (type: String, message: String)? {
        guard let body = try? JSONParser.parse(json), case .object(let root) = body else { return nil }
        switch root["error"] {
        case .object(let error)?:
            let type = error["type"]?.stringValue ?? APIErrorType.api.rawValue
            let message = error["message"]?.stringValue ?? ""
            return (type, message)
        case .string(let message)?:
            return (APIErrorType.api.rawValue, message)
        default:
            if let message = root["message"]?.stringValue { return (APIErrorType.api.rawValue, message) }
            return nil
        }
    }

    /// `usage(fromMessageJSON:)` over a byte array.
    public static func usage(fromMessageJSON json: [UInt8]) -> (usage: Usage, stopReason: String?)? {
        json.withUnsafeBytes { usage(fromMessageJSON: $0) }
    }

    /// `upstreamError(fromJSON:)` over a byte array.
    public static func upstreamError(fromJSON json: [UInt8]) -> (type: String, message: String)? {
        json.withUnsafeBytes { upstreamError(fromJSON: $0) }
    }
}
