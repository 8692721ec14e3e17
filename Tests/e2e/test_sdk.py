"""The official `anthropic` Python SDK through the Switchyard binary to the mock Anthropic upstream.

Each test reads the mock's request log (only the requests made since the test's `mark`) to prove
what reached the upstream, and `switchyard usage --json` / `keys show --json` to prove billing.
"""

from __future__ import annotations

import http.client
import json
import time
from typing import Any

import anthropic
import pytest

import mock_anthropic as M
from e2e_support import (
    PROVIDER_ID, PROVIDER_KEY, Gateway, MockServer, SentRequest, cost_usd, http_request, json_member_span,
    gateway_post, header, parse_sse, record_cost, record_tokens, scenario_cost, sdk_client, wait_credits, wait_for,
    wait_records,
)

USER = [{"role": "user", "content": "hello"}]
BETA = "e2e-beta-2025-01-01,interleaved-thinking-2025-05-14,context-management-2025-06-27"


@pytest.fixture()
def client(gateway: Gateway, client_key: dict[str, Any]) -> anthropic.Anthropic:
    return sdk_client(gateway.url, client_key["key"])


def upstream_calls(mock: MockServer, mark: int) -> list[dict[str, Any]]:
    """The /v1/messages* requests the mock received since `mark`."""
    return [e for e in mock.log(since=mark) if e["path"].startswith("/v1/messages")]


def one_upstream_call(mock: MockServer, mark: int) -> dict[str, Any]:
    calls = upstream_calls(mock, mark)
    assert len(calls) == 1, f"expected exactly one upstream request, got {[c['path'] for c in calls]}"
    return calls[0]


def raw_body(entry: dict[str, Any]) -> bytes:
    import base64
    return base64.b64decode(entry["body_b64"])


def assert_error_shape(status: int, headers: dict[str, str], body: Any, etype: str | tuple[str, ...]) -> None:
    etypes = (etype,) if isinstance(etype, str) else etype
    assert body["type"] == "error", body
    assert body["error"]["type"] in etypes, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    assert body["request_id"], body
    assert headers["request-id"] == body["request_id"]


# ---------------------------------------------------------------------------------------------
# Messages: JSON and streaming


def test_non_streaming_text(client: anthropic.Anthropic, mock: MockServer) -> None:
    mark = mock.mark()
    msg = client.messages.create(model="e2e/text", max_tokens=100, messages=USER)
    assert [b.type for b in msg.content] == ["text"]
    assert msg.content[0].text == M.TEXT
    assert msg.stop_reason == "end_turn"
    inp, out, cr, cw = M.USAGE["text"]
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == (inp, out)
    assert (msg.usage.cache_read_input_tokens, msg.usage.cache_creation_input_tokens) == (cr, cw)
    entry = one_upstream_call(mock, mark)
    assert entry["path"] == "/v1/messages"
    assert json.loads(entry["body"])["model"] == "mock-text"


def test_alias_resolves_to_the_model(client: anthropic.Anthropic, mock: MockServer) -> None:
    mark = mock.mark()
    msg = client.messages.create(model="e2e-text-alias", max_tokens=100, messages=USER)
    assert msg.content[0].text == M.TEXT
    assert one_upstream_call(mock, mark)["model"] == "mock-text"


def test_stream_text(client: anthropic.Anthropic, mock: MockServer) -> None:
    mark = mock.mark()
    with client.messages.stream(model="e2e/text", max_tokens=100, messages=USER) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert pieces == M.TEXT_PIECES
    assert final.content[0].text == M.TEXT
    assert final.stop_reason == "end_turn"
    inp, out, cr, cw = M.USAGE["text"]
    assert (final.usage.input_tokens, final.usage.output_tokens) == (inp, out)
    assert (final.usage.cache_read_input_tokens, final.usage.cache_creation_input_tokens) == (cr, cw)
    entry = one_upstream_call(mock, mark)
    assert entry["stream"] is True and entry["model"] == "mock-text"


