"""The official `anthropic` Python SDK through the Switchyard binary to an OpenAI-compatible upstream (issue 3).

Every model of the `oai_gateway` is served by a `kind: openai` provider on Tests/e2e/mock_openai.py, so the
gateway translates each Messages request into a Chat Completions request and each answer (JSON or chunk
stream) back. Each test reads the mock's request log since its `mark` to prove what the upstream received,
and `switchyard usage --json` / `keys show --json` to prove billing.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import anthropic
import pytest

import mock_openai as O
from e2e_support import (
    E2E_DIR, OAI_DIALECT_PROVIDER_ID, OAI_PROVIDER_ID, OAI_PROVIDER_KEY, PROVIDER_KEY, Gateway, MockServer,
    SentRequest, gateway_post, header, http_request, oai_cost_usd, parse_sse, record_cost, record_tokens, sdk_client,
    wait_credits, wait_records,
)

USER = [{"role": "user", "content": "hello"}]
BETA = "e2e-beta-2025-01-01,interleaved-thinking-2025-05-14,context-management-2025-06-27"
TOOLS = [
    {"name": "get_weather", "description": "Weather for a city",
     "input_schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                      "properties": {"city": {"type": "string"}, "units": {"type": "string", "enum": ["celsius"]}},
                      "required": ["city"], "additionalProperties": False}},
    {"name": "get_time", "description": "The time in a timezone",
     "input_schema": {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]}},
]
#: A 1x1 PNG.
PNG_B64 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


@pytest.fixture()
def client(oai_gateway: Gateway, oai_client_key: dict[str, Any]) -> anthropic.Anthropic:
    return sdk_client(oai_gateway.url, oai_client_key["key"])


# ---------------------------------------------------------------------------------------------
# Helpers


def chat_calls(mock: MockServer, mark: int) -> list[dict[str, Any]]:
    """Every request the OpenAI mock received since `mark`."""
    return mock.log(since=mark)


def one_call(mock: MockServer, mark: int) -> dict[str, Any]:
    calls = chat_calls(mock, mark)
    assert len(calls) == 1, f"expected exactly one upstream request, got {[(c['path'], c['model']) for c in calls]}"
    call = calls[0]
    assert call["path"] == "/v1/chat/completions", call["path"]
    assert call["invalid"] is None, f"the mock (as strict as api.openai.com) refused: {call['invalid']}\n{call['body']}"
    return call


def sent_body(call: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(call["body_b64"]))


def text_of(content: Any) -> str:
    """A Chat Completions message's text: a string, or its text parts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n\n".join(p["text"] for p in content if p.get("type") == "text")
    return ""


def assert_error_shape(headers: dict[str, str], body: Any, etype: str | tuple[str, ...]) -> None:
    etypes = (etype,) if isinstance(etype, str) else etype
    assert body["type"] == "error", body
    assert body["error"]["type"] in etypes, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    assert body["request_id"] and headers["request-id"] == body["request_id"], (headers, body)


def expected_usage(key: str) -> dict[str, int]:
    """Anthropic usage for a mock scenario: OpenAI's prompt_tokens include the cached ones, split out here."""
    prompt, completion, cached, _ = O.USAGE[key]
    return {"input": prompt - cached, "output": completion, "cache_read": cached, "cache_write": 0}


def usage_of(u: Any) -> dict[str, int]:
    return {"input": u.input_tokens, "output": u.output_tokens, "cache_read": u.cache_read_input_tokens or 0,
            "cache_write": u.cache_creation_input_tokens or 0}


