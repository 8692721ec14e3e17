import SwitchyardMessages
import Testing

/// `forwardedBody(model:)` changes only the top-level `model` value and drops `models`/`provider`.
struct ForwardedBodyByteExactnessTests {
    private func forwarded(_ body: String, model: String = "upstream-1") throws -> String {
        text(try MessagesRequest.parse(utf8(body)).forwardedBody(model: model))
    }

    @Test func replacesOnlyTheModelValue() throws {
        let body = #"{"model":"alias","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#
        #expect(try forwarded(body) == #"{"model":"upstream-1","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#)
    }

    @Test(arguments: [
        // models first
        (#"{"models":["a"],"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#,
         #"{"model":"upstream-1","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#),
        // provider in the middle
        (#"{"model":"m","provider":{"order":["p"]},"max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#,
         #"{"model":"upstream-1","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#),
        // models last
        (#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],"models":["a","b"]}"#,
         #"{"model":"upstream-1","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#),
        // both, adjacent, at the end
        (#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],"provider":{},"models":[]}"#,
         #"{"model":"upstream-1","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#),
        // both, adjacent, at the start
        (#"{"provider":{"sort":"price"},"models":["a"],"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#,
         #"{"model":"upstream-1","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#),
        // both, apart
        (#"{"models":["a"],"model":"m","provider":{"only":["x"]},"max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#,
         #"{"model":"upstream-1","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#),
    ])
    func removesTheExtensionsWhereverTheyAre(body: String, expected: String) throws {
        #expect(try forwarded(body) == expected)
    }

    @Test func keepsOddWhitespaceAroundWhatRemains() throws {
        let body = "\r\n\t{ \"model\" :\t\"m\" ,\n\n  \"models\"\t: [ \"a\" ] ,\r\n  \"max_tokens\":5 ,\"messages\" : [ {\"role\":\"user\",\"content\":\"x\"} ]\n , \"provider\" : { }  \n}\n  "
        let expected = "\r\n\t{ \"model\" :\t\"upstream-1\" ,\n\n  \"max_tokens\":5 ,\"messages\" : [ {\"role\":\"user\",\"content\":\"x\"} ]  \n}\n  "
        #expect(try forwarded(body) == expected)
    }

    @Test func keepsUnicodeAndEscapesByteForByte() throws {
        let tail = #","max_tokens":5,"messages":[{"role":"user","content":"caf\u00e9 café \ud83d\ude00 😀 \"q\" \\ \/ \n"}],"x":"\u2028"}"#
        let body = #"{"model":"m","models":["\u00e9"]"# + tail
        #expect(try forwarded(body) == #"{"model":"upstream-1""# + tail)
    }

    @Test func quotesTheUpstreamModel() throws {
        let body = #"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#
        let output = try forwarded(body, model: "we\"ird\\model\n")
        #expect(output == #"{"model":"we\"ird\\model\n","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#)
        #expect(try parseJSON(output).get()["model"] == .string("we\"ird\\model\n"))
    }

    @Test func leavesNestedLookalikesAlone() throws {
        let body = #"{"model":"m","max_tokens":5,"metadata":{"model":"keep","models":["keep"],"provider":{}},"messages":[{"role":"user","content":[{"type":"tool_use","id":"t","name":"f","input":{"model":"keep","provider":"keep"}}]}]}"#
        let expected = body.replacingFirst(#""model":"m""#, with: #""model":"upstream-1""#)
        #expect(try forwarded(body) == expected)
    }

    @Test func replacesAModelKeyWrittenWithEscapes() throws {
        let body = #"{"mod\u0065l":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#
        #expect(try forwarded(body) == #"{"mod\u0065l":"upstream-1","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#)
    }

    @Test func replacesEveryDuplicateModelAndDropsEveryDuplicateExtension() throws {
        let body = #"{"model":"a","models":["x"],"max_tokens":5,"model":"b","messages":[{"role":"user","content":"x"}],"models":["y"]}"#
        #expect(try forwarded(body) == #"{"model":"upstream-1","max_tokens":5,"model":"upstream-1","messages":[{"role":"user","content":"x"}]}"#)
    }

    @Test func aBodyWithThinkingSignaturesComesBackIdenticalExceptTheModel() throws {
        let body = #"""
        {"model":"sonnet","max_tokens":32000,"thinking":{"type":"enabled","budget_tokens":31999,"display":"omitted"},"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"thinking","thinking":"","signature":"ErUBCkYIBRgCIkB3q+\/9xZ\u002b1Bv0aY9m+Zl3wn0Nn5pZkFp5x1q\/Yl2q7V0uVbqz6gAAA=="},{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4a"},{"type":"text","text":"answer"}]},{"role":"user","content":"more"}] , "context_management" : {"edits":[{"type":"clear_thinking_20251015"}]}}
        """#
        let request = try MessagesRequest.parse(utf8(body))
        #expect(request.forwardedBody(model: "sonnet") == utf8(body))
        let renamed = text(request.forwardedBody(model: "claude-sonnet-4-5-20250929"))
        #expect(renamed == body.replacingFirst(#""model":"sonnet""#, with: #""model":"claude-sonnet-4-5-20250929""#))
    }

    @Test func countTokensForwardsTheSameWay() throws {
        let body = #"{"provider":{"sort":"price"}, "model":"m","messages":[{"role":"user","content":"x"}]}"#
        let request = try CountTokensRequest.parse(utf8(body))
        #expect(text(request.forwardedBody(model: "up")) == #"{"model":"up","messages":[{"role":"user","content":"x"}]}"#)
    }

    /// Random member orders and whitespace: the output always parses, keeps the other members' raw text in order,
    /// and differs from the input only by the removed members and the new model.
    @Test func randomLayoutsKeepEveryOtherMemberIntact() throws {
        var random = SplitMix(seed: 0x5EED)
        let whitespace = ["", " ", "\n", "\t", "\r\n", "  \n\t "]
        let others: [(String, String)] = [
            ("max_tokens", "7"),
            ("messages", #"[{"role":"user","content":"x, \"y\": z"}]"#),
            ("stream", "true"),
            ("system", #"[{"type":"text","text":"é,}"}]"#),
            ("unknown", #"{"models":[1],"provider":null}"#),
        ]
        for _ in 0..<300 {
            var members = others
            members.append(("model", #""m""#))
            if random.next() % 2 == 0 { members.append(("models", #"["a","b"]"#)) }
            if random.next() % 2 == 0 { members.append(("provider", #"{"order":["p"]}"#)) }
            members.shuffle(using: &random)
            func ws() -> String { whitespace[Int(random.next() % UInt64(whitespace.count))] }
            let texts = members.map { "\"\($0.0)\"\(ws()):\(ws())\($0.1)" }
            var body = "\(ws()){\(ws())"
            for (index, member) in texts.enumerated() {
                body += member
                if index < texts.count - 1 { body += "\(ws()),\(ws())" }
            }
            body += "\(ws())}\(ws())"

            let output = text(try MessagesRequest.parse(utf8(body)).forwardedBody(model: "up"))
            let parsed = try #require(try parseJSON(output).get().objectValue, "\(output)")
            let kept = members.filter { $0.0 != "models" && $0.0 != "provider" }
            #expect(parsed.keys == kept.map(\.0), "\(body)")
            #expect(parsed["model"] == .string("up"))
            var searchFrom = output.startIndex
            for (key, _) in kept where key != "model" {
                let raw = texts[members.firstIndex { $0.0 == key }!]
                guard let range = output[searchFrom...].firstRange(of: raw) else {
                    Issue.record("member \(key) not kept byte for byte in \(output.debugDescription)")
                    break
                }
                searchFrom = range.upperBound
            }
            let removed = members.filter { $0.0 == "models" || $0.0 == "provider" }
            let removedLength = removed.reduce(0) { total, member in
                total + texts[members.firstIndex { $0.0 == member.0 }!].utf8.count
            }
            // Exactly one separator (a comma and its whitespace) goes with each removed member.
            let removedSeparators = body.utf8.count - output.utf8.count - removedLength - (#""m""#.utf8.count - #""up""#.utf8.count)
            let commaCountDifference = body.utf8.filter { $0 == UInt8(ascii: ",") }.count - output.utf8.filter { $0 == UInt8(ascii: ",") }.count
            let commasInRemoved = removed.reduce(0) { $0 + $1.1.utf8.filter { $0 == UInt8(ascii: ",") }.count }
            #expect(commaCountDifference - commasInRemoved == removed.count)
            #expect(removedSeparators >= removed.count)
        }
    }
}

/// A small deterministic generator, so failures reproduce.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension String {
    /// `self` with the first occurrence of `target` replaced (no Foundation).
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        return String(self[..<range.lowerBound]) + replacement + String(self[range.upperBound...])
    }
}

/// `anthropicBody(model:)`: thinking blocks without a signature (made by a translated upstream) are left out, since
/// Anthropic refuses them; a body without any is forwarded byte for byte.
struct AnthropicBodyDropsUnsignedThinkingTests {
    @Test func aBodyWithOnlySignedThinkingIsForwardedByteForByte() throws {
        let body = #"{"model":"m", "max_tokens":5,"messages":[{"role":"user","content":"x"},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"sig=="},{"type":"text","text":"a"}]},{"role":"user","content":"y"}]}"#
        let request = try MessagesRequest.parse(utf8(body))
        #expect(!request.hasUnsignedThinking)
        #expect(request.anthropicBody(model: "up") == request.forwardedBody(model: "up"))
    }

    @Test func unsignedThinkingBlocksAreDroppedAndTheRestKept() throws {
        let body = #"{"provider":{"order":["p"]},"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"},{"role":"assistant","content":[{"type":"thinking","thinking":"from deepseek","signature":""},{"type":"text","text":"a"},{"type":"tool_use","id":"t1","name":"f","input":{"n":1.50}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"ok"}]},{"role":"assistant","content":[{"type":"thinking","thinking":"signed","signature":"sig=="}]}],"models":["b"]}"#
        let request = try MessagesRequest.parse(utf8(body))
        #expect(request.hasUnsignedThinking)
        #expect(text(request.anthropicBody(model: "up")) == #"{"model":"up","max_tokens":5,"messages":[{"role":"user","content":"x"},{"role":"assistant","content":[{"type":"text","text":"a"},{"type":"tool_use","id":"t1","name":"f","input":{"n":1.50}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"ok"}]},{"role":"assistant","content":[{"type":"thinking","thinking":"signed","signature":"sig=="}]}]}"#)
    }

    /// The gateway writes the upstream body through `writeAnthropicBody(model:_:)`, piece by piece.
    @Test(arguments: [
        #"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#,
        #"{"models":["a"],"model":"m","provider":{"only":["x"]},"max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#,
        " {\"provider\":{},\"model\" : \"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"\\u00e9\"}], \"models\":[] } ",
        #"{"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":""}]},{"role":"user","content":"y"}]}"#,
    ])
    func thePiecesMakeTheSameBody(body: String) throws {
        let request = try MessagesRequest.parse(utf8(body))
        var pieces: [UInt8] = []
        request.writeAnthropicBody(model: "up-\"1\"") { pieces.append(contentsOf: $0) }
        #expect(pieces == request.anthropicBody(model: "up-\"1\""))
        #expect(text(pieces).contains(#""model":"up-\"1\"""#) || text(pieces).contains(#""model" : "up-\"1\"""#))
    }
}