def test_stream_events_pass_through_in_order(gateway: Gateway, client_key: dict[str, Any], mock: MockServer) -> None:
    """Raw SSE: the client gets the upstream's events (pings included) in the same order, each
    with an `event:` name equal to its JSON type, and the query string is accepted."""
    mark = mock.mark()
    r = gateway_post(gateway, client_key["key"], {"model": "e2e/text", "max_tokens": 100, "messages": USER,
                                                  "stream": True}, path="/v1/messages?beta=true")
    assert r.status == 200, r.body
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers.get("request-id")
    events = parse_sse(r.body)
    for name, data in events:
        assert name == data["type"], (name, data)
    entry = one_upstream_call(mock, mark)
    assert [name for name, _ in events] == entry["response"]["events"]
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert text == M.TEXT


def test_stream_tool_use_input_json_deltas(client: anthropic.Anthropic, mock: MockServer) -> None:
    mark = mock.mark()
    tools = [{"name": "get_weather", "description": "Weather for a city",
              "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
    partials: list[str] = []
    with client.messages.stream(model="e2e/tool", max_tokens=200, messages=USER, tools=tools) as stream:
        for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                partials.append(event.delta.partial_json)
        final = stream.get_final_message()
    sent = one_upstream_call(mock, mark)["response"]["message"]
    expected_pieces = M.split_tool_json(json.dumps(M.TOOL_INPUT, ensure_ascii=False))
    assert partials == expected_pieces and len(partials) >= 4
    assert final.stop_reason == "tool_use"
    tool = final.content[1]
    assert tool.type == "tool_use" and tool.name == "get_weather"
    assert tool.id == sent["content"][1]["id"]
    assert tool.input == sent["content"][1]["input"] == M.TOOL_INPUT


def test_thinking_signature_passes_both_ways(gateway: Gateway, client_key: dict[str, Any], mock: MockServer) -> None:
    sent: list[SentRequest] = []
    client = sdk_client(gateway.url, client_key["key"], sent=sent)
    thinking = {"type": "enabled", "budget_tokens": 2048}
    mark = mock.mark()
    with client.messages.stream(model="e2e/thinking", max_tokens=4096, messages=USER, thinking=thinking) as stream:
        first = stream.get_final_message()
    mock_message = one_upstream_call(mock, mark)["response"]["message"]
    block = first.content[0]
    assert block.type == "thinking"
    assert block.thinking == M.THINKING_TEXT
    assert block.signature == mock_message["content"][0]["signature"]
    assert first.content[1].text == M.THINKING_ANSWER

    # The assistant turn goes back with its thinking block: the upstream must get the client's bytes.
    mark = mock.mark()
    second = client.messages.create(model="e2e/thinking", max_tokens=4096, thinking=thinking, messages=[
        *USER,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": "and then?"},
    ])
    assert second.content[1].text == M.THINKING_ANSWER
    entry = one_upstream_call(mock, mark)
    client_body = sent[-1].body
    assert json_member_span(raw_body(entry), "messages") == json_member_span(client_body, "messages")
    replayed = json.loads(entry["body"])["messages"][1]["content"][0]
    assert replayed["signature"] == mock_message["content"][0]["signature"]


def test_thinking_block_bytes_are_not_reserialized(gateway: Gateway, client_key: dict[str, Any],
                                                   mock: MockServer) -> None:
    """A hand-written body with escapes a re-serializer would change (\\u00e9, surrogate pairs, spacing):
    the `messages` member reaches the upstream byte for byte."""
    messages = (
        b'[ {"role": "user", "content": "caf\\u00e9?"},\n'
        b'    {"role": "assistant", "content": [ {"type": "thinking", "thinking": "Let me think \\u00abcaf\\u00e9\\u00bb'
        b' \\ud83d\\ude80 \\"q\\"\\n\\/", "signature": "EqAB+/x0Zk9==" }, {"type":"text","text":"ok"} ]},\n'
        b'    {"role": "user", "content": [{"type": "text", "text": "again"}]} ]'
    )
    body = (b'{"model": "e2e/thinking", "max_tokens": 4096,\n "thinking": {"type": "enabled", "budget_tokens": 2048},\n'
            b' "messages": ' + messages + b'}')
    mark = mock.mark()
    r = gateway_post(gateway, client_key["key"], body)
    assert r.status == 200, r.body
    entry = one_upstream_call(mock, mark)
    assert json_member_span(raw_body(entry), "messages") == messages


def test_tool_use_round_trip(client: anthropic.Anthropic, mock: MockServer) -> None:
    first = client.messages.create(model="e2e/tool", max_tokens=200, messages=USER)
    assert first.stop_reason == "tool_use"
    tool = first.content[1]
    assert tool.type == "tool_use" and tool.input == M.TOOL_INPUT
    mark = mock.mark()
    second = client.messages.create(model="e2e/tool", max_tokens=200, messages=[
        *USER,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool.id, "content": "sunny, 21°C"}]},
    ])
    assert second.stop_reason == "end_turn"
    assert second.content[0].text == 'The tool said: "sunny, 21°C"'
    forwarded = json.loads(one_upstream_call(mock, mark)["body"])["messages"]
    assert forwarded[1]["content"][1] == {"type": "tool_use", "id": tool.id, "name": tool.name, "input": M.TOOL_INPUT}
    assert forwarded[2]["content"][0]["tool_use_id"] == tool.id