def assert_event_sequence(events: list[tuple[str | None, Any]]) -> list[dict[str, Any]]:
    """The rules Anthropic SDKs and Claude Code rely on (WIRE §4.5, issue 3's known traps): exactly one
    `message_start`, first; block indices dense from 0, each block started before its deltas and stopped
    before the next starts, deltas of the block's own kind; one `message_delta` with a stop_reason, then
    `message_stop`, last. Returns the blocks, assembled."""
    names = [n for n, _ in events if n != "ping"]
    for name, data in events:
        assert isinstance(data, dict) and name == data.get("type"), (name, data)
    assert names and names[0] == "message_start", names
    assert names.count("message_start") == 1, names
    assert names[-2:] == ["message_delta", "message_stop"], names
    assert names.count("message_delta") == 1 and names.count("message_stop") == 1, names
    start = events[0][1]["message"]
    assert start["id"].startswith("msg_") and start["role"] == "assistant" and start["content"] == [], start
    blocks: list[dict[str, Any]] = []
    open_index: int | None = None
    for name, data in events[1:]:
        if name == "content_block_start":
            assert open_index is None, f"block {data['index']} started while {open_index} is open"
            assert data["index"] == len(blocks), f"index {data['index']} is not the next dense index {len(blocks)}"
            block = dict(data["content_block"])
            block["_json"] = ""
            blocks.append(block)
            open_index = data["index"]
        elif name == "content_block_delta":
            assert data["index"] == open_index, f"delta for {data['index']} while {open_index} is open"
            block, delta = blocks[data["index"]], data["delta"]
            kind = {"text_delta": "text", "thinking_delta": "thinking", "signature_delta": "thinking",
                    "input_json_delta": "tool_use"}[delta["type"]]
            assert block["type"] == kind, (block, delta)
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "input_json_delta":
                block["_json"] += delta["partial_json"]
        elif name == "content_block_stop":
            assert data["index"] == open_index, (data, open_index)
            open_index = None
        elif name == "message_delta":
            assert open_index is None, "message_delta while a block is open"
            assert data["delta"]["stop_reason"] in ("end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal")
        elif name in ("message_stop", "ping"):
            pass
        else:
            raise AssertionError(f"unexpected event {name}: {data}")
    for block in blocks:
        if block["type"] == "tool_use":
            block["input"] = json.loads(block["_json"]) if block["_json"] else {}
        del block["_json"]
    return blocks


# ---------------------------------------------------------------------------------------------
# messages.stream(): text, parallel tool calls, reasoning


def test_stream_text(client: anthropic.Anthropic, oai_mock: MockServer) -> None:
    mark = oai_mock.mark()
    with client.messages.stream(model="e2e/oai-text", max_tokens=100, messages=USER) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert pieces == O.TEXT_PIECES
    assert [b.type for b in final.content] == ["text"]
    assert final.content[0].text == O.TEXT
    assert final.stop_reason == "end_turn" and final.stop_sequence is None
    assert final.id.startswith("msg_") and final.model == "e2e/oai-text"
    assert usage_of(final.usage) == expected_usage("text")
    call = one_call(oai_mock, mark)
    body = sent_body(call)
    assert body["model"] == "oa-text"
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_stream_two_parallel_tool_calls(client: anthropic.Anthropic, oai_mock: MockServer) -> None:
    mark = oai_mock.mark()
    partials: dict[int, list[str]] = {}
    with client.messages.stream(model="e2e/oai-tools", max_tokens=300, messages=USER, tools=TOOLS) as stream:
        for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                partials.setdefault(event.index, []).append(event.delta.partial_json)
        final = stream.get_final_message()
    call = one_call(oai_mock, mark)
    upstream_calls = call["response"]["message"]["tool_calls"]
    assert [b.type for b in final.content] == ["text", "tool_use", "tool_use"]
    assert final.content[0].text == O.TOOLS_PREAMBLE
    assert final.stop_reason == "tool_use"
    for n, block in enumerate(final.content[1:]):
        assert block.id == upstream_calls[n]["id"]
        assert block.name == TOOLS[n]["name"] == upstream_calls[n]["function"]["name"]
        assert block.input == O.TOOL_ARGS[n]
        # The arguments arrive as the upstream sent them, as partial JSON of that block only.
        assert "".join(partials[n + 1]) == upstream_calls[n]["function"]["arguments"]
    assert len(partials[1]) >= 4 and len(partials[2]) >= 3
    assert usage_of(final.usage) == expected_usage("tools")


def test_stream_reasoning_becomes_a_thinking_block(client: anthropic.Anthropic, oai_mock: MockServer) -> None:
    mark = oai_mock.mark()
    thinking_pieces: list[str] = []
    with client.messages.stream(model="e2e/oai-reasoning", max_tokens=4096, messages=USER,
                                thinking={"type": "enabled", "budget_tokens": 2048}) as stream:
        for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "thinking_delta":
                thinking_pieces.append(event.delta.thinking)
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == O.REASONING_TEXT
    assert thinking_pieces == O.REASONING_PIECES
    assert final.content[1].text == O.REASONING_ANSWER
    assert final.stop_reason == "end_turn"
    assert usage_of(final.usage) == expected_usage("reasoning")
    body = sent_body(one_call(oai_mock, mark))
    assert body["reasoning_effort"] == "medium"  # budget 2048
    assert "thinking" not in body


