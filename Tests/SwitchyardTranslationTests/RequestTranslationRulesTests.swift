import SwitchyardMessages
import SwitchyardTranslation
import Testing

/// The request-direction rules one at a time: what is refused, merged, moved, mapped or dropped.
struct RequestTranslationRulesTests {
    static func body(_ messages: String, _ extra: String = "") -> String {
        #"{"model":"m","max_tokens":100,"messages":\#(messages)\#(extra.isEmpty ? "" : "," + extra)}"#
    }

    // MARK: Refusals name the limitation and the block

    @Test func anUnknownBlockTypeIsRefusedWithItsPath() throws {
        let message = try refusal(Self.body(#"[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"search_result","source":"s","title":"t","content":[]}]}]"#))
        #expect(message?.hasPrefix("messages.0.content.1: ") == true)
        #expect(message?.contains("'search_result'") == true)
    }

    @Test func anUnknownBlockTypeInAssistantHistoryIsRefused() throws {
        let message = try refusal(Self.body(#"[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}]},{"role":"user","content":"go on"}]"#))
        #expect(message?.hasPrefix("messages.1.content.0: ") == true)
    }

    @Test func imagesAreRefusedWhereTheEndpointTakesNone() throws {
        let image = #"[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}]}]"#
        #expect(try refusal(Self.body(image), dialect: OpenAIDialect(supportsImages: false)) == "messages.0.content.0: this model's upstream does not accept images")
        #expect(try refusal(Self.body(image)) == nil)
        let fileImage = #"[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"file_011"}}]}]"#
        #expect(try refusal(Self.body(fileImage))?.contains("'file'") == true)
    }

    @Test func pdfDocumentsBecomeFilePartsOnlyWhereSupported() throws {
        let pdf = #"[{"role":"user","content":[{"type":"document","title":"report.pdf","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0xLjQK"}},{"type":"text","text":"Summarise."}]}]"#
        #expect(try refusal(Self.body(pdf)) == "messages.0.content.0: this model's upstream does not accept PDF documents")
        let translated = try translateRequest(request(Self.body(pdf)), dialect: OpenAIDialect(supportsDocuments: true))
        let expected = try json(#"[{"role":"user","content":[{"type":"file","file":{"filename":"report.pdf","file_data":"data:application/pdf;base64,JVBERi0xLjQK"}},{"type":"text","text":"Summarise."}]}]"#)
        #expect(translated["messages"] == expected)
    }

    @Test func textDocumentsAreSentAsTextEverywhere() throws {
        let document = #"[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"The grass is green."},"citations":{"enabled":true}},{"type":"text","text":"What colour?"}]}]"#
        let translated = try translateRequest(request(Self.body(document)))
        #expect(translated["messages"] == (try json(#"[{"role":"user","content":"The grass is green.\n\nWhat colour?"}]"#)))
    }

    @Test func aToolChoiceNamingAToolThatIsNotSentIsRefused() throws {
        let tools = #""tools":[{"type":"web_search_20250305","name":"web_search"},{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"web_search"}"#
        #expect(try refusal(Self.body(#"[{"role":"user","content":"q"}]"#, tools))?.hasPrefix("tool_choice.name: ") == true)
    }

    @Test func aConversationThatIsEmptyOnceTranslatedIsRefused() throws {
        #expect(try refusal(Self.body(#"[{"role":"user","content":[{"type":"text","text":""}]}]"#)) != nil)
    }

    // MARK: Roles, order, merging

    @Test func consecutiveSameRoleMessagesAreMergedAndEmptyOnesDropped() throws {
        let messages = #"[{"role":"user","content":"a"},{"role":"user","content":[{"type":"text","text":"b"}]},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"}]},{"role":"user","content":"c"},{"role":"assistant","content":"x"},{"role":"assistant","content":[{"type":"text","text":""},{"type":"text","text":"y"}]}]"#
        let translated = try translateRequest(request(Self.body(messages)))
        #expect(translated["messages"] == (try json(#"[{"role":"user","content":"a\n\nb\n\nc"},{"role":"assistant","content":"x\n\ny"}]"#)))
    }

    @Test func systemRoleMessagesStayInPlaceAsSystemMessages() throws {
        let messages = #"[{"role":"system","content":"first"},{"role":"user","content":"q"},{"role":"system","content":[{"type":"text","text":"late","cache_control":{"type":"ephemeral"}}]}]"#
        let translated = try translateRequest(request(Self.body(messages, #""system":"top""#)))
        #expect(translated["messages"] == (try json(#"[{"role":"system","content":"top\n\nfirst"},{"role":"user","content":"q"},{"role":"system","content":"late"}]"#)))
    }

    @Test func toolResultImagesTravelInTheUserMessageAfterTheToolMessage() throws {
        let messages = #"[{"role":"user","content":"shot?"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"screenshot","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"captured"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]}]}]"#
        let translated = try translateRequest(request(Self.body(messages)))
        let expected = try json(#"[{"role":"user","content":"shot?"},{"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function","function":{"name":"screenshot","arguments":"{}"}}]},{"role":"tool","tool_call_id":"t1","content":"captured"},{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]"#)
        #expect(translated["messages"] == expected)
    }

    @Test func anErrorToolResultWithoutContentSaysError() throws {
        let messages = #"[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","is_error":true},{"type":"tool_result","tool_use_id":"t2"}]}]"#
        let messagesOut = try translateRequest(request(Self.body(messages)))["messages"]?.arrayValue ?? []
        #expect(messagesOut.count == 4)
        #expect(messagesOut[2] == (try json(#"{"role":"tool","tool_call_id":"t1","content":"Error"}"#)))
        #expect(messagesOut[3] == (try json(#"{"role":"tool","tool_call_id":"t2","content":""}"#)))
    }

    @Test func echoedReasoningIsEmptyWhenTheTurnHadNoThinking() throws {
        let messages = #"[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{"a":1}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"ok"}]}]"#
        let translated = try translateRequest(request(Self.body(messages)), dialect: OpenAIDialect(echoReasoningContent: true))
        #expect(translated["messages"]?.arrayValue?[1]["reasoning_content"] == .string(""))
    }

    // MARK: Parameters

    @Test(arguments: [
        (#""thinking":{"type":"enabled","budget_tokens":1024}"#, "low"),
        (#""thinking":{"type":"enabled","budget_tokens":1025}"#, "medium"),
        (#""thinking":{"type":"enabled","budget_tokens":8192}"#, "medium"),
        (#""thinking":{"type":"enabled","budget_tokens":8193}"#, "high"),
        (#""thinking":{"type":"adaptive"}"#, "medium"),
        (#""thinking":{"type":"adaptive"},"output_config":{"effort":"low"}"#, "low"),
        (#""thinking":{"type":"adaptive"},"output_config":{"effort":"high"}"#, "high"),
        (#""thinking":{"type":"adaptive"},"output_config":{"effort":"max"}"#, "high"),
        (#""thinking":{"type":"disabled"},"output_config":{"effort":"high"}"#, nil),
        (#""temperature":1"#, nil),
    ] as [(String, String?)])
    func thinkingMapsToReasoningEffort(_ members: String, _ effort: String?) throws {
        let body = #"{"model":"m","max_tokens":20000,"messages":[{"role":"user","content":"q"}],\#(members)}"#
        let translated = try translateRequest(request(body))
        #expect(translated["reasoning_effort"]?.stringValue == effort)
        let none = try translateRequest(request(body), dialect: OpenAIDialect(reasoning: .none))
        #expect(none["reasoning_effort"] == nil)
        let field = try translateRequest(request(body), dialect: OpenAIDialect(reasoning: .field("effort_level")))
        #expect(field["effort_level"]?.stringValue == effort)
    }

    @Test(arguments: [
        (#"{"type":"auto"}"#, #""auto""#, nil),
        (#"{"type":"any","disable_parallel_tool_use":false}"#, #""required""#, nil),
        (#"{"type":"none","disable_parallel_tool_use":true}"#, #""none""#, nil),
        (#"{"type":"tool","name":"f","disable_parallel_tool_use":true}"#, #"{"type":"function","function":{"name":"f"}}"#, false),
    ] as [(String, String, Bool?)])
    func toolChoiceMaps(_ choice: String, _ expected: String, _ parallel: Bool?) throws {
        let body = Self.body(#"[{"role":"user","content":"q"}]"#, #""tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":\#(choice)"#)
        let translated = try translateRequest(request(body))
        #expect(translated["tool_choice"] == (try json(expected)))
        #expect(translated["parallel_tool_calls"]?.boolValue == parallel)
    }

    @Test func withoutToolsThereIsNoToolChoice() throws {
        let body = Self.body(#"[{"role":"user","content":"q"}]"#, #""tools":[{"type":"bash_20250124","name":"bash"}],"tool_choice":{"type":"any","disable_parallel_tool_use":true}"#)
        let translated = try translateRequest(request(body))
        #expect(translated["tools"] == nil)
        #expect(translated["tool_choice"] == nil)
        #expect(translated["parallel_tool_calls"] == nil)
    }

    @Test func aJSONSchemaOutputFormatBecomesResponseFormat() throws {
        let body = Self.body(#"[{"role":"user","content":"q"}]"#, #""output_config":{"format":{"type":"json_schema","schema":{"type":"object","properties":{"a":{"type":"string"}}}}}"#)
        let translated = try translateRequest(request(body))
        #expect(translated["response_format"] == (try json(#"{"type":"json_schema","json_schema":{"name":"response","schema":{"type":"object","properties":{"a":{"type":"string"}}}}}"#)))
    }

    @Test func anthropicOnlyFieldsAreNotSent() throws {
        let body = Self.body(
            #"[{"role":"user","content":[{"type":"text","text":"q","cache_control":{"type":"ephemeral"}}]}]"#,
            #""cache_control":{"type":"ephemeral"},"context_management":{"edits":[]},"container":"c","service_tier":"auto","inference_geo":"us","mcp_servers":[],"top_k":5,"models":["a"],"provider":{"sort":"price"}"#
        )
        let translated = try translateRequest(request(body))
        #expect(translated.objectValue?.keys == ["model", "messages", "max_tokens"])
    }
}
