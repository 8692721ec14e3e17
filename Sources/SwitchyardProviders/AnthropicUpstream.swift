import NIOCore
import NIOHTTP1
import SwitchyardConfig
import SwitchyardMessages

/// A configured `kind: anthropic` provider, ready for the data path: origin, paths and the headers that never
/// change, all computed once at start-up.
public struct AnthropicUpstream: Sendable {
    public let providerID: String
    public let origin: UpstreamOrigin
    public let messagesPath: String
    public let countTokensPath: String
    private let apiKey: String
    private let hostHeader: String

    public init(provider: ProviderConfig) {
        providerID = provider.id
        origin = UpstreamOrigin(provider: provider)
        messagesPath = provider.baseURL.basePath + "/v1/messages"
        countTokensPath = provider.baseURL.basePath + "/v1/messages/count_tokens"
        apiKey = provider.apiKey
        hostHeader = origin.hostHeader
    }

    /// The Anthropic API version sent when the client names none.
    public static let defaultVersion = "2023-06-01"

    /// Request headers the client sent that an Anthropic upstream receives unchanged. Everything else — above all
    /// the client's own credentials (`authorization`, `x-api-key`) — stays here.
    static func isForwarded(_ name: String) -> Bool {
        let lower = name.asciiLowercased
        if lower.hasPrefix("anthropic-") { return true }
        switch lower {
        case "user-agent", "x-app", "x-claude-code-session-id", "accept": return true
        default: return false
        }
    }

    /// The head of an upstream request carrying `bodyLength` bytes to `path` (with the client's query string, if any).
    public func requestHead(path: String, query: Substring?, clientHeaders: HTTPHeaders, bodyLength: Int) -> UpstreamRequestHead {
        var head = UpstreamRequestHead(path: path, query: query)
        head.add("host", hostHeader)
        head.add("content-type", "application/json")
        head.addContentLength(bodyLength)
        head.add("x-api-key", apiKey)
        head.add("accept-encoding", "identity")
        var sawVersion = false
        for (name, value) in clientHeaders where Self.isForwarded(name) {
            if !sawVersion && name.asciiLowercased == "anthropic-version" { sawVersion = true }
            head.add(name: name, value: value)
        }
        if !sawVersion { head.add("anthropic-version", Self.defaultVersion) }
        return head
    }
}

/// How an upstream's error status reaches the client (issue #2, item 8).
public enum UpstreamErrorMapping {
    /// Maps an upstream error answer to the client's error. `body` is the upstream's (bounded) error body.
    ///
    /// - 400, 404, 413, 422 and other request errors pass through with the upstream's message;
    /// - 401/403 mean the gateway's provider key is wrong: 502, never blamed on the client;
    /// - 429 stays 429 (the caller passes the upstream's `retry-after` on);
    /// - 408 and 504 become a 408 timeout; 529 and other 5xx become 502.
    public static func clientError(status: Int, body: [UInt8], providerID: String) -> APIError {
        let upstream = body.withUnsafeBytes { AnthropicResponse.upstreamError(fromJSON: $0) }
        let upstreamText = upstream?.message ?? Self.snippet(body)
        let quoted = upstreamText.isEmpty ? "" : ": \(upstreamText)"
        switch status {
        case 401, 403:
            return .upstream("The upstream provider '\(providerID)' rejected the gateway's credentials (HTTP \(status)). This is a gateway configuration problem; the operator has been notified in the logs.")
        case 429:
            return .rateLimited("The upstream provider '\(providerID)' is rate limiting requests\(quoted)")
        case 408, 504:
            return .timeout("The upstream provider '\(providerID)' timed out (HTTP \(status))\(quoted)")
        case 413:
            return .requestTooLarge(upstreamText.isEmpty ? "Request too large for the upstream provider." : upstreamText)
        case 529:
            return .upstream("The upstream provider '\(providerID)' is overloaded (HTTP 529)\(quoted)")
        case 400..<500:
            return .invalidRequest(upstreamText.isEmpty ? "The upstream provider rejected the request (HTTP \(status))." : upstreamText)
        default:
            return .upstream("The upstream provider '\(providerID)' failed (HTTP \(status))\(quoted)")
        }
    }

    /// Whether an upstream error status is the endpoint's trouble, so that another endpoint may serve the request:
    /// its credentials (401, 403), an unknown model or path (404), timeouts (408, 504), rate limits (429), overload
    /// (529) and every 5xx. Other 4xx (400, 413, 422, …) are about the request itself and go back to the client.
    public static func isRetryable(status: Int) -> Bool {
        switch status {
        case 401, 403, 404, 408, 429: true
        case 500...: true
        default: false
        }
    }

    /// A printable excerpt of a non-JSON error body (at most 200 characters).
    static func snippet(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(200), as: UTF8.self)
        let flat = text.filter { !$0.isNewline }
        return String(flat.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

extension String {
    /// The name itself when it has no upper-case ASCII letter (as clients mostly send header names), else a
    /// lower-cased copy.
    var asciiLowercased: String {
        utf8.contains(where: { $0 &- UInt8(ascii: "A") < 26 }) ? lowercased() : self
    }
}
