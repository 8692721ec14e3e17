import Foundation
import SwitchyardAccounts
import Testing

/// The attempts column is hand-written JSON: it must read back as exactly the values written, escapes included.
@Suite struct UpstreamAttemptsEncodeAsJSON {
    @Test(arguments: [
        "anthropic", "claude-sonnet-4-5", "", "a \"quoted\" name", #"back\slash"#, "line\nbreak\ttab\r",
        "bell\u{07}and\u{1F}unit", "caf\u{E9} \u{1F680}",
    ])
    func everyValueReadsBackUnchanged(value: String) throws {
        let attempts = [
            UpstreamAttempt(provider: value, model: "m", upstreamModel: value, outcome: "ok", latencyMs: 12),
            UpstreamAttempt(provider: "p", model: value, upstreamModel: "u", outcome: value, latencyMs: 0),
        ]
        let text = attempts.jsonText
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        #expect(parsed.count == 2)
        #expect(parsed[0]["provider"] as? String == value)
        #expect(parsed[0]["upstream_model"] as? String == value)
        #expect(parsed[0]["latency_ms"] as? Int == 12)
        #expect(parsed[1]["model"] as? String == value)
        #expect(parsed[1]["outcome"] as? String == value)
    }
}
