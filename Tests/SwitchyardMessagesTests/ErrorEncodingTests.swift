import SwitchyardMessages
import Testing

/// Error bodies are Anthropic-shaped JSON (SPEC §4) and the constructors carry the right status and retry hint.
struct ErrorEncodingTests {
    @Test(arguments: [
        (APIError.invalidRequest("x"), 400, APIErrorType.invalidRequest, "invalid_request_error", nil as Bool?),
        (.authentication("x"), 401, .authentication, "authentication_error", nil),
        (.billing("x"), 402, .billing, "billing_error", false),
        (.permission("x"), 403, .permission, "permission_error", false),
        (.notFound("x"), 404, .notFound, "not_found_error", nil),
        (.timeout("x"), 408, .timeout, "timeout_error", nil),
        (.requestTooLarge("x"), 413, .requestTooLarge, "request_too_large", nil),
        (.rateLimited("x"), 429, .rateLimit, "rate_limit_error", nil),
        (.upstream("x"), 502, .api, "api_error", nil),
        (.overloaded("x"), 503, .overloaded, "overloaded_error", nil),
        (.overloaded("x", noRoute: true), 503, .overloaded, "overloaded_error", false),
    ])
    func constructorsSetStatusTypeAndRetryHint(error: APIError, status: Int, type: APIErrorType, wireType: String, shouldRetry: Bool?) throws {
        #expect(error.status == status)
        #expect(error.type == type)
        #expect(error.type.rawValue == wireType)
        #expect(error.shouldRetry == shouldRetry)
        let body = try parseJSON(text(error.jsonBody(requestID: "req_1"))).get()
        #expect(body["error"]?["type"] == .string(wireType))
    }

    @Test func theJSONBodyHasExactlyTheAnthropicShape() {
        let error = APIError.billing("Insufficient credits")
        #expect(text(error.jsonBody(requestID: "req_abc")) == #"{"type":"error","error":{"type":"billing_error","message":"Insufficient credits"},"request_id":"req_abc"}"#)
    }

    @Test func messagesWithQuotesNewlinesAndUnicodeParseBack() throws {
        let message = "messages.0.content: \"bad\"\n\tvalue \\ é 😀 \u{1}"
        let error = APIError.invalidRequest(message)
        let body = try parseJSON(text(error.jsonBody(requestID: "req_\"1"))).get()
        #expect(body["type"] == .string("error"))
        #expect(body["error"]?["type"] == .string("invalid_request_error"))
        #expect(body["error"]?["message"] == .string(message))
        #expect(body["request_id"] == .string("req_\"1"))
        #expect(body.objectValue?.keys == ["type", "error", "request_id"])
    }

    @Test func theSSEEventCarriesTheSameBody() throws {
        let error = APIError.overloaded("Overloaded\nline two")
        let event = text(error.sseEvent(requestID: "req_9"))
        let json = text(error.jsonBody(requestID: "req_9"))
        #expect(event == "event: error\ndata: \(json)\n\n")
        // The message's newline is escaped, so the data stays on one line.
        #expect(event.split(separator: "\n", omittingEmptySubsequences: false).count == 4)
        #expect(try parseJSON(json).get()["error"]?["message"] == .string("Overloaded\nline two"))
    }

    @Test func rateLimitsCarryRetryAfter() {
        #expect(APIError.rateLimited("slow down", retryAfterSeconds: 12).retryAfterSeconds == 12)
        #expect(APIError.rateLimited("slow down").retryAfterSeconds == nil)
    }

    @Test func everyTypeIsDistinct() {
        let raw = APIErrorType.allCases.map(\.rawValue)
        #expect(Set(raw).count == 10)
        #expect(raw.contains("request_too_large"))
    }
}
