/// The `error.type` values of an Anthropic error envelope.
public enum APIErrorType: String, Sendable, Equatable, CaseIterable {
    case invalidRequest = "invalid_request_error"
    case authentication = "authentication_error"
    case billing = "billing_error"
    case permission = "permission_error"
    case notFound = "not_found_error"
    case rateLimit = "rate_limit_error"
    case timeout = "timeout_error"
    case api = "api_error"
    case overloaded = "overloaded_error"
    case requestTooLarge = "request_too_large"
}

/// An error answered to the client in the Anthropic shape (SPEC §4).
public struct APIError: Error, Sendable, Equatable {
    /// The HTTP status.
    public var status: Int
    /// The `error.type`.
    public var type: APIErrorType
    /// The human sentence in `error.message`.
    public var message: String
    /// `false` when a retry cannot help (the server then sends `x-should-retry: false`); `nil` leaves the decision
    /// to the client's status rules.
    public var shouldRetry: Bool?
    /// For 429: the `retry-after` value in seconds, when known.
    public var retryAfterSeconds: Int?

    public init(status: Int, type: APIErrorType, message: String, shouldRetry: Bool? = nil, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.type = type
        self.message = message
        self.shouldRetry = shouldRetry
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// 400 `invalid_request_error`.
    public static func invalidRequest(_ message: String) -> APIError {
        APIError(status: 400, type: .invalidRequest, message: message)
    }

    /// 401 `authentication_error`.
    public static func authentication(_ message: String = "invalid x-api-key") -> APIError {
        APIError(status: 401, type: .authentication, message: message)
    }

    /// 402 `billing_error`; not retryable.
    public static func billing(_ message: String = "Insufficient credits") -> APIError {
        APIError(status: 402, type: .billing, message: message, shouldRetry: false)
    }

    /// 403 `permission_error`; not retryable.
    public static func permission(_ message: String) -> APIError {
        APIError(status: 403, type: .permission, message: message, shouldRetry: false)
    }

    /// 404 `not_found_error`.
    public static func notFound(_ message: String) -> APIError {
        APIError(status: 404, type: .notFound, message: message)
    }

    /// 408 `timeout_error`.
    public static func timeout(_ message: String = "Request timed out") -> APIError {
        APIError(status: 408, type: .timeout, message: message)
    }

    /// 413 `request_too_large`.
    public static func requestTooLarge(_ message: String = "Request exceeds the maximum allowed number of bytes") -> APIError {
        APIError(status: 413, type: .requestTooLarge, message: message)
    }

    /// 429 `rate_limit_error`, optionally with the seconds for `retry-after`.
    public static func rateLimited(_ message: String, retryAfterSeconds: Int? = nil) -> APIError {
        APIError(status: 429, type: .rateLimit, message: message, retryAfterSeconds: retryAfterSeconds)
    }

    /// 502 `api_error`: every eligible upstream failed or answered something invalid.
    public static func upstream(_ message: String) -> APIError {
        APIError(status: 502, type: .api, message: message)
    }

    /// 503 `overloaded_error`. `noRoute: true` (no provider can serve this request) makes it non-retryable;
    /// a transient condition (e.g. all circuits open) leaves `shouldRetry` nil.
    public static func overloaded(_ message: String, noRoute: Bool = false) -> APIError {
        APIError(status: 503, type: .overloaded, message: message, shouldRetry: noRoute ? false : nil)
    }

    /// The JSON body `{"type":"error","error":{"type":…,"message":…},"request_id":…}`.
    public func jsonBody(requestID: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(80 + message.utf8.count + requestID.utf8.count)
        appendJSON(requestID: requestID, to: &out)
        return out
    }

    /// The SSE event `event: error\ndata: <json body>\n\n`, for failures after a stream has started.
    public func sseEvent(requestID: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(100 + message.utf8.count + requestID.utf8.count)
        JSONText.append(ascii: "event: error\ndata: ", to: &out)
        appendJSON(requestID: requestID, to: &out)
        JSONText.append(ascii: "\n\n", to: &out)
        return out
    }

    private func appendJSON(requestID: String, to out: inout [UInt8]) {
        JSONText.append(ascii: #"{"type":"error","error":{"type":"#, to: &out)
        JSONText.appendQuoted(type.rawValue, to: &out)
        JSONText.append(ascii: #","message":"#, to: &out)
        JSONText.appendQuoted(message, to: &out)
        JSONText.append(ascii: #"},"request_id":"#, to: &out)
        JSONText.appendQuoted(requestID, to: &out)
        out.append(UInt8(ascii: "}"))
    }
}

/// A request the gateway refuses with 400; `message` names the field path, e.g.
/// `messages.1.content.0.text: Field required`.
public struct InvalidRequest: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String

    public init(message: String) {
        self.message = message
    }

    /// The same failure as a 400 `invalid_request_error`.
    public var apiError: APIError { .invalidRequest(message) }

    public var description: String { message }
}

extension APIError {
    /// The 400 `invalid_request_error` for a refused request.
    public init(_ invalid: InvalidRequest) {
        self = .invalidRequest(invalid.message)
    }
}
