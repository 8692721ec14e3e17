import SwitchyardMessages
import Testing

/// Every 400 rule of SPEC §4 for `/v1/messages`: a body that breaks it is refused with a message naming the field,
/// and a body that respects it is accepted.
struct RequestValidationTests {
    @Test(arguments: [
        // The body itself.
        (#"{"model": }"#, "The request body is not valid JSON: unexpected character at byte 10"),
        ("[1,2]", "The request body must be a JSON object"),
        (#""text""#, "The request body must be a JSON object"),
        // model
        (#"{"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#, "model: Field required"),
        (#"{"model":5,"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#, "model: Input should be a valid string"),
        (#"{"model":"","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#, "model: String should have at least 1 character"),
        // max_tokens
        (#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#, "max_tokens: Field required"),
        (messagesBody(maxTokens: #""100""#), "max_tokens: Input should be a valid integer"),
        (messagesBody(maxTokens: "100.5"), "max_tokens: Input should be a valid integer"),
        (messagesBody(maxTokens: "1e3"), "max_tokens: Input should be a valid integer"),
        (messagesBody(maxTokens: "99999999999999999999"), "max_tokens: Input should be a valid integer"),
        (messagesBody(maxTokens: "null"), "max_tokens: Input should be a valid integer"),
        (messagesBody(maxTokens: "0"), "max_tokens: Input should be greater than or equal to 1"),
        (messagesBody(maxTokens: "-5"), "max_tokens: Input should be greater than or equal to 1"),
        // messages
        (#"{"model":"m","max_tokens":10}"#, "messages: Field required"),
        (messagesBody(messages: "{}"), "messages: Input should be a valid list"),
        (messagesBody(messages: "[]"), "messages: at least one message is required"),
        // temperature, top_p, top_k
        (messagesBody(#""temperature":1.5"#), "temperature: Input should be less than or equal to 1"),
        (messagesBody(#""temperature":-0.1"#), "temperature: Input should be greater than or equal to 0"),
        (messagesBody(#""temperature":"0.5""#), "temperature: Input should be a valid number"),
        (messagesBody(#""top_p":2"#), "top_p: Input should be less than or equal to 1"),
        (messagesBody(#""top_p":-1e-9"#), "top_p: Input should be greater than or equal to 0"),
        (messagesBody(#""top_k":-1"#), "top_k: Input should be greater than or equal to 0"),
        (messagesBody(#""top_k":1.5"#), "top_k: Input should be a valid integer"),
        // stop_sequences, stream, metadata
        (messagesBody(#""stop_sequences":"END""#), "stop_sequences: Input should be a valid list"),
        (messagesBody(#""stop_sequences":["a",1]"#), "stop_sequences.1: Input should be a valid string"),
        (messagesBody(#""stream":"true""#), "stream: Input should be a valid boolean"),
        (messagesBody(#""stream":1"#), "stream: Input should be a valid boolean"),
        (messagesBody(#""metadata":[]"#), "metadata: Input should be a valid dictionary"),
        (messagesBody(#""metadata":{"user_id":5}"#), "metadata.user_id: Input should be a valid string"),
        // system
        (messagesBody(#""system":5"#), "system: Input should be a valid string or a list of text blocks"),
        (messagesBody(#""system":["x"]"#), "system.0: Input should be a valid dictionary"),
        (messagesBody(#""system":[{"type":"text","text":"a"},{"type":"image","text":"b"}]"#), "system.1.type: Input should be 'text'"),
        (messagesBody(#""system":[{"text":"a"}]"#), "system.0.type: Field required"),
        (messagesBody(#""system":[{"type":"text"}]"#), "system.0.text: Field required"),
        (messagesBody(#""system":[{"type":"text","text":["a"]}]"#), "system.0.text: Input should be a valid string"),
        // tools
        (messagesBody(#""tools":{}"#), "tools: Input should be a valid list"),
        (messagesBody(#""tools":[1]"#), "tools.0: Input should be a valid dictionary"),
        (messagesBody(#""tools":[{"input_schema":{}}]"#), "tools.0.name: Field required"),
        (messagesBody(#""tools":[{"name":"a","input_schema":{}},{"name":"b"}]"#), "tools.1.input_schema: Field required"),
        (messagesBody(#""tools":[{"name":"a","input_schema":[]}]"#), "tools.0.input_schema: Input should be a valid dictionary"),
        (messagesBody(#""tools":[{"type":"custom","name":"a"}]"#), "tools.0.input_schema: Field required"),
        (messagesBody(#""tools":[{"type":7,"name":"a","input_schema":{}}]"#), "tools.0.type: Input should be a valid string"),
        (messagesBody(#""tools":[{"name":1,"input_schema":{}}]"#), "tools.0.name: Input should be a valid string"),
        // tool_choice
        (messagesBody(#""tool_choice":"auto""#), "tool_choice: Input should be a valid dictionary"),
        (messagesBody(#""tool_choice":{}"#), "tool_choice.type: Field required"),
        (messagesBody(#""tool_choice":{"type":"sometimes"}"#), "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'"),
        (messagesBody(#""tool_choice":{"type":"tool"}"#), "tool_choice.name: Field required"),
        (messagesBody(#""tool_choice":{"type":"auto","disable_parallel_tool_use":"yes"}"#), "tool_choice.disable_parallel_tool_use: Input should be a valid boolean"),
        // thinking
        (messagesBody(#""thinking":"on""#), "thinking: Input should be a valid dictionary"),
        (messagesBody(#""thinking":{}"#), "thinking.type: Field required"),
        (messagesBody(#""thinking":{"type":1}"#), "thinking.type: Input should be a valid string"),
        (messagesBody(#""thinking":{"type":"enabled"}"#), "thinking.budget_tokens: Field required"),
        (messagesBody(#""thinking":{"type":"enabled","budget_tokens":"50"}"#), "thinking.budget_tokens: Input should be a valid integer"),
        (messagesBody(#""thinking":{"type":"enabled","budget_tokens":0}"#), "thinking.budget_tokens: Input should be greater than or equal to 1"),
        (messagesBody(#""thinking":{"type":"enabled","budget_tokens":100}"#), "thinking.budget_tokens: must be less than max_tokens (100)"),
        (messagesBody(#""thinking":{"type":"enabled","budget_tokens":32000}"#, maxTokens: "32000"), "thinking.budget_tokens: must be less than max_tokens (32000)"),
        // the extensions
        (messagesBody(#""models":"a""#), "models: Input should be a valid list"),
        (messagesBody(#""models":["a",2]"#), "models.1: Input should be a valid string"),
        (messagesBody(#""models":["a",""]"#), "models.1: String should have at least 1 character"),
        (messagesBody(#""provider":["anthropic"]"#), "provider: Input should be a valid dictionary"),
        // messages and roles
        (messagesBody(messages: "[1]"), "messages.0: Input should be a valid dictionary"),
        (messagesBody(messages: #"[{"content":"x"}]"#), "messages.0.role: Field required"),
        (messagesBody(messages: #"[{"role":"user","content":"x"},{"role":"tool","content":"x"}]"#), "messages.1.role: Input should be 'user', 'assistant' or 'system'"),
        (messagesBody(messages: #"[{"role":null,"content":"x"}]"#), "messages.0.role: Input should be 'user', 'assistant' or 'system'"),
        (messagesBody(messages: #"[{"role":"user"}]"#), "messages.0.content: Field required"),
        (messagesBody(messages: #"[{"role":"user","content":5}]"#), "messages.0.content: Input should be a valid string or a list of content blocks"),
        (messagesBody(messages: #"[{"role":"user","content":{"type":"text","text":"x"}}]"#), "messages.0.content: Input should be a valid string or a list of content blocks"),
        // blocks in general
        (messagesBody(messages: #"[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"text"}]}]"#), "messages.1.content.0.text: Field required"),
        (blocksBody(#"["text"]"#), "messages.0.content.0: Input should be a valid dictionary"),
        (blocksBody(#"[{"type":"text","text":"a"},{"text":"b"}]"#), "messages.0.content.1.type: Field required"),
        (blocksBody(#"[{"type":null}]"#), "messages.0.content.0.type: Input should be a valid string"),
        (blocksBody(#"[{"type":"text","text":5}]"#), "messages.0.content.0.text: Input should be a valid string"),
        // image
        (blocksBody(#"[{"type":"image"}]"#), "messages.0.content.0.source: Field required"),
        (blocksBody(#"[{"type":"image","source":"http://x"}]"#), "messages.0.content.0.source: Input should be a valid dictionary"),
        (blocksBody(#"[{"type":"image","source":{"media_type":"image/png","data":"AA=="}}]"#), "messages.0.content.0.source.type: Field required"),
        (blocksBody(#"[{"type":"image","source":{"type":"base64","media_type":"image/png"}}]"#), "messages.0.content.0.source.data: Field required"),
        (blocksBody(#"[{"type":"image","source":{"type":"base64","data":"AA=="}}]"#), "messages.0.content.0.source.media_type: Field required"),
        (blocksBody(#"[{"type":"image","source":{"type":"url"}}]"#), "messages.0.content.0.source.url: Field required"),
        (blocksBody(#"[{"type":"image","source":{"type":"file"}}]"#), "messages.0.content.0.source.file_id: Field required"),
        (blocksBody(#"[{"type":"image","source":{"type":"gopher","url":"x"}}]"#), "messages.0.content.0.source.type: Input should be 'base64', 'url' or 'file'"),
        // document
        (blocksBody(#"[{"type":"document"}]"#), "messages.0.content.0.source: Field required"),
        (blocksBody(#"[{"type":"document","source":{"data":"x"}}]"#), "messages.0.content.0.source.type: Field required"),
        // tool_use
        (blocksBody(#"[{"type":"tool_use","name":"f","input":{}}]"#), "messages.0.content.0.id: Field required"),
        (blocksBody(#"[{"type":"tool_use","id":"t1","input":{}}]"#), "messages.0.content.0.name: Field required"),
        (blocksBody(#"[{"type":"tool_use","id":"t1","name":"f"}]"#), "messages.0.content.0.input: Field required"),
        (blocksBody(#"[{"type":"tool_use","id":"t1","name":"f","input":"{}"}]"#), "messages.0.content.0.input: Input should be a valid dictionary"),
        // tool_result
        (blocksBody(#"[{"type":"tool_result","content":"x"}]"#), "messages.0.content.0.tool_use_id: Field required"),
        (blocksBody(#"[{"type":"tool_result","tool_use_id":"t1","content":5}]"#), "messages.0.content.0.content: Input should be a valid string or a list of content blocks"),
        (blocksBody(#"[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"ok"},{"type":"text"}]}]"#), "messages.0.content.0.content.1.text: Field required"),
        (blocksBody(#"[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"image","source":{"type":"url"}}]}]"#), "messages.0.content.0.content.0.source.url: Field required"),
        (blocksBody(#"[{"type":"tool_result","tool_use_id":"t1","is_error":"yes"}]"#), "messages.0.content.0.is_error: Input should be a valid boolean"),
        // thinking blocks
        (blocksBody(#"[{"type":"thinking","signature":"s"}]"#), "messages.0.content.0.thinking: Field required"),
        (blocksBody(#"[{"type":"thinking","thinking":""}]"#), "messages.0.content.0.signature: Field required"),
        (blocksBody(#"[{"type":"redacted_thinking"}]"#), "messages.0.content.0.data: Field required"),
        (blocksBody(#"[{"type":"redacted_thinking","data":{}}]"#), "messages.0.content.0.data: Input should be a valid string"),
    ])
    func refusesABodyThatBreaksARuleNamingTheField(body: String, message: String) {
        #expect(rejection(body) == message)
    }

    @Test(arguments: [
        messagesBody(#""temperature":0,"top_p":1,"top_k":0"#),
        messagesBody(#""temperature":1,"top_p":0.0,"top_k":40"#),
        messagesBody(#""temperature":0.7,"top_p":1e-1"#),
        messagesBody(#""stop_sequences":[],"stream":false"#),
        messagesBody(#""stop_sequences":["END","\n\nHuman:"],"stream":true"#),
        messagesBody(#""metadata":{}"#),
        messagesBody(#""metadata":{"user_id":null,"other":1}"#),
        messagesBody(#""metadata":{"user_id":"{\"device_id\":\"abc\"}"}"#),
        messagesBody(#""system":"You are terse.""#),
        messagesBody(#""system":[]"#),
        messagesBody(#""system":[{"type":"text","text":"a","cache_control":{"type":"ephemeral","ttl":"1h"},"citations":null}]"#),
        messagesBody(#""tools":[]"#),
        messagesBody(#""tools":[{"name":"f","input_schema":{"type":"object"}},{"type":"custom","name":"g","input_schema":{}}]"#),
        messagesBody(#""tools":[{"type":"web_search_20250305","name":"web_search","max_uses":5},{"type":"bash_20250124","name":"bash"}]"#),
        messagesBody(#""tools":[{"type":"future_tool_2031"}]"#),
        messagesBody(#""tool_choice":{"type":"auto"}"#),
        messagesBody(#""tool_choice":{"type":"any","disable_parallel_tool_use":true}"#),
        messagesBody(#""tool_choice":{"type":"none"}"#),
        messagesBody(#""tool_choice":{"type":"tool","name":"f"}"#),
        messagesBody(#""thinking":{"type":"enabled","budget_tokens":99}"#),
        messagesBody(#""thinking":{"type":"enabled","budget_tokens":1}"#),
        messagesBody(#""thinking":{"type":"enabled","budget_tokens":31999,"display":"omitted"}"#, maxTokens: "32000"),
        messagesBody(#""thinking":{"type":"disabled"}"#),
        messagesBody(#""thinking":{"type":"adaptive"}"#),
        messagesBody(#""thinking":{"type":"turbo","level":9}"#),
        messagesBody(#""models":["a","b"],"provider":{"order":["x"],"allow_fallbacks":false,"sort":"price"}"#),
        messagesBody(#""models":[],"provider":{}"#),
        // Optional fields given as null are treated as absent.
        messagesBody(#""temperature":null,"top_p":null,"top_k":null,"stop_sequences":null,"stream":null,"metadata":null,"system":null,"tools":null,"tool_choice":null,"thinking":null,"models":null,"provider":null"#),
        // Unknown top-level fields pass.
        messagesBody(#""service_tier":"auto","container":null,"inference_geo":"eu","output_config":{"effort":"high"},"x_future":[1,{"a":2}]"#),
        // Roles: system inside messages, a conversation starting with any role, system last.
        messagesBody(messages: #"[{"role":"system","content":"rules"},{"role":"user","content":"hi"}]"#),
        messagesBody(messages: #"[{"role":"assistant","content":"earlier"},{"role":"user","content":"hi"},{"role":"system","content":[{"type":"text","text":"late"}]}]"#),
        messagesBody(messages: #"[{"role":"user","content":[]}]"#),
        messagesBody(messages: #"[{"role":"user","content":""}]"#),
        // Every known block type in a valid shape.
        blocksBody(#"[{"type":"text","text":"a","cache_control":{"type":"ephemeral"},"citations":[]}]"#),
        blocksBody(#"[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]"#),
        blocksBody(#"[{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}]"#),
        blocksBody(#"[{"type":"image","source":{"type":"file","file_id":"file_011"}}]"#),
        blocksBody(#"[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"x"},"title":"t"}]"#),
        blocksBody(#"[{"type":"document","source":{"type":"content","content":[{"type":"text","text":"x"}]}}]"#),
        blocksBody(#"[{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]"#),
        blocksBody(#"[{"type":"tool_result","tool_use_id":"toolu_1"}]"#),
        blocksBody(#"[{"type":"tool_result","tool_use_id":"toolu_1","content":"42","is_error":false}]"#),
        blocksBody(#"[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"42"},{"type":"image","source":{"type":"url","url":"u"}}],"is_error":null}]"#),
        blocksBody(#"[{"type":"thinking","thinking":"","signature":"EqQBCkgIAR"}]"#),
        blocksBody(#"[{"type":"redacted_thinking","data":"EmwKAhgB"}]"#),
        // Unknown block types only need a string type (new API features).
        blocksBody(#"[{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"q"}}]"#),
        blocksBody(#"[{"type":"container_upload","file_id":"f"},{"type":"hologram_2031","payload":[1,2]}]"#),
    ])
    func acceptsABodyThatRespectsTheRules(body: String) {
        #expect(rejection(body) == nil, "\(body)")
    }

    @Test func keepsTheFieldsTheGatewayNeeds() throws {
        let request = try #require(accepted(messagesBody(
            #""stream":true,"models":["b","c"],"provider":{"sort":"latency"},"thinking":{"type":"enabled","budget_tokens":50}"#
        )))
        #expect(request.model == "claude-test")
        #expect(request.maxTokens == 100)
        #expect(request.stream)
        #expect(request.fallbackModels == ["b", "c"])
        #expect(request.providerPreferences?["sort"] == .string("latency"))
        #expect(request.thinking == .enabled(budgetTokens: 50))
        #expect(request.root["messages"]?.arrayValue?.count == 1)
        #expect(request.body == utf8(messagesBody(
            #""stream":true,"models":["b","c"],"provider":{"sort":"latency"},"thinking":{"type":"enabled","budget_tokens":50}"#
        )))

        let plain = try #require(accepted(messagesBody()))
        #expect(!plain.stream)
        #expect(plain.fallbackModels.isEmpty)
        #expect(plain.providerPreferences == nil)
        #expect(plain.thinking == nil)
        #expect(!plain.usesTools && !plain.usesImages && !plain.usesDocuments)
    }

    @Test(arguments: [
        (#"{"type":"disabled"}"#, Thinking.disabled),
        (#"{"type":"adaptive"}"#, .adaptive),
        (#"{"type":"turbo"}"#, .other(type: "turbo")),
    ])
    func readsTheThinkingMode(thinking: String, expected: Thinking) throws {
        let request = try #require(accepted(messagesBody(#""thinking":\#(thinking)"#)))
        #expect(request.thinking == expected)
    }

    @Test(arguments: [
        (messagesBody(#""tools":[{"name":"f","input_schema":{}}]"#), true, false, false),
        (messagesBody(#""tools":[]"#), false, false, false),
        (blocksBody(#"[{"type":"tool_use","id":"t","name":"f","input":{}}]"#), true, false, false),
        (blocksBody(#"[{"type":"tool_result","tool_use_id":"t","content":[{"type":"image","source":{"type":"url","url":"u"}}]}]"#), true, true, false),
        (blocksBody(#"[{"type":"image","source":{"type":"url","url":"u"}}]"#), false, true, false),
        (blocksBody(#"[{"type":"document","source":{"type":"url","url":"u"}}]"#), false, false, true),
        (blocksBody(#"[{"type":"text","text":"mentions image and tool_use"}]"#), false, false, false),
    ])
    func notesToolsImagesAndDocuments(body: String, tools: Bool, images: Bool, documents: Bool) throws {
        let request = try #require(accepted(body))
        #expect(request.usesTools == tools)
        #expect(request.usesImages == images)
        #expect(request.usesDocuments == documents)
    }

    @Test func validatesTheLastOfDuplicateKeys() {
        // Last-wins, like the JSON parsers of typical upstreams: the value checked is the value they would read.
        #expect(rejection(messagesBody(#""temperature":0.5,"temperature":3"#)) == "temperature: Input should be less than or equal to 1")
        #expect(rejection(messagesBody(#""temperature":3,"temperature":0.5"#)) == nil)
    }

    @Test func acceptsTheRawBufferEntryPoint() throws {
        let body = utf8(messagesBody())
        let request = try body.withUnsafeBytes { buffer throws(InvalidRequest) in try MessagesRequest.parse(buffer) }
        #expect(request.model == "claude-test")
        #expect(request.body == body)
    }

    @Test func convertsToA400APIError() {
        let invalid = InvalidRequest(message: "max_tokens: Field required")
        let error = APIError(invalid)
        #expect(error.status == 400)
        #expect(error.type == .invalidRequest)
        #expect(error.message == "max_tokens: Field required")
        #expect(invalid.apiError == error)
    }
}
