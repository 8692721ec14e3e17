@testable import SwitchyardMessages
import Testing

/// `MessagesRequest.parse` validates on a skim tree (strings as byte ranges, nothing decoded). It must give the
/// verdicts, messages and fields that validating the full `JSONValue` tree gives, and build `root` only on demand.
struct SkimValidationTests {
    /// The verdict of one path: the message it refuses with, or the fields it keeps.
    private enum Verdict: Equatable, CustomStringConvertible {
        case refused(String)
        case accepted(Fields)

        var description: String {
            switch self {
            case .refused(let message): "refused: \(message)"
            case .accepted(let fields): "accepted: \(fields)"
            }
        }
    }

    private struct Fields: Equatable {
        var model: String
        var maxTokens: Int
        var stream: Bool
        var fallbackModels: [String]
        var stopSequences: [String]
        var providerPreferences: JSONObject?
        var thinking: Thinking?
        var usesTools, usesImages, usesDocuments, hasUnsignedThinking: Bool

        init(_ request: MessagesRequest) {
            model = request.model
            maxTokens = request.maxTokens
            stream = request.stream
            fallbackModels = request.fallbackModels
            stopSequences = request.stopSequences
            providerPreferences = request.providerPreferences
            thinking = request.thinking
            usesTools = request.usesTools
            usesImages = request.usesImages
            usesDocuments = request.usesDocuments
            hasUnsignedThinking = request.hasUnsignedThinking
        }
    }

    private static func verdict(_ parse: () throws(InvalidRequest) -> MessagesRequest) -> Verdict {
        do throws(InvalidRequest) {
            return .accepted(Fields(try parse()))
        } catch {
            return .refused(error.message)
        }
    }

    private static func skimVerdict(_ body: [UInt8]) -> Verdict {
        verdict { () throws(InvalidRequest) in try MessagesRequest.parse(body) }
    }

    private static func fullTreeVerdict(_ body: [UInt8]) -> Verdict {
        verdict { () throws(InvalidRequest) in try MessagesRequest.parseWithFullTree(body) }
    }

    /// `prefix`, then a long string of `filler` with `inner` in its middle, closed by a quote, then `suffix`.
    private static func longString(_ inner: [UInt8], filler: String = "lorem ipsum ", prefix: String, suffix: String) -> [UInt8] {
        let half = Array(String(repeating: filler, count: 200).utf8)
        return utf8(prefix) + half + inner + half + utf8("\"" + suffix)
    }