# ---------------------------------------------------------------------------------------------
# What reaches the upstream


def test_upstream_gets_provider_key_betas_and_unknown_fields(gateway: Gateway, client_key: dict[str, Any],
                                                              mock: MockServer) -> None:
    sent: list[SentRequest] = []
    client = sdk_client(gateway.url, client_key["key"], sent=sent)
    unknown_top = {"nested": [1, "two", {"three": None}], "flag": True}
    block_extra = {"k": "v", "n": 1.5}
    mark = mock.mark()
    msg = client.messages.create(
        model="e2e/text", max_tokens=100,
        messages=[{"role": "user", "content": [{"type": "text", "text": "hi", "e2e_block_extra": block_extra}]}],
        extra_headers={"anthropic-beta": BETA},
        extra_body={"e2e_unknown_top": unknown_top, "context_management": {"edits": []}},
    )
    assert msg.content[0].text == M.TEXT
    entry = one_upstream_call(mock, mark)
    assert header(entry, "x-api-key") == [PROVIDER_KEY]
    assert header(entry, "anthropic-beta") == [BETA]
    assert header(entry, "anthropic-version") == [sent[-1].headers["anthropic-version"]]
    client_secret = client_key["key"]
    for name, value in entry["headers"]:
        assert client_secret not in value, f"client key leaked in upstream header {name}"
    assert client_secret not in raw_body(entry).decode("utf-8", "replace")
    assert not [v for v in header(entry, "authorization") if client_secret in v]
    body = json.loads(entry["body"])
    assert body["model"] == "mock-text"
    assert body["e2e_unknown_top"] == unknown_top
    assert body["context_management"] == {"edits": []}
    assert body["messages"][0]["content"][0] == {"type": "text", "text": "hi", "e2e_block_extra": block_extra}


def test_unknown_content_block_type_is_forwarded(client: anthropic.Anthropic, mock: MockServer) -> None:
    block = {"type": "e2e_future_block", "payload": {"x": 1}}
    mark = mock.mark()
    msg = client.messages.create(model="e2e/text", max_tokens=100, messages=[
        {"role": "user", "content": [{"type": "text", "text": "hi"}, block]},  # type: ignore[list-item]
    ])
    assert msg.content[0].text == M.TEXT
    body = json.loads(one_upstream_call(mock, mark)["body"])
    assert body["messages"][0]["content"][1] == block


