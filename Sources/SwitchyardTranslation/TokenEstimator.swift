import SwitchyardMessages

/// An estimate of a request's input tokens for upstreams that cannot count them (`count_tokens` on an
/// OpenAI-compatible endpoint; issue 3). Not billed.
///
/// It errs high, never low: an undercount stops Claude Code from compacting its context and ends in "prompt is
/// too long", while an overcount only makes it compact a little early.
///
/// What is counted: `system`; every message (4 tokens of framing each) with its text, tool calls (name and
/// input JSON), tool results, thinking text, images at a fixed 1,600 tokens (the most an Anthropic image costs;
/// OpenAI's high-detail images cost less) and documents (text as text, a PDF at 2,000 tokens per page, pages
/// counted from its `/Type /Page` objects or one per 20 KB, whichever is more); the tools that are sent (name,
/// description and the schema's JSON, plus 10 tokens each — server tools and deferred tools are not sent, see
/// ``OpenAIRequestTranslator``); 3 tokens for the reply's framing. Redacted thinking is not counted (it is
/// never sent to such an upstream).
///
/// Text is counted without a vocabulary, in one pass over its UTF-8, by rules that follow how BPE tokenizers
/// (cl100k, o200k, DeepSeek, Qwen) pre-split text: a run of letters costs one token per 4 letters of each
/// case-delimited word (`JSONParser` is `JSON` + `Parser`), a run of digits one per 3 digits, a run of ASCII
/// punctuation one per 2 characters, a line break run one, a run of spaces one unless it is a single space
/// before a word; a non-ASCII character costs 1 (2-byte UTF-8), 1.5 (3-byte: CJK) or 3 (4-byte: emoji). A run
/// of at least 16 non-blank ASCII characters mixing letters with at least 1 digit in 12 (base64, hex, hashes,
/// UUIDs) costs at least one token per 1.3 characters, since such strings tokenize densely. The sum is then
/// multiplied by 1.15.
///
/// Calibration (see the test `TokenEstimatorCalibrationTests` and `Fixtures/calibration/`): on the fixtures'
/// real Claude Code requests and on English, Swift, Python, JSON schemas, minified JS, `ls -l` output, lock-file
/// base64, hex, UUIDs, digits, Chinese, Japanese, Russian and emoji, the estimate is between 1.15× and 2.4× the
/// larger of the cl100k and DeepSeek token counts (about 1.6× on Claude Code's English prompts; plain
/// `bytes / 3` would be 0.5× on base64 and 0.5× on emoji).
public enum TokenEstimator {
    /// The estimate for a `count_tokens` body.
    public static func estimate(_ request: CountTokensRequest) -> Int {
        estimate(root: request.root)
    }

    /// The estimate for the input of a Messages body.
    public static func estimate(_ request: MessagesRequest) -> Int {
        estimate(root: request.root)
    }

    /// The estimate for a parsed Messages or count_tokens body.
    public static func estimate(root: JSONObject) -> Int {
        var total = replyFraming
        switch root["system"] {
        case .string(let text)?:
            total += messageFraming + estimate(text: text)
        case .array(let blocks)?:
            total += messageFraming
            for block in blocks { total += estimate(text: block["text"]?.stringValue ?? "") }
        default:
            break
        }
        for message in root["messages"]?.arrayValue ?? [] {
            total += messageFraming
            total += content(message["content"])
        }
        for tool in root["tools"]?.arrayValue ?? [] {
            if let type = tool["type"]?.stringValue, type != "custom" { continue }
            if tool["defer_loading"]?.boolValue == true { continue }
            total += toolFraming
            total += estimate(text: tool["name"]?.stringValue ?? "")
            total += estimate(text: tool["description"]?.stringValue ?? "")
            if let schema = tool["input_schema"] { total += estimate(json: schema) }
        }
        return total
    }

    /// The estimate for one piece of text (no framing).
    public static func estimate(text: String) -> Int {
        var text = text
        return text.withUTF8 { estimate(utf8: UnsafeRawBufferPointer($0)) }
    }

    /// Tokens charged for each image.
    public static let imageTokens = 1600
    /// Tokens charged for each PDF page.
    public static let pdfPageTokens = 2000

    static let messageFraming = 4
    static let toolFraming = 10
    static let replyFraming = 3
    static let factor = 1.15

    // MARK: - Content

    static func content(_ value: JSONValue?) -> Int {
        switch value {
        case .string(let text)?:
            return estimate(text: text)
        case .array(let blocks)?:
            var total = 0
            for block in blocks { total += self.block(block) }
            return total
        default:
            return 0
        }
    }

    static func block(_ block: JSONValue) -> Int {
        switch block["type"]?.stringValue {
        case "text":
            return estimate(text: block["text"]?.stringValue ?? "")
        case "image":
            return imageTokens
        case "document":
            return document(block)
        case "tool_use":
            return 8 + estimate(text: block["name"]?.stringValue ?? "") + estimate(json: block["input"] ?? .null)
        case "tool_result":
            return 8 + content(block["content"])
        case "thinking":
            return estimate(text: block["thinking"]?.stringValue ?? "")
        case "redacted_thinking":
            return 0
        default:
            return estimate(json: block)
        }
    }

    static func document(_ block: JSONValue) -> Int {
        let source = block["source"]
        switch source?["type"]?.stringValue {
        case "text":
            return estimate(text: source?["data"]?.stringValue ?? "")
        case "content":
            return content(source?["content"])
        case "base64":
            return pdfPageTokens * pdfPages(base64: source?["data"]?.stringValue ?? "")
        default:
            return pdfPageTokens * 5  // a URL or file id: the size is unknown
        }
    }