@pytest.mark.parametrize(("model", "kinds"), [
    ("e2e/oai-text", ["text"]),
    ("e2e/oai-tools", ["text", "tool_use", "tool_use"]),
    ("e2e/oai-reasoning", ["thinking", "text"]),
    ("e2e/oai-empty-args", ["tool_use"]),
])
def test_raw_event_stream_is_well_formed(oai_gateway: Gateway, oai_client_key: dict[str, Any],
                                         oai_mock: MockServer, model: str, kinds: list[str]) -> None:
    mark = oai_mock.mark()
    r = gateway_post(oai_gateway, oai_client_key["key"], {"model": model, "max_tokens": 300, "messages": USER,
                                                          "tools": TOOLS[:1], "stream": True},
                     path="/v1/messages?beta=true")
    assert r.status == 200, r.body
    assert r.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(r.body)
    blocks = assert_event_sequence(events)
    assert [b["type"] for b in blocks] == kinds
    stop = [d for n, d in events if n == "message_delta"][0]["delta"]["stop_reason"]
    assert stop == ("tool_use" if "tool_use" in kinds else "end_turn")
    message = one_call(oai_mock, mark)["response"]["message"]
    calls = message.get("tool_calls") or []
    assert [b["id"] for b in blocks if b["type"] == "tool_use"] == [c["id"] for c in calls]
    for block, c in zip([b for b in blocks if b["type"] == "tool_use"], calls):
        expected = json.loads(c["function"]["arguments"]) if c["function"]["arguments"] else {}
        assert block["input"] == expected


# ---------------------------------------------------------------------------------------------
# Non-streaming


def test_non_streaming_text(client: anthropic.Anthropic, oai_mock: MockServer) -> None:
    mark = oai_mock.mark()
    msg = client.messages.create(model="e2e/oai-text", max_tokens=100, messages=USER)
    assert [b.type for b in msg.content] == ["text"] and msg.content[0].text == O.TEXT
    assert msg.stop_reason == "end_turn"
    assert msg.id.startswith("msg_") and msg.model == "e2e/oai-text"
    assert usage_of(msg.usage) == expected_usage("text")
    body = sent_body(one_call(oai_mock, mark))
    assert body["model"] == "oa-text"
    assert "stream" not in body or body["stream"] is False
    assert "stream_options" not in body


def test_non_streaming_parallel_tool_calls(client: anthropic.Anthropic, oai_mock: MockServer) -> None:
    mark = oai_mock.mark()
    msg = client.messages.create(model="e2e/oai-tools", max_tokens=300, messages=USER, tools=TOOLS)
    upstream_calls = one_call(oai_mock, mark)["response"]["message"]["tool_calls"]
    assert [b.type for b in msg.content] == ["text", "tool_use", "tool_use"]
    assert msg.stop_reason == "tool_use"
    for n, block in enumerate(msg.content[1:]):
        assert (block.id, block.name, block.input) == (upstream_calls[n]["id"], TOOLS[n]["name"], O.TOOL_ARGS[n])
    assert usage_of(msg.usage) == expected_usage("tools")


def test_non_streaming_reasoning(client: anthropic.Anthropic, oai_mock: MockServer) -> None:
    msg = client.messages.create(model="e2e/oai-reasoning", max_tokens=16000, messages=USER,
                                 thinking={"type": "enabled", "budget_tokens": 10000})
    assert [b.type for b in msg.content] == ["thinking", "text"]
    assert msg.content[0].thinking == O.REASONING_TEXT and msg.content[1].text == O.REASONING_ANSWER


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_tool_call_without_arguments_has_empty_input(client: anthropic.Anthropic, oai_mock: MockServer,
                                                     stream: bool) -> None:
    tools = [{"name": "list_files", "description": "List the files", "input_schema": {"type": "object"}}]
    mark = oai_mock.mark()
    if stream:
        with client.messages.stream(model="e2e/oai-empty-args", max_tokens=100, messages=USER, tools=tools) as s:
            msg = s.get_final_message()
    else:
        msg = client.messages.create(model="e2e/oai-empty-args", max_tokens=100, messages=USER, tools=tools)
    call = one_call(oai_mock, mark)["response"]["message"]["tool_calls"][0]
    assert call["function"]["arguments"] == ""
    assert [b.type for b in msg.content] == ["tool_use"]
    assert (msg.content[0].id, msg.content[0].name, msg.content[0].input) == (call["id"], "list_files", {})
    assert msg.stop_reason == "tool_use"


# ---------------------------------------------------------------------------------------------
# What the upstream receives