def test_gateway_extension_fields_are_removed(client: anthropic.Anthropic, mock: MockServer) -> None:
    mark = mock.mark()
    client.messages.create(model="e2e/text", max_tokens=100, messages=USER,
                           extra_body={"provider": {"allow_fallbacks": True}})
    body = json.loads(one_upstream_call(mock, mark)["body"])
    assert "provider" not in body
    assert body["messages"] == USER


# ---------------------------------------------------------------------------------------------
# Authentication


@pytest.mark.parametrize("auth", ["x-api-key", "bearer"])
def test_both_auth_styles_work(gateway: Gateway, client_key: dict[str, Any], mock: MockServer, auth: str) -> None:
    client = sdk_client(gateway.url, client_key["key"], auth)
    mark = mock.mark()
    msg = client.messages.create(model="e2e/text", max_tokens=100, messages=USER)
    assert msg.content[0].text == M.TEXT
    entry = one_upstream_call(mock, mark)
    assert header(entry, "x-api-key") == [PROVIDER_KEY]
    assert not header(entry, "authorization")


@pytest.mark.parametrize("auth", ["x-api-key", "bearer"])
def test_bad_key_is_401_and_never_reaches_upstream(gateway: Gateway, mock: MockServer, auth: str) -> None:
    client = sdk_client(gateway.url, "sk-sy-not-a-real-key-0000000000000000", auth)
    mark = mock.mark()
    with pytest.raises(anthropic.AuthenticationError) as info:
        client.messages.create(model="e2e/text", max_tokens=100, messages=USER)
    err = info.value
    assert err.status_code == 401
    assert_error_shape(401, dict(err.response.headers), err.body, "authentication_error")
    assert upstream_calls(mock, mark) == []


def test_missing_key_is_401(gateway: Gateway, mock: MockServer) -> None:
    mark = mock.mark()
    r = http_request(gateway.url + "/v1/messages", "POST",
                     json.dumps({"model": "e2e/text", "max_tokens": 10, "messages": USER}).encode(),
                     {"anthropic-version": "2023-06-01", "content-type": "application/json"})
    assert r.status == 401
    assert_error_shape(401, r.headers, r.json(), "authentication_error")
    assert upstream_calls(mock, mark) == []


def test_disabled_key_is_401_until_enabled(gateway: Gateway, mock: MockServer) -> None:
    key = gateway.create_key(credits=10)
    client = sdk_client(gateway.url, key["key"])
    client.messages.create(model="e2e/text", max_tokens=10, messages=USER)
    gateway.cli("keys", "disable", str(key["id"]))
    assert gateway.cli_json("keys", "show", str(key["id"]))["disabled"] is True

    def rejected() -> bool:
        try:
            client.messages.create(model="e2e/text", max_tokens=10, messages=USER)
            return False
        except anthropic.AuthenticationError:
            return True

    wait_for(rejected, 5, "the disabled key to be refused", interval=0.25)
    mark = mock.mark()
    with pytest.raises(anthropic.AuthenticationError):
        client.messages.create(model="e2e/text", max_tokens=10, messages=USER)
    assert upstream_calls(mock, mark) == []
    gateway.cli("keys", "enable", str(key["id"]))
    wait_for(lambda: not rejected(), 5, "the enabled key to be accepted", interval=0.25)


# ---------------------------------------------------------------------------------------------
# Errors


