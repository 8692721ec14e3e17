import SwitchyardAccounts
import NIOHTTP1

extension HTTPHeaders {
    /// The `anthropic-ratelimit-*` headers of a limited key (reset times in RFC 3339).
    mutating func addRateLimits(_ decision: RateLimiter.Decision) {
        if let window = decision.requests {
            add(window, limit: "anthropic-ratelimit-requests-limit",
                remaining: "anthropic-ratelimit-requests-remaining", reset: "anthropic-ratelimit-requests-reset")
        }
        if let window = decision.tokens {
            add(window, limit: "anthropic-ratelimit-tokens-limit",
                remaining: "anthropic-ratelimit-tokens-remaining", reset: "anthropic-ratelimit-tokens-reset")
        }
    }

    private mutating func add(_ window: RateLimiter.Window, limit: String, remaining: String, reset: String) {
        add(name: limit, value: String(window.limit))
        add(name: remaining, value: String(window.remaining))
        add(name: reset, value: RFC3339.format(epochSeconds: window.resetAt))
    }
}

/// UTC timestamps such as `2026-11-24T22:20:00Z`, formatted by arithmetic (no calendar, no locale, no allocation
/// but the string): they go into headers on the hot path.
enum RFC3339 {
    /// The whole second at or after `epochSeconds` (seconds since 1970-01-01T00:00:00Z), clamped to the years
    /// 0000–9999 that the format can write (a value that is not finite gives 1970-01-01T00:00:00Z).
    static func format(epochSeconds: Double) -> String {
        let bounded = epochSeconds.isFinite ? min(max(epochSeconds, -62_167_219_200), 253_402_300_799) : 0
        let seconds = Int64(bounded.rounded(.up))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        var text = ""
        text.reserveCapacity(20)
        append(year, width: 4, to: &text)
        text.append("-")
        append(month, width: 2, to: &text)
        text.append("-")
        append(day, width: 2, to: &text)
        text.append("T")
        append(secondOfDay / 3600, width: 2, to: &text)
        text.append(":")
        append(secondOfDay / 60 % 60, width: 2, to: &text)
        text.append(":")
        append(secondOfDay % 60, width: 2, to: &text)
        text.append("Z")
        return text
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

    private static func append(_ value: Int64, width: Int, to text: inout String) {
        let digits = String(value)
        if digits.utf8.count < width { text.append(String(repeating: "0", count: width - digits.utf8.count)) }
        text.append(digits)
    }
}