def test_request_is_translated_field_by_field(oai_gateway: Gateway, oai_client_key: dict[str, Any],
                                              oai_mock: MockServer) -> None:
    sent: list[SentRequest] = []
    client = sdk_client(oai_gateway.url, oai_client_key["key"], sent=sent)
    history_thinking = "A private chain of thought that must not be sent as text."
    server_tool = {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}
    deferred_tool = {"name": "deferred_one", "description": "Found by tool search",
                     "input_schema": {"type": "object"}, "defer_loading": True}
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "What's the weather and the time in Paris?"},
                                     {"type": "text", "text": ""},
                                     {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                                  "data": PNG_B64}},
                                     {"type": "image", "source": {"type": "url",
                                                                  "url": "https://example.com/cat.jpg"}}]},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": history_thinking, "signature": ""},
            {"type": "text", "text": "Let me check both."},
            {"type": "tool_use", "id": "call_weather_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "call_time_2", "name": "get_time", "input": {"timezone": "Europe/Paris"}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_weather_1", "content": "sunny, 21°C",
             "cache_control": {"type": "ephemeral"}},
            {"type": "tool_result", "tool_use_id": "call_time_2", "is_error": True,
             "content": [{"type": "text", "text": "clock unavailable"}]},
            {"type": "text", "text": "Thanks; summarise.", "cache_control": {"type": "ephemeral"}},
        ]},
    ]
    system = [
        {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.331.abc; cc_entrypoint=sdk-cli;"},
        {"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "Answer in English."},
    ]
    mark = oai_mock.mark()
    with client.messages.stream(
        model="e2e/oai-text", max_tokens=321, system=system, messages=messages,
        tools=[*TOOLS, server_tool, deferred_tool], tool_choice={"type": "any"},
        stop_sequences=["STOP-1", "END"], metadata={"user_id": "user-e2e-42"}, extra_headers={"anthropic-beta": BETA},
        # anthropic 2.x has no sampling parameters in its signature any more; the API still takes them.
        extra_body={"context_management": {"edits": []}, "temperature": 0.25, "top_p": 0.5, "top_k": 7},
    ) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == O.TEXT
    call = one_call(oai_mock, mark)
    raw = base64.b64decode(call["body_b64"]).decode()
    body = json.loads(raw)

    # Headers: the provider key as a bearer token, nothing of the client's.
    assert call["path"] == "/v1/chat/completions"
    assert header(call, "authorization") == [f"Bearer {OAI_PROVIDER_KEY}"]
    assert header(call, "x-api-key") == []
    names = [k.lower() for k, _ in call["headers"]]
    assert not [n for n in names if n.startswith("anthropic-") or n.startswith("x-stainless") or n == "x-app"], names
    client_secret = oai_client_key["key"]
    assert all(client_secret not in v for _, v in call["headers"])
    assert client_secret not in raw and PROVIDER_KEY not in raw
    assert sent[-1].headers.get("anthropic-beta") == BETA  # the client did send it

    # Parameters.
    assert body["model"] == "oa-text"
    assert body["max_tokens"] == 321 and "max_completion_tokens" not in body
    assert body["temperature"] == 0.25 and body["top_p"] == 0.5
    assert "top_k" not in body  # top_k: false (the default)
    assert body["stop"] == ["STOP-1", "END"]
    assert body["user"] == "user-e2e-42"
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert "reasoning_effort" not in body  # no thinking asked for
    for dropped in ("system", "metadata", "stop_sequences", "context_management", "thinking", "top_k",
                    "anthropic_version", "anthropic-beta"):
        assert dropped not in body, dropped
    assert "cache_control" not in raw and "x-anthropic-billing-header" not in raw
    assert history_thinking not in raw  # thinking in the history is never sent as text

    # Tools: functions with parameters; server tools and deferred tools are not sent.
    assert [t["type"] for t in body["tools"]] == ["function", "function"]
    for tool, fn in zip(TOOLS, [t["function"] for t in body["tools"]]):
        assert fn["name"] == tool["name"] and fn["description"] == tool["description"]
        schema = {k: v for k, v in tool["input_schema"].items() if k != "$schema"}
        assert {k: v for k, v in fn["parameters"].items() if k != "$schema"} == schema
    assert body["tool_choice"] == "required"
    assert "parallel_tool_calls" not in body

    # Messages: system, user (text + images), assistant (text + tool_calls), one tool message per result in
    # the order of the calls and before the user's text, then the user's text.
    msgs = body["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "tool", "tool", "user"], msgs
    system_text = text_of(msgs[0]["content"])
    assert "You are terse." in system_text and "Answer in English." in system_text
    assert system_text.index("You are terse.") < system_text.index("Answer in English.")
    user = msgs[1]["content"]
    assert isinstance(user, list), user
    assert [p["type"] for p in user] == ["text", "image_url", "image_url"], user
    assert user[0]["text"] == "What's the weather and the time in Paris?"
    assert user[1]["image_url"]["url"] == f"data:image/png;base64,{PNG_B64}"
    assert user[2]["image_url"]["url"] == "https://example.com/cat.jpg"
    assistant = msgs[2]
    assert text_of(assistant["content"]) == "Let me check both."
    assert "reasoning_content" not in assistant  # echo_reasoning_content: false (the default)
    assert [(c["id"], c["type"], c["function"]["name"]) for c in assistant["tool_calls"]] == [
        ("call_weather_1", "function", "get_weather"), ("call_time_2", "function", "get_time")]
    assert isinstance(assistant["tool_calls"][0]["function"]["arguments"], str)
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}
    assert json.loads(assistant["tool_calls"][1]["function"]["arguments"]) == {"timezone": "Europe/Paris"}
    assert msgs[3]["tool_call_id"] == "call_weather_1" and text_of(msgs[3]["content"]) == "sunny, 21°C"
    assert msgs[4]["tool_call_id"] == "call_time_2"
    assert "clock unavailable" in text_of(msgs[4]["content"])
    assert "error" in text_of(msgs[4]["content"]).lower()  # is_error is not lost
    assert text_of(msgs[5]["content"]) == "Thanks; summarise."


@pytest.mark.parametrize(("choice", "expected", "parallel"), [
    ({"type": "auto"}, "auto", None),
    ({"type": "any"}, "required", None),
    ({"type": "tool", "name": "get_time"}, {"type": "function", "function": {"name": "get_time"}}, None),
    ({"type": "none"}, "none", None),
    ({"type": "auto", "disable_parallel_tool_use": True}, "auto", False),
    ({"type": "any", "disable_parallel_tool_use": True}, "required", False),
], ids=["auto", "any", "tool", "none", "auto-no-parallel", "any-no-parallel"])
def test_tool_choice_mapping(client: anthropic.Anthropic, oai_mock: MockServer, choice: dict[str, Any],
                             expected: Any, parallel: bool | None) -> None:
    mark = oai_mock.mark()
    client.messages.create(model="e2e/oai-text", max_tokens=50, messages=USER, tools=TOOLS, tool_choice=choice)
    body = sent_body(one_call(oai_mock, mark))
    assert body["tool_choice"] == expected
    if parallel is None:
        assert "parallel_tool_calls" not in body
    else:
        assert body["parallel_tool_calls"] is parallel


def test_tool_result_round_trip(client: anthropic.Anthropic, oai_mock: MockServer) -> None:
    """The SDK's own tool_use answer goes back with tool_results: the upstream gets the assistant's
    tool_calls (same ids, arguments as JSON strings) directly followed by one tool message per call."""
    with client.messages.stream(model="e2e/oai-tools", max_tokens=300, messages=USER, tools=TOOLS) as stream:
        first = stream.get_final_message()
    uses = [b for b in first.content if b.type == "tool_use"]
    assert len(uses) == 2
    mark = oai_mock.mark()
    second = client.messages.create(model="e2e/oai-text", max_tokens=100, tools=TOOLS, messages=[
        *USER,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": uses[0].id, "content": "sunny, 21°C"},
            {"type": "tool_result", "tool_use_id": uses[1].id, "content": [{"type": "text", "text": "14:05"}]},
        ]},
    ])
    assert second.content[0].text == O.TEXT
    msgs = sent_body(one_call(oai_mock, mark))["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "tool", "tool"], msgs
    assert text_of(msgs[1]["content"]) == O.TOOLS_PREAMBLE
    calls = msgs[1]["tool_calls"]
    assert [c["id"] for c in calls] == [u.id for u in uses]
    assert [c["function"]["name"] for c in calls] == [u.name for u in uses]
    assert [json.loads(c["function"]["arguments"]) for c in calls] == O.TOOL_ARGS
    assert [(m["tool_call_id"], text_of(m["content"])) for m in msgs[2:]] == [(uses[0].id, "sunny, 21°C"),
                                                                             (uses[1].id, "14:05")]


def test_dialect_options_reach_the_upstream(client: anthropic.Anthropic, oai_mock: MockServer) -> None:
    """The second provider sets every `openai:` option: max_completion_tokens, a nested reasoning field,
    top_k, and reasoning_content echoed on assistant tool-call turns (DeepSeek)."""
    mark = oai_mock.mark()
    msg = client.messages.create(
        model="e2e/oai-dialect", max_tokens=20000, extra_body={"top_k": 7},
        thinking={"type": "enabled", "budget_tokens": 16000}, tools=TOOLS,
        messages=[
            *USER,
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "I need the weather.", "signature": ""},
                {"type": "tool_use", "id": "call_w", "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_w", "content": "rain"}]},
        ])
    assert msg.content[0].type == "thinking" and msg.content[1].text == O.REASONING_ANSWER
    call = one_call(oai_mock, mark)
    body = sent_body(call)
    assert body["max_completion_tokens"] == 20000 and "max_tokens" not in body
    assert body["reasoning"] == {"effort": "high"} and "reasoning_effort" not in body
    assert body["top_k"] == 7
    assistant = body["messages"][1]
    assert assistant["role"] == "assistant" and assistant["reasoning_content"] == "I need the weather."
    assert assistant["content"] is None or text_of(assistant["content"]) == ""
    assert call["model"] == "oa-reasoning"