ERROR_CASES = [
    # gateway model, client status, client error types
    ("e2e/error-400", 400, ("invalid_request_error",)),
    ("e2e/error-401", 502, ("api_error",)),
    ("e2e/error-403", 502, ("api_error",)),
    ("e2e/error-429", 429, ("rate_limit_error",)),
    ("e2e/error-500", 502, ("api_error",)),
    ("e2e/error-529", 502, ("api_error",)),
]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize(("model", "status", "etypes"), ERROR_CASES, ids=[c[0].split("/")[1] for c in ERROR_CASES])
def test_upstream_errors_are_mapped(client: anthropic.Anthropic, mock: MockServer, model: str, status: int,
                                    etypes: tuple[str, ...], stream: bool) -> None:
    mark = mock.mark()
    with pytest.raises(anthropic.APIStatusError) as info:
        client.messages.create(model=model, max_tokens=10, messages=USER, stream=stream)
    err = info.value
    assert err.status_code == status, err.body
    headers = dict(err.response.headers)
    assert_error_shape(status, headers, err.body, etypes)
    assert len(upstream_calls(mock, mark)) >= 1
    message = err.body["error"]["message"]
    assert PROVIDER_KEY not in json.dumps(err.body)
    if status == 400:
        assert M.ERROR_TYPES[400][1] in message  # the upstream's own words reach the user
    if status == 429:
        assert headers.get("retry-after") == M.RETRY_AFTER_429


@pytest.mark.parametrize(("body", "statuses"), [
    ({"model": "e2e/text", "max_tokens": 10, "messages": USER, "temperature": 1.5}, (400,)),
    ({"model": "e2e/text", "max_tokens": 10, "messages": USER, "top_k": -1}, (400,)),
    ({"model": "e2e/text", "messages": USER}, (400,)),
    ({"model": "e2e/text", "max_tokens": 10, "messages": []}, (400,)),
    ({"model": "e2e/text", "max_tokens": 10, "messages": [{"role": "robot", "content": "x"}]}, (400,)),
    ({"model": "e2e/text", "max_tokens": 100, "messages": USER,
      "thinking": {"type": "enabled", "budget_tokens": 2048}}, (400,)),
    ({"model": "e2e/no-such-model", "max_tokens": 10, "messages": USER}, (400, 404)),
    (b'{"model": "e2e/text", "max_tokens": 10, "messages": [', (400,)),
], ids=["temperature", "top_k", "no-max_tokens", "empty-messages", "bad-role", "budget>=max_tokens",
        "unknown-model", "malformed-json"])
def test_invalid_requests_are_refused_before_upstream(gateway: Gateway, client_key: dict[str, Any],
                                                      mock: MockServer, body: Any, statuses: tuple[int, ...]) -> None:
    mark = mock.mark()
    r = gateway_post(gateway, client_key["key"], body)
    assert r.status in statuses, r.body
    assert_error_shape(r.status, r.headers, r.json(), ("invalid_request_error", "not_found_error"))
    if isinstance(body, dict) and body["model"] == "e2e/no-such-model":
        assert "e2e/no-such-model" in r.json()["error"]["message"]
    assert upstream_calls(mock, mark) == []


def test_no_credits_is_402_without_retry(gateway: Gateway, mock: MockServer) -> None:
    key = gateway.create_key(credits=0)
    mark = mock.mark()
    r = gateway_post(gateway, key["key"], {"model": "e2e/text", "max_tokens": 10, "messages": USER})
    assert r.status == 402, r.body
    assert_error_shape(402, r.headers, r.json(), "billing_error")
    assert r.headers.get("x-should-retry") == "false"
    assert upstream_calls(mock, mark) == []


# ---------------------------------------------------------------------------------------------
# Billing


