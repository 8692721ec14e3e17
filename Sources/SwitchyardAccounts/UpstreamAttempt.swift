/// One try of one upstream endpoint while serving a request, as kept in its usage record.
public struct UpstreamAttempt: Sendable, Equatable {
    /// The provider id tried.
    public var provider: String
    /// The gateway model id the endpoint belongs to (a fallback model when the request's own model failed).
    public var model: String
    /// The model name sent upstream.
    public var upstreamModel: String
    /// How the attempt ended: `ok`, `http_<status>` (the upstream's error status), `connect_failed`,
    /// `timeout_connect`, `timeout_first_byte`, `timeout_idle`, `timeout_total`, `invalid_answer`, `invalid_stream`,
    /// `stream_cut`, `stream_error`, `not_translatable`, `circuit_open` (skipped), `client_disconnected`.
    public var outcome: String
    /// Milliseconds from the attempt's start to its end.
    public var latencyMs: Int

    /// An attempt with every field given.
    public init(provider: String, model: String, upstreamModel: String, outcome: String, latencyMs: Int) {
        self.provider = provider
        self.model = model
        self.upstreamModel = upstreamModel
        self.outcome = outcome
        self.latencyMs = latencyMs
    }
}

extension [UpstreamAttempt] {
    /// The attempts as a compact JSON array, as stored (`[{"provider":…,"model":…,"upstream_model":…,
    /// "outcome":…,"latency_ms":…}]`). Written by hand: this runs for every request the ledger stores.
    public var jsonText: String {
        var text = "["
        for (index, attempt) in self.enumerated() {
            if index > 0 { text += "," }
            text += #"{"provider":"#
            text.appendJSONString(attempt.provider)
            text += #","model":"#
            text.appendJSONString(attempt.model)
            text += #","upstream_model":"#
            text.appendJSONString(attempt.upstreamModel)
            text += #","outcome":"#
            text.appendJSONString(attempt.outcome)
            text += #","latency_ms":"# + String(attempt.latencyMs) + "}"
        }
        return text + "]"
    }
}

extension String {
    /// Appends `value` as a JSON string literal (quotes, backslashes and control characters escaped).
    mutating func appendJSONString(_ value: String) {
        append("\"")
        // The usual value (a provider or model id) needs no escape: appended whole.
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            append(value)
            append("\"")
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": append("\\\"")
            case "\\": append("\\\\")
            case "\n": append("\\n")
            case "\r": append("\\r")
            case "\t": append("\\t")
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
            default: unicodeScalars.append(scalar)
            }
        }
        append("\"")
    }
}