@pytest.mark.parametrize("fixture", ["claude-code-2.1.331-agent-turn1", "claude-code-2.1.331-agent-turn2-tool-result",
                                     "claude-code-2.1.331-sonnet-oneshot"])
def test_recorded_claude_code_requests_translate(oai_gateway: Gateway, oai_client_key: dict[str, Any],
                                                 oai_mock: MockServer, fixture: str) -> None:
    """Claude Code's real requests (captured bodies and headers) reach the upstream as requests
    api.openai.com would accept, without its billing header, betas or deferred tools."""
    body = json.loads((E2E_DIR / "fixtures" / f"{fixture}.body.json").read_text())
    captured = json.loads((E2E_DIR / "fixtures" / f"{fixture}.headers.json").read_text())
    body["model"] = "e2e/oai-agent"
    headers = {k: v for k, v in captured["headers"]
               if k.lower() not in ("authorization", "x-api-key", "content-length", "host", "accept-encoding",
                                    "connection")}
    headers["x-api-key"] = oai_client_key["key"]
    mark = oai_mock.mark()
    r = http_request(oai_gateway.url + captured["path"], "POST", json.dumps(body).encode(), headers, timeout=60)
    assert r.status == 200, r.body[:2000]
    blocks = assert_event_sequence(parse_sse(r.body))
    assert blocks
    call = one_call(oai_mock, mark)
    raw = base64.b64decode(call["body_b64"]).decode()
    sent = json.loads(raw)
    assert "x-anthropic-billing-header" not in raw
    assert "cache_control" not in raw and "context_management" not in sent and "output_config" not in sent
    assert not [k for k, _ in call["headers"] if k.lower().startswith(("anthropic-", "x-claude-code", "x-stainless"))]
    names = [t["function"]["name"] for t in sent["tools"]]
    assert "Bash" in names
    deferred = [t["name"] for t in body["tools"] if t.get("defer_loading")]
    assert deferred and not set(deferred) & set(names)
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    roles = [m["role"] for m in sent["messages"]]
    assert roles[0] == "system"
    if "tool-result" in fixture:
        i = roles.index("assistant")
        assert roles[i + 1] == "tool", roles
        assert O.tool_message_text(sent["messages"][i + 1]) == "switchyard-e2e-42"