def test_usage_recorded_and_credits_deducted(gateway: Gateway, mock: MockServer) -> None:
    key = gateway.create_key(credits=10)
    client = sdk_client(gateway.url, key["key"])
    expected_cost = scenario_cost("text")

    client.messages.create(model="e2e/text", max_tokens=100, messages=USER)
    (rec,) = wait_records(gateway, key["id"], 1)
    inp, out, cr, cw = M.USAGE["text"]
    assert record_tokens(rec) == {"input": inp, "output": out, "cache_read": cr, "cache_write": cw}
    assert record_cost(rec) == pytest.approx(expected_cost, abs=1e-9)
    assert rec.get("provider") == PROVIDER_ID
    assert rec.get("model") in ("e2e/text", "mock-text")
    assert rec.get("status") in (200, "200", "ok", "success"), rec
    wait_credits(gateway, key["id"], 10 - expected_cost)

    # The same through a stream, whose message_delta repeats the cumulative usage: counted once.
    with client.messages.stream(model="e2e/text", max_tokens=100, messages=USER) as stream:
        stream.get_final_message()
    recs = wait_records(gateway, key["id"], 2)
    assert len(recs) == 2
    for rec in recs:
        assert record_tokens(rec) == {"input": inp, "output": out, "cache_read": cr, "cache_write": cw}
    wait_credits(gateway, key["id"], 10 - 2 * expected_cost)


def test_errors_and_count_tokens_cost_nothing(gateway: Gateway, mock: MockServer) -> None:
    key = gateway.create_key(credits=10)
    client = sdk_client(gateway.url, key["key"])
    mark = mock.mark()
    count = client.messages.count_tokens(model="e2e/text", messages=USER)
    entry = one_upstream_call(mock, mark)
    assert entry["path"].startswith("/v1/messages/count_tokens")
    assert json.loads(entry["body"])["model"] == "mock-text"
    assert count.input_tokens == len(raw_body(entry)) // 4
    with pytest.raises(anthropic.APIStatusError):
        client.messages.create(model="e2e/error-500", max_tokens=10, messages=USER)
    time.sleep(1.5)
    assert gateway.key_credits(key["id"]) == pytest.approx(10, abs=1e-12)
    assert all(record_cost(r) == 0 for r in gateway.usage_records(key["id"]))


def test_cut_stream_ends_in_error_event_and_is_billed_once(gateway: Gateway, mock: MockServer) -> None:
    key = gateway.create_key(credits=10)
    mark = mock.mark()
    r = gateway_post(gateway, key["key"], {"model": "e2e/cut", "max_tokens": 100, "messages": USER, "stream": True})
    assert r.status == 200
    events = parse_sse(r.body)  # the read above completed: the gateway ended the stream properly
    names = [n for n, _ in events]
    assert names[0] == "message_start"
    assert names[-1] == "error", names
    assert "message_stop" not in names
    err = events[-1][1]
    assert err["type"] == "error" and err["error"]["type"] and err["error"]["message"]
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert text == "".join(M.CUT_PIECES[:2])
    assert one_upstream_call(mock, mark)["response"].get("cut") is True

    (rec,) = wait_records(gateway, key["id"], 1)
    time.sleep(1.5)
    recs = gateway.usage_records(key["id"])
    assert len(recs) == 1, recs
    tokens = record_tokens(recs[0])
    assert tokens["input"] == M.USAGE["cut"][0]
    assert record_cost(recs[0]) >= cost_usd(M.USAGE["cut"][0], 0, 0, 0) - 1e-12
    wait_credits(gateway, key["id"], 10 - record_cost(recs[0]))


def test_stream_error_event_reaches_the_sdk(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.APIStatusError) as info:
        with client.messages.stream(model="e2e/stream-error", max_tokens=100, messages=USER) as stream:
            for _ in stream:
                pass
    assert info.value.body["error"]["type"] == "overloaded_error"


# ---------------------------------------------------------------------------------------------
# Streaming is streaming


