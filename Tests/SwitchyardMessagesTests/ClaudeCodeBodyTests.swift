import SwitchyardMessages
import Testing

/// Bodies shaped like the ones Claude Code sends (WIRE §6) pass validation and keep their features.
struct ClaudeCodeBodyTests {
    /// The shape Claude Code uses for a model name it does not recognise: system-role messages inside `messages`
    /// (one of them last), adaptive thinking, `output_config`, `context_management`, tools with `defer_loading`
    /// and `$schema`, `cache_control` on system blocks, tool results and the last user text.
    static let unrecognisedModelBody = #"""
    {"model":"deepseek/deepseek-chat","messages":[{"role":"system","content":"<system-reminder>\nAs you answer the user's questions, you can use the following context:\n</system-reminder>"},{"role":"user","content":[{"type":"text","text":"List the files."},{"type":"text","text":"<system-reminder>\nThe user opened the file /tmp/x.swift in the IDE.\n</system-reminder>","cache_control":{"type":"ephemeral"}}]},{"role":"assistant","content":[{"type":"text","text":"I'll look."},{"type":"tool_use","id":"toolu_01A","name":"Bash","input":{"command":"ls -la","description":"List files"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01A","content":[{"type":"text","text":"total 0\n-rw-r--r-- a.swift"},{"type":"text","text":"<system-reminder>\nWhenever you read a file, consider whether it is malware.\n</system-reminder>"}],"is_error":false,"cache_control":{"type":"ephemeral"}}]},{"role":"system","content":"Remember: be concise."}],"temperature":1,"system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.331.abc; cc_entrypoint=cli;"},{"type":"text","text":"You are Claude Code, Anthropic's official CLI for Claude.","cache_control":{"type":"ephemeral"}},{"type":"text","text":"\nYou are an interactive CLI tool that helps users with software engineering tasks.","cache_control":{"type":"ephemeral","ttl":"1h"}}],"tools":[{"name":"Bash","description":"Executes a given bash command","input_schema":{"type":"object","properties":{"command":{"type":"string","description":"The command to execute"},"timeout":{"type":"number"}},"required":["command"],"additionalProperties":false,"$schema":"http://json-schema.org/draft-07/schema#"}},{"name":"mcp__ide__getDiagnostics","description":"Get language diagnostics","input_schema":{"type":"object","properties":{"uri":{"type":"string"}},"additionalProperties":false,"$schema":"http://json-schema.org/draft-07/schema#"},"defer_loading":true},{"type":"tool_search_tool_regex_20251119","name":"tool_search_tool_regex"}],"tool_choice":{"type":"auto"},"metadata":{"user_id":"{\"device_id\":\"0f3a\",\"account_uuid\":\"\",\"session_id\":\"9b1c\"}"},"max_tokens":32000,"thinking":{"type":"adaptive"},"output_config":{"effort":"high"},"context_management":{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]},"stream":true}
    """#

    /// The shape for a recognised Claude model: enabled thinking with `display`, and earlier turns carrying
    /// thinking blocks with empty text and a signature.
    static let recognisedModelBody = #"""
    {
      "model": "claude-sonnet-4-5-20250929",
      "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Fix the bug."}]},
        {"role": "assistant", "content": [
          {"type": "thinking", "thinking": "", "signature": "EqQBCkgIBxABGAIiQL+/9xZ3q1Bv0aY9m+Zl3wn0Nn5pZkFp5x1q\/Yl2q7V0uVbqz6g=="},
          {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"},
          {"type": "tool_use", "id": "toolu_02", "name": "Read", "input": {"file_path": "/src/main.swift"}}
        ]},
        {"role": "user", "content": [
          {"type": "tool_result", "tool_use_id": "toolu_02", "content": "1\tlet x = 1\n", "cache_control": {"type": "ephemeral"}}
        ]}
      ],
      "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],
      "tools": [{"name": "Read", "input_schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {"file_path": {"type": "string"}}}}],
      "metadata": {"user_id": "{\"device_id\":\"0f3a\"}"},
      "max_tokens": 32000,
      "thinking": {"type": "enabled", "budget_tokens": 31999, "display": "omitted"},
      "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
      "stream": true
    }
    """#

    @Test func theUnrecognisedModelShapePasses() throws {
        let request = try MessagesRequest.parse(utf8(Self.unrecognisedModelBody))
        #expect(request.model == "deepseek/deepseek-chat")
        #expect(request.maxTokens == 32000)
        #expect(request.stream)
        #expect(request.thinking == .adaptive)
        #expect(request.usesTools)
        #expect(!request.usesImages)
        #expect(request.root["output_config"]?["effort"] == .string("high"))
        let roles = request.root["messages"]?.arrayValue?.compactMap { $0["role"]?.stringValue }
        #expect(roles == ["system", "user", "assistant", "user", "system"])
    }

    @Test func theRecognisedModelShapePassesAndForwardsUnchanged() throws {
        let body = utf8(Self.recognisedModelBody)
        let request = try MessagesRequest.parse(body)
        #expect(request.thinking == .enabled(budgetTokens: 31999))
        #expect(request.usesTools)
        // Same model: not one byte differs (signatures, escapes, layout).
        #expect(request.forwardedBody(model: "claude-sonnet-4-5-20250929") == body)
    }

    @Test func theCountTokensVariantPasses() throws {
        let request = try CountTokensRequest.parse(utf8(Self.unrecognisedModelBody))
        #expect(request.model == "deepseek/deepseek-chat")
        #expect(request.thinking == .adaptive)
    }
}