# ---------------------------------------------------------------------------------------------
# Broken upstream streams


BROKEN = [("e2e/oai-cut", O.CUT_PIECES[:O.CUT_AFTER]), ("e2e/oai-garbage", O.GARBAGE_PIECES[:1])]


@pytest.mark.parametrize(("model", "delivered"), BROKEN, ids=["cut", "garbage"])
def test_broken_stream_ends_in_error_event_and_is_billed_once(oai_gateway: Gateway, oai_mock: MockServer,
                                                              model: str, delivered: list[str]) -> None:
    key = oai_gateway.create_key(credits=10)
    mark = oai_mock.mark()
    r = gateway_post(oai_gateway, key["key"], {"model": model, "max_tokens": 100, "messages": USER, "stream": True})
    assert r.status == 200
    events = parse_sse(r.body)  # the read completed: the gateway ended the stream
    names = [n for n, _ in events]
    assert names[0] == "message_start" and names.count("message_start") == 1, names
    assert names[-1] == "error", names
    assert "message_stop" not in names and "message_delta" not in names, names
    err = events[-1][1]
    assert err["type"] == "error" and err["error"]["type"] == "api_error" and err["error"]["message"], err
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert text == "".join(delivered)
    call = one_call(oai_mock, mark)
    assert call["response"].get("cut" if "cut" in model else "garbage") is True

    (rec,) = wait_records(oai_gateway, key["id"], 1)
    time.sleep(1.0)
    recs = oai_gateway.usage_records(key["id"])
    assert len(recs) == 1, recs
    tokens = record_tokens(recs[0])
    assert tokens["output"] >= 1, recs[0]
    assert record_cost(recs[0]) > 0
    wait_credits(oai_gateway, key["id"], 10 - record_cost(recs[0]))