def test_first_event_arrives_while_upstream_holds_the_rest(gateway: Gateway, client_key: dict[str, Any],
                                                           mock: MockServer) -> None:
    body = json.dumps({"model": "e2e/slow", "max_tokens": 100, "messages": USER, "stream": True}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=15)
    try:
        conn.request("POST", "/v1/messages", body, {"x-api-key": client_key["key"], "anthropic-version": "2023-06-01",
                                                    "content-type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200
        buf = b""
        deadline = time.monotonic() + 15
        while b'"text_delta"' not in buf:
            assert time.monotonic() < deadline, f"no delta within 15 s; got {buf!r}"
            chunk = resp.read1(65536)
            assert chunk, f"stream ended early: {buf!r}"
            buf += chunk
        # The client has the first delta; the upstream has not sent the rest yet.
        assert mock.state()["holding"] == 1
        first = [d for n, d in parse_sse(buf.rsplit(b"\n\n", 1)[0] + b"\n\n") if n == "content_block_delta"]
        assert first[0]["delta"]["text"] == M.SLOW_FIRST
        assert mock.release() == 1
        buf += resp.read()
    finally:
        mock.release()
        conn.close()
    events = parse_sse(buf)
    assert events[-1][0] == "message_stop"
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert text == M.SLOW_FIRST + "".join(M.SLOW_REST)


def test_sdk_sees_first_text_while_upstream_holds(client: anthropic.Anthropic, mock: MockServer) -> None:
    try:
        with client.messages.stream(model="e2e/slow", max_tokens=100, messages=USER) as stream:
            it = iter(stream.text_stream)
            assert next(it) == M.SLOW_FIRST
            assert mock.state()["holding"] == 1
            mock.release()
            assert list(it) == M.SLOW_REST
    finally:
        mock.release()  # never leave a held stream behind for the next test


# ---------------------------------------------------------------------------------------------
# Other endpoints


def test_models_list(client: anthropic.Anthropic, gateway: Gateway, client_key: dict[str, Any]) -> None:
    ids = [m.id for m in client.models.list(limit=1000)]
    assert {"e2e/text", "e2e/agent", "e2e/thinking"} <= set(ids)
    r = http_request(gateway.url + "/v1/models", headers={"x-api-key": client_key["key"],
                                                          "anthropic-version": "2023-06-01"})
    page = r.json()
    assert {"data", "has_more", "first_id", "last_id"} <= set(page)
    assert all(m["type"] == "model" for m in page["data"])


def test_head_probe_and_health(gateway: Gateway) -> None:
    assert http_request(gateway.url + "/", "HEAD").status < 500
    assert http_request(gateway.url + "/health/live").status == 200
    assert http_request(gateway.url + "/health/ready").status == 200


def test_every_answer_has_a_request_id(gateway: Gateway, client_key: dict[str, Any]) -> None:
    r = gateway_post(gateway, client_key["key"], {"model": "e2e/text", "max_tokens": 10, "messages": USER})
    assert r.status == 200 and r.headers.get("request-id")


# ---------------------------------------------------------------------------------------------
# TLS to the upstream


def test_tls_upstream_with_trusted_ca(tls_gateway: Gateway, tls_mock: MockServer) -> None:
    key = tls_gateway.create_key(credits=10)
    client = sdk_client(tls_gateway.url, key["key"])
    mark = tls_mock.mark()
    msg = client.messages.create(model="e2e/tls", max_tokens=100, messages=USER)
    assert msg.content[0].text == M.TEXT
    entry = one_upstream_call(tls_mock, mark)
    assert header(entry, "x-api-key") == [PROVIDER_KEY]
    with client.messages.stream(model="e2e/tls", max_tokens=100, messages=USER) as stream:
        assert "".join(stream.text_stream) == M.TEXT


def test_tls_upstream_without_the_ca_fails_with_502(tls_gateway: Gateway, tls_mock: MockServer) -> None:
    key = tls_gateway.create_key(credits=10)
    client = sdk_client(tls_gateway.url, key["key"])
    mark = tls_mock.mark()
    with pytest.raises(anthropic.APIStatusError) as info:
        client.messages.create(model="e2e/tls-noca", max_tokens=100, messages=USER)
    assert info.value.status_code == 502
    assert_error_shape(502, dict(info.value.response.headers), info.value.body, "api_error")
    assert upstream_calls(tls_mock, mark) == []
