import NIOCore
import NIOHTTP1
import SwitchyardAccounts

/// The header fields of an answer on the data path, kept as the bytes they go out as: `name: value` lines, each
/// ending in CRLF. ``ClientConnectionHandler`` writes them after its status line, without NIO's `HTTPHeaders` and
/// response encoder, whose per-field strings and framing checks were a measurable part of each request (issue 6).
///
/// Names are lower-case literals. Values are the gateway's own (ids, numbers, times) or header values an upstream
/// sent and NIO's parser accepted, so none holds a line break.
struct ResponseFields {
    private(set) var bytes: ByteBuffer
    /// A `content-length` field is among them: the body has a known length and is not chunked.
    private(set) var hasContentLength = false

    init(capacity: Int = 320) {
        bytes = ByteBufferAllocator().buffer(capacity: capacity)
    }

    mutating func add(_ name: StaticString, _ value: String) {
        bytes.writeStaticString(name)
        bytes.writeStaticString(": ")
        bytes.writeString(value)
        bytes.writeStaticString("\r\n")
    }

    mutating func add(_ name: StaticString, _ value: Int) {
        bytes.writeStaticString(name)
        bytes.writeStaticString(": ")
        bytes.writeDecimal(value)
        bytes.writeStaticString("\r\n")
    }

    mutating func addContentLength(_ length: Int) {
        add("content-length", length)
        hasContentLength = true
    }

    /// Appends all of `other`'s fields.
    mutating func append(_ other: ResponseFields) {
        bytes.writeImmutableBuffer(other.bytes)
        hasContentLength = hasContentLength || other.hasContentLength
    }

    /// A field from elsewhere (an upstream's `retry-after`, a cold route's head), its name as given.
    mutating func add(name: String, value: String) {
        bytes.writeString(name)
        bytes.writeStaticString(": ")
        bytes.writeString(value)
        bytes.writeStaticString("\r\n")
        if name.utf8.count == 14 && name.lowercased() == "content-length" { hasContentLength = true }
    }

    /// Fields from elsewhere, names as given.
    mutating func add(contentsOf headers: HTTPHeaders) {
        for (name, value) in headers { add(name: name, value: value) }
    }

    /// The `anthropic-ratelimit-*` fields of a limited key (reset times in RFC 3339).
    mutating func addRateLimits(_ decision: RateLimiter.Decision) {
        if let window = decision.requests {
            add("anthropic-ratelimit-requests-limit", window.limit)
            add("anthropic-ratelimit-requests-remaining", window.remaining)
            addTime("anthropic-ratelimit-requests-reset", window.resetAt)
        }
        if let window = decision.tokens {
            add("anthropic-ratelimit-tokens-limit", window.limit)
            add("anthropic-ratelimit-tokens-remaining", window.remaining)
            addTime("anthropic-ratelimit-tokens-reset", window.resetAt)
        }
    }

    private mutating func addTime(_ name: StaticString, _ epochSeconds: Double) {
        bytes.writeStaticString(name)
        bytes.writeStaticString(": ")
        RFC3339.write(epochSeconds: epochSeconds, to: &bytes)
        bytes.writeStaticString("\r\n")
    }

    /// The same fields as `HTTPHeaders`, for an answer that goes through NIO's encoder.
    var headers: HTTPHeaders {
        var headers = HTTPHeaders()
        // "\r\n" is one Character in Swift, so each element is one `name: value` line.
        for line in String(buffer: bytes).split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.add(name: String(line[..<colon]), value: String(line[colon...].dropFirst(2)))
        }
        return headers
    }
}

extension ByteBuffer {
    /// Writes `value` in decimal, without an intermediate string.
    mutating func writeDecimal(_ value: Int) {
        if value < 0 { writeInteger(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // up to 24 ASCII digits, written backwards
        var count = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            repeat {
                raw[23 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            writeBytes(UnsafeRawBufferPointer(rebasing: raw[(24 - count)...]))
        }
    }
}

/// UTC timestamps such as `2026-11-24T22:20:00Z`, formatted by arithmetic (no calendar, no locale, no allocation
/// when written into a buffer): they go into headers on the hot path.
enum RFC3339 {
    /// The whole second at or after `epochSeconds` (seconds since 1970-01-01T00:00:00Z), clamped to the years
    /// 0000–9999 that the format can write (a value that is not finite gives 1970-01-01T00:00:00Z).
    static func format(epochSeconds: Double) -> String {
        var buffer = ByteBufferAllocator().buffer(capacity: 20)
        write(epochSeconds: epochSeconds, to: &buffer)
        return String(buffer: buffer)
    }

    /// Writes ``format(epochSeconds:)``'s text into `buffer`.
    static func write(epochSeconds: Double, to buffer: inout ByteBuffer) {
        let bounded = epochSeconds.isFinite ? min(max(epochSeconds, -62_167_219_200), 253_402_300_799) : 0
        let seconds = Int64(bounded.rounded(.up))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        var text: (UInt64, UInt64, UInt64) = (0, 0, 0)  // the 20 bytes are filled in place, then written once
        withUnsafeMutableBytes(of: &text) { text in
            func put(_ value: Int64, width: Int, at offset: Int, then separator: UInt8) {
                var rest = value
                for index in (offset..<offset + width).reversed() {
                    text[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
                text[offset + width] = separator
            }
            put(year, width: 4, at: 0, then: UInt8(ascii: "-"))
            put(month, width: 2, at: 5, then: UInt8(ascii: "-"))
            put(day, width: 2, at: 8, then: UInt8(ascii: "T"))
            put(secondOfDay / 3600, width: 2, at: 11, then: UInt8(ascii: ":"))
            put(secondOfDay / 60 % 60, width: 2, at: 14, then: UInt8(ascii: ":"))
            put(secondOfDay % 60, width: 2, at: 17, then: UInt8(ascii: "Z"))
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: text[0..<20]))
        }
    }

    /// Year, month and day of the proleptic Gregorian calendar for a day count from 1970-01-01, by counting whole
    /// 400-year cycles (146,097 days each) from 0000-03-01, so that the leap day ends each counted year.
    static func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = daysSinceEpoch + 719_468  // days from 0000-03-01 to 1970-01-01
        let cycle = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfCycle = shifted - cycle * 146_097
        let yearOfCycle = (dayOfCycle - dayOfCycle / 1460 + dayOfCycle / 36_524 - dayOfCycle / 146_096) / 365
        let dayOfYear = dayOfCycle - (365 * yearOfCycle + yearOfCycle / 4 - yearOfCycle / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        let year = yearOfCycle + cycle * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}
