import NIOCore
import NIOHTTP1
@testable import SwitchyardAccounts
import Testing
@testable import SwitchyardServer

/// Answer heads written as bytes carry the same fields, numbers and status lines NIO's encoder would write.
@Suite struct ResponseFieldsTests {
    @Test(arguments: [0, 7, 10, 99, 1_000, 123_456_789, -1, -42, Int.max, Int.min])
    func decimalsMatchSwiftsFormatting(value: Int) {
        var buffer = ByteBuffer()
        buffer.writeDecimal(value)
        #expect(String(buffer: buffer) == String(value))
    }

    @Test func fieldsAreLinesAndReadBackAsHeaders() {
        var fields = ResponseFields()
        fields.add("request-id", "req_1")
        fields.addContentLength(728)
        var extra = HTTPHeaders()
        extra.add(name: "Retry-After", value: "3")
        fields.add(contentsOf: extra)
        #expect(String(buffer: fields.bytes) == "request-id: req_1\r\ncontent-length: 728\r\nRetry-After: 3\r\n")
        #expect(fields.hasContentLength)
        let headers = fields.headers
        #expect(headers.map { "\($0.name)=\($0.value)" } == ["request-id=req_1", "content-length=728", "Retry-After=3"])
    }

    @Test func aContentLengthFromElsewhereCounts() {
        var fields = ResponseFields()
        fields.add("x", 1)
        #expect(!fields.hasContentLength)
        var other = ResponseFields()
        other.add(contentsOf: ["Content-Length": "0"])
        fields.append(other)
        #expect(fields.hasContentLength)
        #expect(String(buffer: fields.bytes) == "x: 1\r\nContent-Length: 0\r\n")
    }

    @Test func rateLimitFieldsCarryLimitRemainingAndReset() {
        var fields = ResponseFields()
        fields.addRateLimits(RateLimiter.Decision(
            allowed: true,
            requests: .init(limit: 50, remaining: 49, resetAt: 1_795_558_800.4),
            tokens: .init(limit: 1_000, remaining: 0, resetAt: 951_782_400)))
        #expect(String(buffer: fields.bytes) == """
            anthropic-ratelimit-requests-limit: 50\r
            anthropic-ratelimit-requests-remaining: 49\r
            anthropic-ratelimit-requests-reset: 2026-11-24T22:20:01Z\r
            anthropic-ratelimit-tokens-limit: 1000\r
            anthropic-ratelimit-tokens-remaining: 0\r
            anthropic-ratelimit-tokens-reset: 2000-02-29T00:00:00Z\r

            """)
    }

    @Test(arguments: [
        (HTTPVersion.http1_1, HTTPResponseStatus.ok, "HTTP/1.1 200 OK\r\n"),
        (.http1_0, .ok, "HTTP/1.0 200 OK\r\n"),
        (.http1_1, .tooManyRequests, "HTTP/1.1 429 Too Many Requests\r\n"),
        (.http1_1, .init(statusCode: 529), "HTTP/1.1 529 \r\n"),
    ])
    func statusLinesAreNIOs(version: HTTPVersion, status: HTTPResponseStatus, line: String) {
        var buffer = ByteBuffer()
        buffer.writeStatusLine(version: version, status: status)
        #expect(String(buffer: buffer) == line)
    }
}
