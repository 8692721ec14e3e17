"""The mock upstream itself, driven by the official `anthropic` SDK with no gateway in between.

Every scenario must parse cleanly in the SDK: that proves the mock's wire shapes are the real
ones, so a failure in the gateway tests is the gateway's, not the mock's.
"""

from __future__ import annotations

import json

import anthropic
import pytest

import mock_anthropic as M
from e2e_support import PROVIDER_KEY, MockServer, http_request, parse_sse, sdk_client


@pytest.fixture()
def direct(mock: MockServer) -> anthropic.Anthropic:
    return sdk_client(mock.url, PROVIDER_KEY)


USER = [{"role": "user", "content": "hello"}]


def test_text_non_streaming(direct: anthropic.Anthropic) -> None:
    msg = direct.messages.create(model="mock-text", max_tokens=100, messages=USER)
    assert [b.type for b in msg.content] == ["text"]
    assert msg.content[0].text == M.TEXT
    inp, out, cr, cw = M.USAGE["text"]
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == (inp, out)
    assert (msg.usage.cache_read_input_tokens, msg.usage.cache_creation_input_tokens) == (cr, cw)
    assert msg.stop_reason == "end_turn"


def test_text_streaming(direct: anthropic.Anthropic) -> None:
    with direct.messages.stream(model="mock-text", max_tokens=100, messages=USER) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert pieces == M.TEXT_PIECES
    assert final.content[0].text == M.TEXT
    assert final.usage.output_tokens == M.USAGE["text"][1]
    assert final.usage.input_tokens == M.USAGE["text"][0]


def test_tool_use_streaming(direct: anthropic.Anthropic, mock: MockServer) -> None:
    mark = mock.mark()
    json_deltas = 0
    with direct.messages.stream(model="mock-tool", max_tokens=100, messages=USER) as stream:
        for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                json_deltas += 1
        final = stream.get_final_message()
    assert json_deltas >= 4
    tool = final.content[1]
    assert tool.type == "tool_use" and tool.name == "get_weather"
    assert tool.input == M.TOOL_INPUT
    assert final.stop_reason == "tool_use"
    (entry,) = mock.log(since=mark)
    assert entry["response"]["message"]["content"][1]["input"] == tool.input


def test_thinking_streaming(direct: anthropic.Anthropic, mock: MockServer) -> None:
    mark = mock.mark()
    with direct.messages.stream(model="mock-thinking", max_tokens=4096, messages=USER,
                                thinking={"type": "enabled", "budget_tokens": 2048}) as stream:
        final = stream.get_final_message()
    (entry,) = mock.log(since=mark)
    thinking = final.content[0]
    assert thinking.type == "thinking"
    assert thinking.thinking == M.THINKING_TEXT
    assert thinking.signature == entry["response"]["message"]["content"][0]["signature"]
    assert set(thinking.signature) >= {"+", "/", "="}
    assert final.content[1].text == M.THINKING_ANSWER


def test_tool_round_trip(direct: anthropic.Anthropic) -> None:
    first = direct.messages.create(model="mock-tool", max_tokens=100, messages=USER)
    tool = first.content[1]
    second = direct.messages.create(model="mock-tool", max_tokens=100, messages=[
        *USER,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool.id, "content": "sunny, 21°C"}]},
    ])
    assert second.content[0].text == 'The tool said: "sunny, 21°C"'


def test_slow_holds_until_released(direct: anthropic.Anthropic, mock: MockServer) -> None:
    with direct.messages.stream(model="mock-slow-20", max_tokens=100, messages=USER) as stream:
        it = iter(stream.text_stream)
        assert next(it) == M.SLOW_FIRST
        assert mock.state()["holding"] == 1
        assert mock.release() == 1
        rest = list(it)
    assert rest == M.SLOW_REST


def test_cut_breaks_the_stream(direct: anthropic.Anthropic) -> None:
    with pytest.raises(Exception) as info:
        with direct.messages.stream(model="mock-cut", max_tokens=100, messages=USER) as stream:
            for _ in stream:
                pass
    assert not isinstance(info.value, AssertionError)


def test_stream_error_event(direct: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.APIStatusError) as info:
        with direct.messages.stream(model="mock-stream-error", max_tokens=100, messages=USER) as stream:
            for _ in stream:
                pass
    assert info.value.body["error"]["type"] == "overloaded_error"


@pytest.mark.parametrize(("status", "exc"), [
    (400, anthropic.BadRequestError), (401, anthropic.AuthenticationError), (403, anthropic.PermissionDeniedError),
    (429, anthropic.RateLimitError), (500, anthropic.InternalServerError), (529, anthropic.APIStatusError),
])
def test_errors(direct: anthropic.Anthropic, status: int, exc: type[Exception]) -> None:
    with pytest.raises(exc) as info:
        direct.messages.create(model=f"mock-error-{status}", max_tokens=10, messages=USER)
    err = info.value
    assert err.status_code == status
    assert err.body["type"] == "error"
    assert err.body["error"]["type"] == M.ERROR_TYPES[status][0]
    assert err.response.headers["request-id"] == err.body["request_id"]
    if status == 429:
        assert err.response.headers["retry-after"] == M.RETRY_AFTER_429


def test_wrong_provider_key_is_401(mock: MockServer) -> None:
    client = sdk_client(mock.url, "sk-wrong")
    with pytest.raises(anthropic.AuthenticationError):
        client.messages.create(model="mock-text", max_tokens=10, messages=USER)


def test_count_tokens_and_404(direct: anthropic.Anthropic, mock: MockServer) -> None:
    mark = mock.mark()
    count = direct.messages.count_tokens(model="mock-text", messages=USER)
    (entry,) = mock.log(since=mark)
    assert count.input_tokens == len(entry["body"].encode()) // 4
    r = http_request(mock.url + "/v1/nothing", "POST", b"{}", {"anthropic-version": "2023-06-01"})
    assert r.status == 404 and r.json()["error"]["type"] == "not_found_error"
    head = http_request(mock.url + "/", "HEAD")
    assert head.status == 404 and head.body == b""


def test_log_records_everything(mock: MockServer) -> None:
    mark = mock.mark()
    body = b'{"model":"mock-text","max_tokens":5,"messages":[{"role":"user","content":"x"}],"stream":true}'
    r = http_request(mock.url + "/v1/messages?beta=true", "POST", body,
                     {"x-api-key": PROVIDER_KEY, "anthropic-version": "2023-06-01", "anthropic-beta": "a-1,b-2"})
    assert r.status == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(r.body)
    assert [e for e, _ in events][:2] == ["message_start", "ping"]
    assert all(name == data["type"] for name, data in events)
    (entry,) = mock.log(since=mark)
    assert entry["path"] == "/v1/messages?beta=true"
    assert ["anthropic-beta", "a-1,b-2"] in entry["headers"]
    assert entry["body"].encode() == body
    assert json.loads(entry["body"])["stream"] is True