@pytest.mark.parametrize(("model", "delivered"), BROKEN, ids=["cut", "garbage"])
def test_broken_stream_bills_the_prompt_the_upstream_read(oai_gateway: Gateway, oai_mock: MockServer,
                                                          model: str, delivered: list[str]) -> None:
    """The upstream read (and will charge for) the whole prompt before the stream broke; Chat Completions
    only reports usage at the end, so the gateway must bill its own estimate of the input, not 0
    (SPEC §5: usage is recorded also for streams that end early)."""
    key = oai_gateway.create_key(credits=10)
    messages = [{"role": "user", "content": "Please describe the history of Paris in detail. " * 40}]
    r = gateway_post(oai_gateway, key["key"], {"model": model, "max_tokens": 100, "messages": messages,
                                               "stream": True})
    assert r.status == 200 and parse_sse(r.body)[-1][0] == "error"
    (rec,) = wait_records(oai_gateway, key["id"], 1)
    assert record_tokens(rec)["input"] >= len(messages[0]["content"]) // 8, rec


@pytest.mark.parametrize("model", ["e2e/oai-cut", "e2e/oai-garbage"], ids=["cut", "garbage"])
def test_broken_stream_raises_in_the_sdk(client: anthropic.Anthropic, model: str) -> None:
    with pytest.raises(anthropic.APIStatusError) as info:
        with client.messages.stream(model=model, max_tokens=100, messages=USER) as stream:
            for _ in stream:
                pass
    assert info.value.body["error"]["type"] == "api_error"


@pytest.mark.parametrize("model", ["e2e/oai-cut", "e2e/oai-garbage"], ids=["cut", "garbage"])
def test_broken_json_answer_is_502(oai_gateway: Gateway, oai_mock: MockServer, model: str) -> None:
    key = oai_gateway.create_key(credits=10)
    mark = oai_mock.mark()
    r = gateway_post(oai_gateway, key["key"], {"model": model, "max_tokens": 100, "messages": USER})
    assert r.status == 502, r.body
    assert_error_shape(r.headers, r.json(), "api_error")
    assert len(chat_calls(oai_mock, mark)) >= 1


# ---------------------------------------------------------------------------------------------
# Usage and billing


def test_usage_split_cached_tokens_and_bills_once(oai_gateway: Gateway, oai_mock: MockServer) -> None:
    key = oai_gateway.create_key(credits=10)
    client = sdk_client(oai_gateway.url, key["key"])
    tokens = expected_usage("text")
    cost = oai_cost_usd(tokens["input"], tokens["output"], tokens["cache_read"])
    assert tokens["cache_read"] > 0 and tokens["input"] > 0

    client.messages.create(model="e2e/oai-text", max_tokens=100, messages=USER)
    (rec,) = wait_records(oai_gateway, key["id"], 1)
    assert record_tokens(rec) == tokens
    assert record_cost(rec) == pytest.approx(cost, abs=1e-9)
    assert rec.get("provider") == OAI_PROVIDER_ID
    assert rec.get("model") in ("e2e/oai-text", "oa-text")
    wait_credits(oai_gateway, key["id"], 10 - cost)

    with client.messages.stream(model="e2e/oai-text", max_tokens=100, messages=USER) as stream:
        stream.get_final_message()
    recs = wait_records(oai_gateway, key["id"], 2)
    assert len(recs) == 2
    for rec in recs:
        assert record_tokens(rec) == tokens
        assert record_cost(rec) == pytest.approx(cost, abs=1e-9)
    wait_credits(oai_gateway, key["id"], 10 - 2 * cost)


def test_dialect_provider_is_recorded(oai_gateway: Gateway) -> None:
    key = oai_gateway.create_key(credits=10)
    client = sdk_client(oai_gateway.url, key["key"])
    with client.messages.stream(model="e2e/oai-dialect", max_tokens=100, messages=USER) as stream:
        stream.get_final_message()
    (rec,) = wait_records(oai_gateway, key["id"], 1)
    assert rec.get("provider") == OAI_DIALECT_PROVIDER_ID
    assert record_tokens(rec) == expected_usage("reasoning")


# ---------------------------------------------------------------------------------------------
# Errors