    /// Pages of a base64 PDF: `/Type /Page` objects, or one per 20 KB, whichever is more (at least 1).
    static func pdfPages(base64: String) -> Int {
        let bytes = decodeBase64(base64)
        let bySize = (bytes.count + 19_999) / 20_000
        return max(1, bySize, countPageObjects(bytes))
    }

    static func countPageObjects(_ bytes: [UInt8]) -> Int {
        let type = Array("/Type".utf8)
        let page = Array("/Page".utf8)
        var count = 0
        var index = 0
        let end = bytes.count
        while index + type.count <= end {
            guard bytes[index] == UInt8(ascii: "/"), bytes[index..<(index + type.count)].elementsEqual(type) else {
                index += 1
                continue
            }
            var cursor = index + type.count
            while cursor < end, bytes[cursor] == 0x20 || bytes[cursor] == 0x0A || bytes[cursor] == 0x0D { cursor += 1 }
            if cursor + page.count <= end, bytes[cursor..<(cursor + page.count)].elementsEqual(page),
               cursor + page.count == end || bytes[cursor + page.count] != UInt8(ascii: "s") {
                count += 1
            }
            index = cursor
        }
        return count
    }

    static func decodeBase64(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count / 4 * 3)
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in text.utf8 {
            let value: UInt32
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(byte - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(byte - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "+"), UInt8(ascii: "-"): value = 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): value = 63
            default: continue
            }
            accumulator = (accumulator << 6) | value
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return out
    }

    static func estimate(json value: JSONValue) -> Int {
        var bytes: [UInt8] = []
        JSONText.append(value, to: &bytes)
        return bytes.withUnsafeBytes { estimate(utf8: $0) }
    }

    static func estimate(utf8 slice: ArraySlice<UInt8>) -> Int {
        slice.withUnsafeBytes { estimate(utf8: $0) }
    }

    // MARK: - Text

    /// The estimate for UTF-8 text.
    static func estimate(utf8 bytes: UnsafeRawBufferPointer) -> Int {
        guard !bytes.isEmpty else { return 0 }
        let total = (plainCost(bytes) + denseExtra(bytes)) * factor
        return Int(total.rounded(.up))
    }

    /// The cost by pre-split runs (see the type's documentation).
    static func plainCost(_ b: UnsafeRawBufferPointer) -> Double {
        var cost = 0.0
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            if isLetter(c) {
                var wordLength = 1
                var j = i + 1
                while j < n, isLetter(b[j]) {
                    let upper = isUpper(b[j])
                    let previousUpper = isUpper(b[j - 1])
                    if upper && !previousUpper {
                        cost += perFour(wordLength)
                        wordLength = 1
                    } else if !upper && previousUpper && wordLength >= 2 {
                        // `JSONParser`: the last capital starts the next word.
                        cost += perFour(wordLength - 1)
                        wordLength = 2
                    } else {
                        wordLength += 1
                    }
                    j += 1
                }
                cost += perFour(wordLength)
                i = j
            } else if isDigit(c) {
                var j = i + 1
                while j < n, isDigit(b[j]) { j += 1 }
                cost += Double((j - i + 2) / 3)
                i = j
            } else if c == 0x20 {
                var j = i + 1
                while j < n, b[j] == 0x20 { j += 1 }
                if j - i > 1 || (j < n && isDigit(b[j])) { cost += 1 }
                i = j
            } else if c == 0x0A || c == 0x0D || c == 0x09 {
                var j = i + 1
                while j < n, b[j] == 0x0A || b[j] == 0x0D || b[j] == 0x09 || b[j] == 0x20 { j += 1 }
                cost += 1
                i = j
            } else if c < 0x80 {
                var j = i + 1
                while j < n, b[j] < 0x80, !isLetter(b[j]), !isDigit(b[j]), !isBlank(b[j]) { j += 1 }
                cost += Double((j - i + 1) / 2)
                i = j
            } else if c >= 0xF0 {
                cost += 3
                i += 4
            } else if c >= 0xE0 {
                cost += 1.5
                i += 3
            } else {
                cost += 1
                i += c >= 0xC0 ? 2 : 1
            }
        }
        return cost
    }

    /// The extra cost of dense runs (base64, hex, hashes): at least one token per 1.3 characters.
    static func denseExtra(_ b: UnsafeRawBufferPointer) -> Double {
        var extra = 0.0
        var i = 0
        let n = b.count
        while i < n {
            if isBlank(b[i]) {
                i += 1
                continue
            }
            var j = i
            var digits = 0
            var letters = 0
            var ascii = true
            while j < n, !isBlank(b[j]) {
                let c = b[j]
                if isDigit(c) { digits += 1 } else if isLetter(c) { letters += 1 } else if c >= 0x80 { ascii = false }
                j += 1
            }
            let length = j - i
            if length >= 16, ascii, digits >= 2, letters >= 4, digits * 12 >= length {
                let run = UnsafeRawBufferPointer(rebasing: b[i..<j])
                extra += max(0, Double(length) / 1.3 - plainCost(run))
            }
            i = j
        }
        return extra
    }

    @inline(__always) static func perFour(_ length: Int) -> Double { Double((length + 3) / 4) }
    @inline(__always) static func isLetter(_ c: UInt8) -> Bool { (c | 0x20) &- UInt8(ascii: "a") < 26 }
    @inline(__always) static func isUpper(_ c: UInt8) -> Bool { c &- UInt8(ascii: "A") < 26 }
    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }
    @inline(__always) static func isBlank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }
}