    private static let aLongPrompt = String(repeating: #"Read the file \"a.swift\"\n\tthen café ☕ \u00e9\ud83d\ude00 / "#, count: 300)

    /// A body and the message it is refused with (`nil`: accepted).
    struct JudgedBody: Sendable, CustomTestStringConvertible {
        let body: [UInt8]
        let expected: String?

        var testDescription: String {
            let start = text(Array(body.prefix(70))).debugDescription
            return body.count > 70 ? "\(start)… (\(body.count) bytes)" : start
        }
    }

    /// Bodies the skim path must judge exactly as the full tree does, with the message expected for each.
    static let judgedBodies: [JudgedBody] = judged.map { JudgedBody(body: $0.body, expected: $0.expected) }

    private static let judged: [(body: [UInt8], expected: String?)] = [
        // Syntax: every reason, at its offset.
        (utf8(#"{"model": }"#), "The request body is not valid JSON: unexpected character at byte 10"),
        (utf8(#"{"model":"m"} x"#), "The request body is not valid JSON: unexpected data after the JSON value at byte 14"),
        (utf8(#"{"model":"m\x"}"#), "The request body is not valid JSON: invalid escape sequence at byte 12"),
        (utf8(#"{"model":"m\u12G4"}"#), #"The request body is not valid JSON: invalid hex digit in \u escape at byte 15"#),
        (utf8(#"{"model":"m\ud83d\uZZZZ"}"#), #"The request body is not valid JSON: invalid hex digit in \u escape at byte 19"#),
        (utf8(#"{"model":"m\u12"#), #"The request body is not valid JSON: incomplete \u escape at byte 13"#),
        (utf8("{\"model\":\"m\u{01}\"}"), "The request body is not valid JSON: control character in string at byte 11"),
        (utf8("{\"model\":\"m\\n\n\"}"), "The request body is not valid JSON: control character in string at byte 13"),
        (utf8(#"{"model":"never closed"#), "The request body is not valid JSON: unterminated string at byte 9"),
        (utf8(#"{"model":"never closed\"#), "The request body is not valid JSON: unterminated string at byte 9"),
        (utf8(#"{"model":"m","max_tokens":01}"#), "The request body is not valid JSON: leading zero in number at byte 27"),
        (utf8(#"{"model":"m","max_tokens":1.}"#), "The request body is not valid JSON: expected a digit after '.' at byte 28"),
        (utf8(#"{"model":"m","stream":tru}"#), "The request body is not valid JSON: invalid literal at byte 25"),
        (utf8(#"{"model":"m" "x":1}"#), "The request body is not valid JSON: expected ',' or '}' in object at byte 13"),
        (utf8(#"{"model":"m","messages":[1 2]}"#), "The request body is not valid JSON: expected ',' or ']' in array at byte 27"),
        (utf8(#"{"model":"m",}"#), "The request body is not valid JSON: expected a string key at byte 13"),
        (utf8(#"{"model" "m"}"#), "The request body is not valid JSON: expected ':' after object key at byte 9"),
        (utf8(#"{"model":"m","#), "The request body is not valid JSON: unexpected end of input in object at byte 13"),
        (utf8(""), "The request body is not valid JSON: unexpected end of input at byte 0"),
        (utf8(#"{"x":"# + String(repeating: "[", count: 512) + String(repeating: "]", count: 512) + "}"),
         "The request body is not valid JSON: nesting deeper than 512 levels at byte 516"),
        (utf8(messagesBody(#""x":"# + String(repeating: "[", count: 511) + String(repeating: "]", count: 511))), nil),
        // Invalid UTF-8 inside long strings (the 8-byte scan), with and without escapes, and in a key.
        (longString([0xC3, 0x28], prefix: #"{"model":"m","system":""#, suffix: "}"),
         "The request body is not valid JSON: invalid UTF-8 in string at byte 23"),
        (longString([0xED, 0xA0, 0x80], filler: #"esc\"aped\n "#, prefix: #"{"model":"m","system":""#, suffix: "}"),
         "The request body is not valid JSON: invalid UTF-8 in string at byte 23"),
        (longString([0xE2, 0x82, UInt8(ascii: "\\"), UInt8(ascii: "n")], prefix: #"{"model":"m","system":""#, suffix: "}"),
         "The request body is not valid JSON: invalid UTF-8 in string at byte 23"),
        (longString([0xC0, 0x80], prefix: #"{"model":"m",""#, suffix: ":1}"),
         "The request body is not valid JSON: invalid UTF-8 in string at byte 14"),
        (utf8(#"{"model":"m","system":""#) + [0xF4, 0x90, 0x80, 0x80] + utf8(#""}"#),
         "The request body is not valid JSON: invalid UTF-8 in string at byte 23"),
        // Not an object.
        (utf8("[1,2]"), "The request body must be a JSON object"),
        (utf8(#""text""#), "The request body must be a JSON object"),
        // Field checks, through escapes, duplicates and non-ASCII text.
        (utf8(#"{"model":"","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#),
         "model: String should have at least 1 character"),
        (utf8(#"{"model":"x","model":"","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#),
         "model: String should have at least 1 character"),
        (utf8(#"{"model":"","model":"x","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#), nil),
        (utf8(#"{"mod\u0065l":"","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#),
         "model: String should have at least 1 character"),
        (utf8(#"{"model":"\u00e9t\u00e9 \ud83d","max_tokens":10,"messages":[{"role":"us\u0065r","content":"hi"}]}"#), nil),
        (utf8(messagesBody(messages: #"[{"role":"üser","content":"x"}]"#)), "messages.0.role: Input should be 'user', 'assistant' or 'system'"),
        (utf8(messagesBody(messages: #"[{"role":"users","content":"x"}]"#)), "messages.0.role: Input should be 'user', 'assistant' or 'system'"),
        (utf8(messagesBody(messages: #"[{"role":"use","content":"x"}]"#)), "messages.0.role: Input should be 'user', 'assistant' or 'system'"),
        (utf8(messagesBody(messages: #"[{"role":"user","content":"x","role":"bot"}]"#)), "messages.0.role: Input should be 'user', 'assistant' or 'system'"),
        (utf8(blocksBody(#"[{"t\u0079pe":"t\u0065xt"}]"#)), "messages.0.content.0.text: Field required"),
        (utf8(blocksBody(#"[{"type":"thinking","thinking":"t","signature":""}]"#)), nil),
        (utf8(blocksBody(#"[{"type":"thinking","thinking":"t","signature":"\u0000"}]"#)), nil),
        (utf8(blocksBody(#"[{"type":"image","source":{"type":"b\u0061se64","data":"AA=="}}]"#)), "messages.0.content.0.source.media_type: Field required"),
        (utf8(blocksBody(#"[{"type":"document","source":{}}]"#)), "messages.0.content.0.source.type: Field required"),
        (utf8(blocksBody(#"[{"type":"tool_result","tool_use_id":"t","content":[{"type":"document","source":{"type":"text"}}]}]"#)), nil),
        (utf8(blocksBody(#"[{"type":"redacted_thinking","data":5}]"#)), "messages.0.content.0.data: Input should be a valid string"),
        (utf8(blocksBody(#"[{"type":"hologram_2031"},{"type":5}]"#)), "messages.0.content.1.type: Input should be a valid string"),
        (utf8(messagesBody(#""max_tokens":1e3"#)), "max_tokens: Input should be a valid integer"),
        (utf8(messagesBody(maxTokens: "-0")), "max_tokens: Input should be greater than or equal to 1"),
        (utf8(messagesBody(maxTokens: "9223372036854775807")), nil),
        (utf8(messagesBody(#""temperature":1.0E0,"top_p":0.5e-300,"top_k":7"#)), nil),
        (utf8(messagesBody(#""temperature":1.0000001"#)), "temperature: Input should be less than or equal to 1"),
        (utf8(messagesBody(#""stop_sequences":["\n\nHuman:","END\u2028",""]"#)), nil),
        (utf8(messagesBody(#""stop_sequences":["a",null]"#)), "stop_sequences.1: Input should be a valid string"),
        (utf8(messagesBody(#""models":["a\/b","\u00e9"],"provider":{"order":["p\"q"],"sort":null}"#)), nil),
        (utf8(messagesBody(#""models":["a",""]"#)), "models.1: String should have at least 1 character"),
        (utf8(messagesBody(#""metadata":{"user_id":"{\"d\":1}","user_id":[]}"#)), "metadata.user_id: Input should be a valid string"),
        (utf8(messagesBody(#""tools":[{"type":"cust\u006fm","name":"a"}]"#)), "tools.0.input_schema: Field required"),
        (utf8(messagesBody(#""tools":[{"type":"customer","name":"a"}]"#)), nil),
        (utf8(messagesBody(#""tool_choice":{"type":"tool","name":5}"#)), "tool_choice.name: Input should be a valid string"),
        (utf8(messagesBody(#""thinking":{"type":"enabled","budget_tokens":100}"#)), "thinking.budget_tokens: must be less than max_tokens (100)"),
        (utf8(messagesBody(#""thinking":{"type":"t\u00fcrbo"}"#)), nil),
        (utf8(messagesBody(#""system":[{"type":"text","text":"a"},{"type":"t\u0065xt!","text":"b"}]"#)), "system.1.type: Input should be 'text'"),
        (utf8(messagesBody(#""system":"\#(aLongPrompt)""#)), nil),
        (utf8(messagesBody(#""system":"\#(String(repeating: "café ☕ 日本語 ", count: 300))""#)), nil),
        (utf8(ClaudeCodeBodyTests.unrecognisedModelBody), nil),
        (utf8(ClaudeCodeBodyTests.recognisedModelBody), nil),
    ]

    @Test(arguments: judgedBodies)
    func skimAndFullTreeGiveTheSameVerdict(judged: JudgedBody) {
        let skim = Self.skimVerdict(judged.body)
        #expect(skim == Self.fullTreeVerdict(judged.body))
        if let expected = judged.expected {
            #expect(skim == .refused(expected))
        } else if case .refused(let message) = skim {
            Issue.record("refused: \(message)")
        }
    }

    @Test func keepsTheDecodedValuesItReturns() throws {
        let body = messagesBody(
            #""model":"cl\u0061ude-\u00e9","stop_sequences":["\n\nHuman:","\ud83d\ude00"],"models":["a\/b"],"#
                + #""provider":{"order":["p\"q"]},"thinking":{"type":"t\u00fcrbo"}"#)
        let request = try MessagesRequest.parse(utf8(body))
        #expect(request.model == "claude-é")
        #expect(request.stopSequences == ["\n\nHuman:", "😀"])
        #expect(request.fallbackModels == ["a/b"])
        #expect(request.providerPreferences == ["order": .array([.string("p\"q")])])
        #expect(request.thinking == .other(type: "türbo"))
    }

    @Test(arguments: judgedBodies.filter { $0.expected == nil })
    func buildsTheRootOnDemandAsTheFullParserDoes(judged: JudgedBody) throws {
        let request = try MessagesRequest.parse(judged.body)
        let parsed = try #require(try JSONParser.parse(judged.body).objectValue)
        #expect(request.root == parsed)
        let copy = request
        #expect(copy.root == parsed)  // the cached tree, shared by copies
    }

    @Test(arguments: [
        (#"{"models":["a"],"mod\u0065l":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],"provid\u0065r":{}}"#,
         #"{"mod\u0065l":"upstream-1","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#),
        (#"{ "model" : "a" , "model":"b","max_tokens":5,"messages":[{"role":"user","content":"x"}] , "models" : [ ] }"#,
         #"{ "model" : "upstream-1" , "model":"upstream-1","max_tokens":5,"messages":[{"role":"user","content":"x"}] }"#),
        (#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],"providers":{},"model_":1}"#,
         #"{"model":"upstream-1","max_tokens":5,"messages":[{"role":"user","content":"x"}],"providers":{},"model_":1}"#),
    ])
    func forwardsTheBodyAsTheFullTreeDoes(body: String, expected: String) throws {
        let skim = try MessagesRequest.parse(utf8(body)).forwardedBody(model: "upstream-1")
        let full = try MessagesRequest.parseWithFullTree(utf8(body)).forwardedBody(model: "upstream-1")
        #expect(text(skim) == expected)
        #expect(skim == full)
    }

    @Test func forwardsAClaudeCodeBodyUnchanged() throws {
        let body = utf8(ClaudeCodeBodyTests.unrecognisedModelBody)
        let request = try MessagesRequest.parse(body)
        #expect(request.forwardedBody(model: "deepseek/deepseek-chat") == body)
        #expect(request.forwardedBody(model: "x") == (try MessagesRequest.parseWithFullTree(body)).forwardedBody(model: "x"))
    }

    /// The skim tree checks UTF-8 without making strings; it must decide as `String(validating:)` does.
    @Test func checksUTF8AsStringValidatingDoes() {
        func agree(_ bytes: [UInt8]) -> Bool {
            let expected = String(validating: bytes, as: UTF8.self) != nil
            return bytes.withUnsafeBytes { isValidUTF8($0) } == expected
        }
        var disagreements: [[UInt8]] = []
        for first in 0...255 {
            for second in 0...255 where !agree([UInt8(first), UInt8(second)]) {
                disagreements.append([UInt8(first), UInt8(second)])
            }
        }
        // Lead bytes of 3 and 4 bytes followed by every continuation byte and by bytes at and around the edges.
        let edges: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xF4, 0xFF]
        let seconds = [0x00, 0x7F] + Array(0x80...0xBF) + [0xC0, 0xFF]
        for lead in [0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF8, 0xFF] {
            for second in seconds {
                for third in edges {
                    let three = [UInt8(lead), UInt8(second), third]
                    if !agree(three) { disagreements.append(three) }
                    for fourth in edges where !agree(three + [fourth]) { disagreements.append(three + [fourth]) }
                }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
    }

    /// Literals of one Unicode scalar are stored without a pointer: comparing against them must not trap.
    @Test func comparesWithOneScalarLiterals() throws {
        #expect("a".equals("a"))
        #expect(!"ab".equals("a"))
        #expect("\u{E9}".equals("e\u{301}"))  // canonically equivalent
        let verdict = try RequestBody.skim(Array(#"{"k":"a","e":"\u00e9"}"#.utf8)) { root, _ in
            (root["k"]?.stringValue?.equals("a"), root["k"]?.stringValue?.equals("b"),
             root["e"]?.stringValue?.equals("\u{E9}"))
        }
        #expect(verdict.0 == true)
        #expect(verdict.1 == false)
        #expect(verdict.2 == true)
    }
}