ERROR_CASES = [
    ("e2e/oai-error-400", 400, "invalid_request_error"),
    ("e2e/oai-error-401", 502, "api_error"),
    ("e2e/oai-error-429", 429, "rate_limit_error"),
]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize(("model", "status", "etype"), ERROR_CASES, ids=["400", "401", "429"])
def test_upstream_errors_are_mapped(oai_gateway: Gateway, oai_mock: MockServer, model: str, status: int,
                                    etype: str, stream: bool) -> None:
    key = oai_gateway.create_key(credits=10)
    client = sdk_client(oai_gateway.url, key["key"])
    mark = oai_mock.mark()
    with pytest.raises(anthropic.APIStatusError) as info:
        client.messages.create(model=model, max_tokens=10, messages=USER, stream=stream)
    err = info.value
    assert err.status_code == status, err.body
    headers = dict(err.response.headers)
    assert_error_shape(headers, err.body, etype)
    assert len(chat_calls(oai_mock, mark)) == 1
    message = err.body["error"]["message"]
    assert OAI_PROVIDER_KEY not in json.dumps(err.body)
    if status == 400:
        assert O.ERRORS[400]["message"] in message  # the upstream's own words reach the user
    if status == 429:
        assert headers.get("retry-after") == O.RETRY_AFTER_429
    if status == 502:
        assert O.ERRORS[401]["message"] not in message  # not blamed on the client's key
    time.sleep(1.0)
    assert oai_gateway.key_credits(key["id"]) == pytest.approx(10, abs=1e-12)
    assert all(record_cost(r) == 0 for r in oai_gateway.usage_records(key["id"]))


def test_unknown_content_block_type_is_400(client: anthropic.Anthropic, oai_mock: MockServer) -> None:
    mark = oai_mock.mark()
    with pytest.raises(anthropic.BadRequestError) as info:
        client.messages.create(model="e2e/oai-text", max_tokens=100, messages=[
            {"role": "user", "content": [{"type": "text", "text": "hi"},
                                         {"type": "e2e_future_block", "payload": {"x": 1}}]},  # type: ignore[list-item]
        ])
    assert_error_shape(dict(info.value.response.headers), info.value.body, "invalid_request_error")
    assert "e2e_future_block" in info.value.body["error"]["message"]
    assert chat_calls(oai_mock, mark) == []


# ---------------------------------------------------------------------------------------------
# count_tokens


def count_bodies() -> list[tuple[str, dict[str, Any]]]:
    small = {"model": "e2e/oai-text", "system": "You are a careful assistant. " * 20,
             "messages": [{"role": "user", "content": "Tell me about the weather in Paris, please. " * 30}],
             "tools": TOOLS}
    cc = json.loads((E2E_DIR / "fixtures" / "claude-code-2.1.331-agent-turn1.body.json").read_text())
    cc = {k: v for k, v in cc.items() if k in ("messages", "system", "tools", "thinking", "tool_choice")}
    cc["model"] = "e2e/oai-agent"
    return [("handmade", small), ("claude-code-turn1", cc)]


@pytest.mark.parametrize(("name", "body"), count_bodies(), ids=[n for n, _ in count_bodies()])
def test_count_tokens_is_a_free_local_estimate(oai_gateway: Gateway, oai_mock: MockServer, name: str,
                                               body: dict[str, Any]) -> None:
    key = oai_gateway.create_key(credits=10)
    data = json.dumps(body).encode()
    mark = oai_mock.mark()
    r = gateway_post(oai_gateway, key["key"], data, path="/v1/messages/count_tokens")
    assert r.status == 200, r.body
    count = r.json()["input_tokens"]
    assert isinstance(count, int)
    assert count >= len(data) // 4, (count, len(data))
    # The tools are counted too: the same body without them counts less.
    without_tools = {k: v for k, v in body.items() if k != "tools"}
    r2 = gateway_post(oai_gateway, key["key"], without_tools, path="/v1/messages/count_tokens")
    assert r2.status == 200 and r2.json()["input_tokens"] < count
    assert chat_calls(oai_mock, mark) == []  # answered locally
    time.sleep(1.0)
    assert oai_gateway.key_credits(key["id"]) == pytest.approx(10, abs=1e-12)
    assert all(record_cost(rec) == 0 for rec in oai_gateway.usage_records(key["id"]))


def test_count_tokens_through_the_sdk(client: anthropic.Anthropic) -> None:
    count = client.messages.count_tokens(model="e2e/oai-text", messages=USER, system="Be brief.")
    assert count.input_tokens >= 3
