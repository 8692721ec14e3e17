import SwitchyardMessages
import SwitchyardTranslation
import Testing

/// The count_tokens estimate for OpenAI-compatible upstreams errs high, never low, against real token counts
/// (Fixtures/calibration: cl100k_base and DeepSeek V4 counts of the translated requests and of typical texts,
/// made by the scripts there), and is not absurdly high either.
struct TokenEstimatorCalibrationTests {
    /// Above the real count, and at most this many times it.
    static let ceiling = 2.5

    @Test(arguments: [
        "text-system", "image", "tools-roundtrip", "thinking-history", "claude-code-agent-turn1",
        "claude-code-agent-turn2", "claude-code-sonnet-oneshot", "dense-content",
    ])
    func requestEstimatesAreAboveThePromptTokensOfTheTranslatedRequest(_ name: String) throws {
        let calibration = try json(fixture("calibration/prompt-tokens.json"))
        let real = try #require(calibration[name]?["prompt_tokens"]?.intValue)
        let request = try messagesRequest("requests/\(name).anthropic.json")
        let estimate = TokenEstimator.estimate(request)
        #expect(estimate >= real, "\(name): estimate \(estimate) < real \(real)")
        #expect(Double(estimate) <= Double(real) * Self.ceiling, "\(name): estimate \(estimate) vs real \(real)")
        // count_tokens bodies give the same figure.
        let count = try CountTokensRequest.parse(try fixture("requests/\(name).anthropic.json"))
        #expect(TokenEstimator.estimate(count) == estimate)
    }

    @Test func textEstimatesAreAboveBothTokenizersForEveryKindOfText() throws {
        let samples = try #require(try json(fixture("calibration/text-samples.json")).objectValue)
        #expect(samples.count >= 15)
        for (name, sample) in samples.members {
            let text = try #require(sample["text"]?.stringValue)
            let real = max(sample["cl100k_base"]?.intValue ?? .max, sample["deepseek_v4"]?.intValue ?? .max)
            let estimate = TokenEstimator.estimate(text: text)
            #expect(estimate >= real, "\(name): estimate \(estimate) < real \(real)")
            #expect(Double(estimate) <= Double(real) * Self.ceiling, "\(name): estimate \(estimate) vs real \(real)")
        }
    }

    @Test func everyPartOfTheRequestCounts() throws {
        let base = #"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hello"}]"#
        let plain = TokenEstimator.estimate(try request(base + "}"))
        let withSystem = TokenEstimator.estimate(try request(base + #","system":"You are a careful assistant."}"#))
        let withTool = TokenEstimator.estimate(try request(base + #","tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}]}"#))
        let withDeferredTool = TokenEstimator.estimate(try request(base + #","tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object"},"defer_loading":true},{"type":"web_search_20250305","name":"web_search"}]}"#))
        let withImage = TokenEstimator.estimate(try request(#"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":"hello"},{"type":"image","source":{"type":"url","url":"https://e.com/a.png"}}]}]}"#))
        #expect(withSystem > plain)
        #expect(withTool > plain + 10)
        #expect(withDeferredTool == plain)  // not sent to the upstream, not counted
        #expect(withImage == plain + TokenEstimator.imageTokens)
        #expect(TokenEstimator.estimate(text: "") == 0)
    }

    @Test func pdfPagesAreCountedFromTheDocument() throws {
        // A three-page PDF skeleton: three /Type /Page objects and one /Type /Pages.
        let pdf = "%PDF-1.4\n1 0 obj << /Type /Pages /Kids [2 0 R 3 0 R 4 0 R] /Count 3 >> endobj\n"
            + "2 0 obj << /Type /Page >> endobj\n3 0 obj <</Type/Page>> endobj\n4 0 obj << /Type\n/Page >> endobj\n%%EOF"
        let base64 = Self.base64(Array(pdf.utf8))
        let body = #"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"\#(base64)"}}]}]}"#
        let plain = TokenEstimator.estimate(try request(#"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[]}]}"#))
        #expect(TokenEstimator.estimate(try request(body)) == plain + 3 * TokenEstimator.pdfPageTokens)
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var out = ""
        var index = 0
        while index < bytes.count {
            let chunk = Array(bytes[index..<min(index + 3, bytes.count)])
            let value = (UInt32(chunk[0]) << 16) | (UInt32(chunk.count > 1 ? chunk[1] : 0) << 8) | UInt32(chunk.count > 2 ? chunk[2] : 0)
            for position in 0..<4 {
                out.append(position <= chunk.count ? alphabet[Int((value >> (18 - 6 * UInt32(position))) & 63)] : "=")
            }
            index += 3
        }
        return out
    }
}
