"""Routing and resilience (issue 4) end to end: the official `anthropic` SDK through the Switchyard binary to
loopback mock upstreams that fail in every way a provider can.

Two gateways share this module's mocks (an Anthropic mock, an OpenAI mock and a closed loopback port):

- `routing`: the endpoints of each model are a failing one and a good one. Provider `anth` has tight
  timeouts (first byte 1 s, idle 1 s); `anth-b` (same mock) and `oai` keep the top-level 5 s; `dead` refuses
  connections. Its circuit breaker needs 1000 failures, so the failure tests never open a circuit.
- `circuit`: `circuit_breaker: { failures: 2, cooldown_s: 1 }` (the section is top-level only, hence a gateway
  of its own) for the circuit tests.

Each test proves what reached the upstream from the mocks' request logs (only the requests since the test's
`mark`), and the attempts and billing from `switchyard usage --json`, found by the request-id the client got.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import anthropic
import pytest

import mock_anthropic as M
import mock_openai as O
from e2e_support import (
    OAI_PROVIDER_KEY, PROVIDER_KEY, Gateway, MockServer, RoutingEndpoint, RoutingProvider, SentRequest,
    closed_loopback_port, fail_next, gateway_post, metric_value, record_cost, record_tokens, render_routing_config,
    sdk_client, start_mock, start_openai_mock, wait_credits, wait_for, wait_record, wait_records,
)

USER = [{"role": "user", "content": "hello"}]
TOOLS = [{"name": "get_weather", "description": "Weather for a city",
          "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]

#: USD per million tokens. `anth` (mostly the failing endpoints) is dearer than `anth-b`, so a bill at the wrong
#: endpoint's price shows; `oai` is the cheapest.
A_PRICE = {"input": 3.0, "output": 15.0, "cache_read": 0.3, "cache_write": 3.75}
B_PRICE = {"input": 2.0, "output": 10.0, "cache_read": 0.2, "cache_write": 2.5}
O_PRICE = {"input": 1.0, "output": 2.0, "cache_read": 0.5, "cache_write": 0.0}
ALL = ("tools", "thinking", "images", "documents")

TEXT_TOKENS = dict(zip(("input", "output", "cache_read", "cache_write"), M.USAGE["text"]))
_p, _c, _cached, _ = O.USAGE["text"]
OAI_TEXT_TOKENS = {"input": _p - _cached, "output": _c, "cache_read": _cached, "cache_write": 0}


def price_of(tokens: dict[str, int], price: dict[str, float]) -> float:
    return sum(tokens[k] * price[k] for k in ("input", "output", "cache_read", "cache_write")) / 1_000_000


def A(model: str, supports: tuple[str, ...] = ()) -> RoutingEndpoint:
    return RoutingEndpoint("anth", model, A_PRICE, supports)


def B(model: str = "mock-text", supports: tuple[str, ...] = ()) -> RoutingEndpoint:
    return RoutingEndpoint("anth-b", model, B_PRICE, supports)


def OA(model: str, supports: tuple[str, ...] = ()) -> RoutingEndpoint:
    return RoutingEndpoint("oai", model, O_PRICE, supports)


#: Failures before any content, on the first endpoint of `fb/<name>`: (provider, upstream model, the attempt's
#: outcome without / with streaming). The second endpoint is always anth-b's mock-text.
FAILURES: dict[str, tuple[str, str, str, str]] = {
    "500": ("anth", "mock-error-500", "http_500", "http_500"),
    "529": ("anth", "mock-error-529", "http_529", "http_529"),
    "429": ("anth", "mock-error-429", "http_429", "http_429"),
    "401": ("anth", "mock-error-401", "http_401", "http_401"),
    "404": ("anth", "mock-error-404", "http_404", "http_404"),
    "408": ("anth", "mock-error-408", "http_408", "http_408"),
    "hang": ("anth", "mock-hang", "timeout_first_byte", "timeout_first_byte"),
    "garbage": ("anth", "mock-garbage", "invalid_answer", "invalid_stream"),
    "early-error": ("anth", "mock-early-error", "http_529", "stream_error"),
    "early-end": ("anth", "mock-early-end", "invalid_answer", "stream_cut"),
    "early-cut": ("anth", "mock-early-cut", "connection_lost", "connection_lost"),
    "dead": ("dead", "mock-text", "connect_failed", "connect_failed"),
}


def routing_models() -> dict[str, list[RoutingEndpoint]]:
    models: dict[str, list[RoutingEndpoint]] = {}
    for name, (provider, upstream, _, _) in FAILURES.items():
        models[f"fb/{name}"] = [RoutingEndpoint(provider, upstream, A_PRICE), B()]
    models.update({
        # cross-dialect
        "x/anth-to-oai": [A("mock-early-error"), OA("oa-text")],
        "x/anth-500-to-oai": [A("mock-error-500"), OA("oa-text")],
        "x/oai-to-anth": [OA("oa-error-500"), B()],
        "x/oai-429-to-anth": [OA("oa-error-429"), B()],
        "x/oai-cut-to-anth": [OA("oa-early-cut"), B()],
        # the request's `models` list
        "m/broken": [A("mock-error-500")],
        "m/broken2": [A("mock-error-529")],
        "m/backup": [B()],
        "m/other": [OA("oa-text")],
        # provider preferences: three endpoints, three prices, different `supports`
        "p/multi": [A("mock-text", ALL), B(), OA("oa-text", ("tools",))],
        # when every attempt fails, the last failure decides
        "last/502": [A("mock-error-500"), RoutingEndpoint("dead", "mock-text", B_PRICE)],
        "last/429": [A("mock-error-500"), B("mock-error-429")],
        "last/408": [A("mock-error-500"), A("mock-hang")],
        # request errors go back at once
        "pass/400": [A("mock-error-400"), B()],
        "pass/413": [A("mock-error-413"), B()],
        "pass/422": [A("mock-error-422"), B()],
        # failures after content
        "after/stream-error": [A("mock-stream-error"), B()],
        "after/linger": [A("mock-stream-error-linger"), B()],
        "after/cut": [A("mock-cut"), B()],
        "after/idle": [A("mock-slow-4"), B()],
        "after/oai-cut": [OA("oa-cut"), B()],
        # per-provider timeouts: a slow first byte within the limit is no failure
        "t/slow-anth": [A("mock-hang-0.4"), B()],
        "t/slow-anth-b": [B("mock-hang-1.6")],
        # sort: latency, after both endpoints have figures
        "s/latency": [A("mock-hang-0.3"), B("mock-fast")],  # upstream models no other test uses: no figures yet
        # client disconnects during the second attempt
        "d/hold": [A("mock-error-500"), B("mock-hold")],
        "d/hang": [A("mock-error-500"), B("mock-hang")],
    })
    return models


def circuit_models() -> dict[str, list[RoutingEndpoint]]:
    return {"c/flaky": [A("mock-circuit"), B()], "c/solo": [A("mock-circuit-solo")]}


# ---------------------------------------------------------------------------------------------
# Fixtures


@dataclass
class Setup:
    gw: Gateway
    mock: MockServer
    oai: MockServer
    key: dict[str, Any]


@pytest.fixture(scope="module")
def r_mock(workdir: Path) -> Iterator[MockServer]:
    server = start_mock(workdir, "routing-mock")
    yield server
    server.proc.stop()


@pytest.fixture(scope="module")
def r_oai(workdir: Path) -> Iterator[MockServer]:
    server = start_openai_mock(workdir, "routing-oai")
    yield server
    server.proc.stop()


def start_routing_gateway(bin_path: Path, workdir: Path, name: str, mock: MockServer, oai: MockServer,
                          models: dict[str, list[RoutingEndpoint]], failures: int) -> Gateway:
    providers = [
        RoutingProvider("anth", "anthropic", mock.url, "E2E_PROVIDER_KEY", {"first_byte_s": 1, "idle_s": 1}),
        RoutingProvider("anth-b", "anthropic", mock.url, "E2E_PROVIDER_KEY"),
        RoutingProvider("oai", "openai", oai.url + "/v1", "E2E_OPENAI_PROVIDER_KEY"),
        RoutingProvider("dead", "anthropic", f"http://127.0.0.1:{closed_loopback_port()}", "E2E_PROVIDER_KEY"),
    ]
    config = render_routing_config(
        workdir / f"{name}.db", providers, models,
        timeouts={"connect_s": 2, "first_byte_s": 5, "idle_s": 5, "total_s": 30},
        circuit_breaker={"failures": failures, "cooldown_s": 1})
    gw = Gateway(bin_path, workdir, name, config)
    gw.env["E2E_OPENAI_PROVIDER_KEY"] = OAI_PROVIDER_KEY
    return gw.start()


@pytest.fixture(scope="module")
def routing(switchyard_bin: Path, workdir: Path, r_mock: MockServer, r_oai: MockServer) -> Iterator[Setup]:
    gw = start_routing_gateway(switchyard_bin, workdir, "gateway-routing", r_mock, r_oai, routing_models(), 1000)
    try:
        yield Setup(gw, r_mock, r_oai, gw.create_key("routing", credits=100.0))
    finally:
        gw.stop()


@pytest.fixture(scope="module")
def circuit(switchyard_bin: Path, workdir: Path, r_mock: MockServer, r_oai: MockServer) -> Iterator[Setup]:
    gw = start_routing_gateway(switchyard_bin, workdir, "gateway-circuit", r_mock, r_oai, circuit_models(), 2)
    try:
        yield Setup(gw, r_mock, r_oai, gw.create_key("circuit", credits=100.0))
    finally:
        gw.stop()


# ---------------------------------------------------------------------------------------------
# Helpers


def calls(mock: MockServer, mark: int) -> list[dict[str, Any]]:
    """The API requests (not test hooks) the mock received since `mark`, in order."""
    return [e for e in mock.log(since=mark) if e["path"].startswith("/v1/")]


def models_called(mock: MockServer, mark: int) -> list[str]:
    return [e["model"] for e in calls(mock, mark)]


def attempts_of(rec: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(a["provider"], a["model"], a["upstream_model"], a["outcome"]) for a in rec["attempts"]]


def stream_all(client: anthropic.Anthropic, **kw: Any) -> tuple[list[Any], Any, dict[str, str]]:
    """Runs `messages.stream()` to the end: (every event, the final message, the response headers)."""
    with client.messages.stream(max_tokens=100, messages=USER, **kw) as stream:
        events = list(stream)
        final = stream.get_final_message()
        headers = dict(stream.response.headers)
    return events, final, headers


def streamed_text(events: list[Any]) -> str:
    return "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta")


def create_raw(client: anthropic.Anthropic, **kw: Any) -> tuple[Any, dict[str, str]]:
    raw = client.messages.with_raw_response.create(max_tokens=100, messages=USER, **kw)
    return raw.parse(), dict(raw.headers)


def serve(client: anthropic.Anthropic, stream: bool, **kw: Any) -> tuple[str, dict[str, str], Any]:
    """One successful request, streamed or not: (its text, the response headers, the final message)."""
    if stream:
        events, final, headers = stream_all(client, **kw)
        assert [e.type for e in events].count("message_start") == 1
        assert streamed_text(events) == final.content[0].text
        return final.content[0].text, headers, final
    msg, headers = create_raw(client, **kw)
    return msg.content[0].text, headers, msg


def expect_status_error(client: anthropic.Anthropic, stream: bool, **kw: Any) -> anthropic.APIStatusError:
    with pytest.raises(anthropic.APIStatusError) as info:
        client.messages.create(max_tokens=100, messages=USER, stream=stream, **kw)
    return info.value


def assert_error_body(err: anthropic.APIStatusError, status: int, etype: str) -> str:
    assert err.status_code == status, (err.status_code, err.body)
    body = err.body
    assert body["type"] == "error" and body["error"]["type"] == etype, body
    assert err.response.headers["request-id"] == body["request_id"]
    message = body["error"]["message"]
    assert isinstance(message, str) and message
    assert PROVIDER_KEY not in message and OAI_PROVIDER_KEY not in message
    return message


# ---------------------------------------------------------------------------------------------
# 1. Fallback from a failing Anthropic endpoint to the next one


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("failure", list(FAILURES))
def test_failure_before_content_falls_back_to_the_next_endpoint(routing: Setup, failure: str, stream: bool) -> None:
    provider, upstream, outcome_json, outcome_stream = FAILURES[failure]
    model = f"fb/{failure}"
    client = sdk_client(routing.gw.url, routing.key["key"])
    mark = routing.mock.mark()
    text, headers, final = serve(client, stream, model=model)

    assert text == M.TEXT
    assert headers["x-switchyard-provider"] == "anth-b"
    assert headers["x-switchyard-model"] == model
    seen = calls(routing.mock, mark)
    expected_calls = ["mock-text"] if provider == "dead" else [upstream, "mock-text"]
    assert [e["model"] for e in seen] == expected_calls
    assert all(e["stream"] is stream for e in seen)
    # The message the client got is the second endpoint's, not a mix with the failed one's message_start.
    assert final.id == seen[-1]["response"]["message"]["id"]

    rec = wait_record(routing.gw, routing.key["id"], headers["request-id"])
    outcome = outcome_stream if stream else outcome_json
    assert attempts_of(rec) == [(provider, model, upstream, outcome), ("anth-b", model, "mock-text", "ok")]
    assert rec["provider"] == "anth-b" and rec["upstream_model"] == "mock-text" and rec["status"] == 200
    assert record_tokens(rec) == TEXT_TOKENS
    assert record_cost(rec) == pytest.approx(price_of(TEXT_TOKENS, B_PRICE), abs=1e-9)

    if failure == "hang":
        # The first-byte limit of `anth` (1 s) ended the attempt, and the gateway hung up on the upstream.
        assert 900 <= rec["attempts"][0]["latency_ms"] <= 3000, rec["attempts"]
        hung_seq = seen[0]["seq"]
        wait_for(lambda: [e for e in calls(routing.mock, mark) if e["seq"] == hung_seq][0]["response"].get("closed_at"),
                 3, "the hung upstream connection to be closed")


# ---------------------------------------------------------------------------------------------
# 2. Across dialects


CROSS = [
    # model, first attempt (provider, upstream, outcome json, outcome stream), serving (provider, upstream)
    ("x/anth-to-oai", ("anth", "mock-early-error", "http_529", "stream_error"), ("oai", "oa-text")),
    ("x/anth-500-to-oai", ("anth", "mock-error-500", "http_500", "http_500"), ("oai", "oa-text")),
    ("x/oai-to-anth", ("oai", "oa-error-500", "http_500", "http_500"), ("anth-b", "mock-text")),
    ("x/oai-429-to-anth", ("oai", "oa-error-429", "http_429", "http_429"), ("anth-b", "mock-text")),
    ("x/oai-cut-to-anth", ("oai", "oa-early-cut", "connection_lost", "connection_lost"), ("anth-b", "mock-text")),
]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize(("model", "first", "served"), CROSS, ids=[c[0].split("/")[1] for c in CROSS])
def test_fallback_across_dialects(routing: Setup, model: str, first: tuple[str, str, str, str],
                                  served: tuple[str, str], stream: bool) -> None:
    client = sdk_client(routing.gw.url, routing.key["key"])
    mark_a, mark_o = routing.mock.mark(), routing.oai.mark()
    text, headers, _ = serve(client, stream, model=model)

    to_openai = served[0] == "oai"
    assert text == (O.TEXT if to_openai else M.TEXT)
    assert headers["x-switchyard-provider"] == served[0]
    assert headers["x-switchyard-model"] == model
    anth_calls, oai_calls = models_called(routing.mock, mark_a), models_called(routing.oai, mark_o)
    if to_openai:
        assert (anth_calls, oai_calls) == ([first[1]], ["oa-text"])
    else:
        assert (anth_calls, oai_calls) == (["mock-text"], [first[1]])

    rec = wait_record(routing.gw, routing.key["id"], headers["request-id"])
    outcome = first[3] if stream else first[2]
    assert attempts_of(rec) == [(first[0], model, first[1], outcome), (served[0], model, served[1], "ok")]
    tokens, price = (OAI_TEXT_TOKENS, O_PRICE) if to_openai else (TEXT_TOKENS, B_PRICE)
    assert record_tokens(rec) == tokens
    assert record_cost(rec) == pytest.approx(price_of(tokens, price), abs=1e-9)


# ---------------------------------------------------------------------------------------------
# 3. The request's `models` list and `provider` preferences


def test_models_fallback_list_is_tried_in_order(routing: Setup) -> None:
    client = sdk_client(routing.gw.url, routing.key["key"])
    mark_a, mark_o = routing.mock.mark(), routing.oai.mark()
    text, headers, _ = serve(client, True, model="m/broken", extra_body={"models": ["m/broken2", "m/other"]})
    assert text == O.TEXT
    assert (headers["x-switchyard-provider"], headers["x-switchyard-model"]) == ("oai", "m/other")
    assert models_called(routing.mock, mark_a) == ["mock-error-500", "mock-error-529"]
    assert models_called(routing.oai, mark_o) == ["oa-text"]
    rec = wait_record(routing.gw, routing.key["id"], headers["request-id"])
    assert attempts_of(rec) == [("anth", "m/broken", "mock-error-500", "http_500"),
                                ("anth", "m/broken2", "mock-error-529", "http_529"),
                                ("oai", "m/other", "oa-text", "ok")]
    assert rec["model"] == "m/other" and rec["provider"] == "oai"
    assert record_cost(rec) == pytest.approx(price_of(OAI_TEXT_TOKENS, O_PRICE), abs=1e-9)
    # The extension never reaches an upstream.
    assert "models" not in json.loads(calls(routing.oai, mark_o)[0]["body"])


def test_models_fallback_is_unused_when_the_model_serves(routing: Setup) -> None:
    client = sdk_client(routing.gw.url, routing.key["key"])
    mark_a, mark_o = routing.mock.mark(), routing.oai.mark()
    text, headers, _ = serve(client, False, model="m/backup", extra_body={"models": ["m/other"]})
    assert text == M.TEXT and headers["x-switchyard-model"] == "m/backup"
    assert (models_called(routing.mock, mark_a), models_called(routing.oai, mark_o)) == (["mock-text"], [])
    body = json.loads(calls(routing.mock, mark_a)[0]["body"])
    assert "models" not in body and body["model"] == "mock-text"


PREFERENCES = [
    # provider object, with tools, the provider expected to serve
    ({}, False, "anth"),
    ({"order": ["oai"]}, False, "oai"),
    ({"order": ["anth-b", "oai"]}, False, "anth-b"),
    ({"order": ["oai"], "allow_fallbacks": False}, False, "oai"),
    ({"only": ["anth-b"]}, False, "anth-b"),
    ({"only": ["oai", "anth-b"]}, False, "anth-b"),
    ({"ignore": ["anth"]}, False, "anth-b"),
    ({"sort": "price"}, False, "oai"),
    ({"sort": {"by": "price"}, "ignore": ["oai"]}, False, "anth-b"),
    ({"max_price": {"input": 2.5}}, False, "anth-b"),
    ({"max_price": {"input": 1.5, "output": 5}}, False, "oai"),
    ({"ignore": ["anth"]}, True, "anth-b"),
    ({"ignore": ["anth"], "require_parameters": True}, True, "oai"),
    ({"order": ["anth-b"], "require_parameters": True}, True, "anth"),
    ({"order": ["anth-b"], "require_parameters": True}, False, "anth-b"),
]


@pytest.mark.parametrize(("provider", "tools", "expected"), PREFERENCES,
                         ids=[json.dumps(p, separators=(",", ":")) + ("+tools" if t else "")
                              for p, t, _ in PREFERENCES])
def test_provider_preferences_choose_the_endpoint(routing: Setup, provider: dict[str, Any], tools: bool,
                                                  expected: str) -> None:
    client = sdk_client(routing.gw.url, routing.key["key"])
    mark_a, mark_o = routing.mock.mark(), routing.oai.mark()
    kw: dict[str, Any] = {"extra_body": {"provider": provider}} if provider else {}
    if tools:
        kw["tools"] = TOOLS
    text, headers, _ = serve(client, False, model="p/multi", **kw)
    assert headers["x-switchyard-provider"] == expected
    assert text == (O.TEXT if expected == "oai" else M.TEXT)
    # Exactly one upstream request, at the chosen endpoint.
    anth_calls, oai_calls = calls(routing.mock, mark_a), calls(routing.oai, mark_o)
    assert len(anth_calls) + len(oai_calls) == 1
    sent = (oai_calls or anth_calls)[0]
    assert "provider" not in json.loads(sent["body"])
    rec = wait_record(routing.gw, routing.key["id"], headers["request-id"])
    upstream = "oa-text" if expected == "oai" else "mock-text"
    assert attempts_of(rec) == [(expected, "p/multi", upstream, "ok")]
    tokens = OAI_TEXT_TOKENS if expected == "oai" else TEXT_TOKENS
    price = {"anth": A_PRICE, "anth-b": B_PRICE, "oai": O_PRICE}[expected]
    assert record_cost(rec) == pytest.approx(price_of(tokens, price), abs=1e-9)


NO_ROUTE = [
    # provider object, with tools, words the 503 message must contain
    ({"only": ["anth-b"], "require_parameters": True}, True, ["anth-b", "tools", "require_parameters"]),
    ({"only": ["nobody"]}, False, ["'anth'", "'anth-b'", "'oai'", "provider.only"]),
    ({"ignore": ["anth", "anth-b", "oai"]}, False, ["'anth'", "'anth-b'", "'oai'", "provider.ignore"]),
    ({"max_price": {"input": 0.5}}, False, ["'anth'", "'oai'", "max_price"]),
    ({"order": ["nobody"], "allow_fallbacks": False}, False, ["'anth'", "allow_fallbacks"]),
]


@pytest.mark.parametrize(("provider", "tools", "words"), NO_ROUTE, ids=[json.dumps(p) for p, _, _ in NO_ROUTE])
def test_no_eligible_endpoint_is_503_that_the_sdk_does_not_retry(routing: Setup, provider: dict[str, Any],
                                                                 tools: bool, words: list[str]) -> None:
    key = routing.gw.create_key(credits=10)
    sent: list[SentRequest] = []
    client = sdk_client(routing.gw.url, key["key"], sent=sent, max_retries=2)  # the SDK's default
    mark_a, mark_o = routing.mock.mark(), routing.oai.mark()
    kw: dict[str, Any] = {"tools": TOOLS} if tools else {}
    with pytest.raises(anthropic.APIStatusError) as info:
        client.messages.create(model="p/multi", max_tokens=100, messages=USER, extra_body={"provider": provider}, **kw)
    err = info.value
    message = assert_error_body(err, 503, "overloaded_error")
    assert err.response.headers.get("x-should-retry") == "false"
    assert "retry-after" not in err.response.headers
    for word in words:
        assert word in message, (word, message)
    assert len(sent) == 1, "the SDK retried a 503 marked x-should-retry: false"
    assert calls(routing.mock, mark_a) == [] and calls(routing.oai, mark_o) == []
    (rec,) = wait_records(routing.gw, key["id"], 1)
    assert rec["status"] == 503 and record_cost(rec) == 0 and rec["attempts"] == []
    time.sleep(0.3)
    assert len(routing.gw.usage_records(key["id"])) == 1


MALFORMED = [
    ({"provider": {"sort": "cheapest"}}, "provider.sort"),
    ({"provider": {"order": "anth"}}, "provider.order"),
    ({"provider": {"only": [1]}}, "provider.only"),
    ({"provider": {"allow_fallbacks": "no"}}, "provider.allow_fallbacks"),
    ({"provider": {"require_parameters": 1}}, "provider.require_parameters"),
    ({"provider": {"max_price": {"input": -1}}}, "provider.max_price"),
    ({"provider": {"max_price": 3}}, "provider.max_price"),
    ({"provider": {"data_collection": "deny"}}, "provider.data_collection"),
    ({"provider": "anth"}, "provider"),
    ({"models": "m/backup"}, "models"),
    ({"models": [42]}, "models"),
    ({"models": ["m/no-such-model"]}, "m/no-such-model"),
]


@pytest.mark.parametrize(("extra", "word"), MALFORMED, ids=[json.dumps(e) for e, _ in MALFORMED])
def test_malformed_routing_extensions_are_400(routing: Setup, extra: dict[str, Any], word: str) -> None:
    sent: list[SentRequest] = []
    client = sdk_client(routing.gw.url, routing.key["key"], sent=sent, max_retries=2)
    mark_a, mark_o = routing.mock.mark(), routing.oai.mark()
    with pytest.raises(anthropic.BadRequestError) as info:
        client.messages.create(model="p/multi", max_tokens=100, messages=USER, extra_body=extra)
    message = assert_error_body(info.value, 400, "invalid_request_error")
    assert word in message, message
    assert len(sent) == 1
    assert calls(routing.mock, mark_a) == [] and calls(routing.oai, mark_o) == []


def test_allow_fallbacks_false_tries_only_the_primary(routing: Setup) -> None:
    client = sdk_client(routing.gw.url, routing.key["key"])
    mark = routing.mock.mark()
    err = expect_status_error(client, False, model="fb/500", extra_body={"provider": {"allow_fallbacks": False}})
    message = assert_error_body(err, 502, "api_error")
    assert not message.startswith("All "), message
    assert models_called(routing.mock, mark) == ["mock-error-500"]
    rec = wait_record(routing.gw, routing.key["id"], err.response.headers["request-id"])
    assert attempts_of(rec) == [("anth", "fb/500", "mock-error-500", "http_500")]
    assert rec["status"] == 502 and record_cost(rec) == 0


@pytest.mark.parametrize(("model", "provider", "upstream", "seconds"), [
    ("t/slow-anth", "anth", "mock-hang-0.4", 0.4),     # within anth's own first_byte_s: 1
    ("t/slow-anth-b", "anth-b", "mock-hang-1.6", 1.6),  # beyond anth's limit, within the inherited 5 s
], ids=["anth-0.4s", "anth-b-1.6s"])
def test_slow_first_byte_within_the_providers_limit_is_served(routing: Setup, model: str, provider: str,
                                                             upstream: str, seconds: float) -> None:
    client = sdk_client(routing.gw.url, routing.key["key"])
    mark = routing.mock.mark()
    started = time.monotonic()
    text, headers, _ = serve(client, True, model=model)
    assert time.monotonic() - started >= seconds
    assert text == M.TEXT and headers["x-switchyard-provider"] == provider
    assert models_called(routing.mock, mark) == [upstream]
    rec = wait_record(routing.gw, routing.key["id"], headers["request-id"])
    assert attempts_of(rec) == [(provider, model, upstream, "ok")]


def test_sort_latency_prefers_the_faster_endpoint(routing: Setup) -> None:
    client = sdk_client(routing.gw.url, routing.key["key"])
    # Neither endpoint has figures yet: configuration order, anth (whose first byte takes 0.3 s) serves.
    _, headers, _ = serve(client, False, model="s/latency", extra_body={"provider": {"sort": "latency"}})
    assert headers["x-switchyard-provider"] == "anth"
    _, headers, _ = serve(client, False, model="s/latency", extra_body={"provider": {"only": ["anth-b"]}})
    assert headers["x-switchyard-provider"] == "anth-b"
    for stream in (False, True):
        mark = routing.mock.mark()
        _, headers, _ = serve(client, stream, model="s/latency", extra_body={"provider": {"sort": "latency"}})
        assert headers["x-switchyard-provider"] == "anth-b"
        assert models_called(routing.mock, mark) == ["mock-fast"]
    # Without `sort`, configuration order still holds.
    _, headers, _ = serve(client, False, model="s/latency")
    assert headers["x-switchyard-provider"] == "anth"


# ---------------------------------------------------------------------------------------------
# When every attempt fails, and answers no other endpoint could change


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_all_attempts_failed_is_502_naming_the_last(routing: Setup, stream: bool) -> None:
    client = sdk_client(routing.gw.url, routing.key["key"])
    mark = routing.mock.mark()
    err = expect_status_error(client, stream, model="last/502")
    message = assert_error_body(err, 502, "api_error")
    assert message.startswith("All 2 upstream attempts failed; the last: "), message
    assert "'dead'" in message, message
    assert models_called(routing.mock, mark) == ["mock-error-500"]
    rec = wait_record(routing.gw, routing.key["id"], err.response.headers["request-id"])
    assert [a[3] for a in attempts_of(rec)] == ["http_500", "connect_failed"]
    assert rec["status"] == 502 and record_cost(rec) == 0


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_last_failure_429_passes_retry_after_on(routing: Setup, stream: bool) -> None:
    client = sdk_client(routing.gw.url, routing.key["key"])
    err = expect_status_error(client, stream, model="last/429")
    assert isinstance(err, anthropic.RateLimitError)
    message = assert_error_body(err, 429, "rate_limit_error")
    assert message.startswith("All 2 upstream attempts failed; the last: "), message
    assert err.response.headers.get("retry-after") == M.RETRY_AFTER_429
    rec = wait_record(routing.gw, routing.key["id"], err.response.headers["request-id"])
    assert [a[3] for a in attempts_of(rec)] == ["http_500", "http_429"]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_last_failure_timeout_is_408(routing: Setup, stream: bool) -> None:
    client = sdk_client(routing.gw.url, routing.key["key"])
    started = time.monotonic()
    err = expect_status_error(client, stream, model="last/408")
    assert 0.9 < time.monotonic() - started < 4
    message = assert_error_body(err, 408, "timeout_error")
    assert message.startswith("All 2 upstream attempts failed; the last: "), message
    rec = wait_record(routing.gw, routing.key["id"], err.response.headers["request-id"])
    assert [a[3] for a in attempts_of(rec)] == ["http_500", "timeout_first_byte"]


@pytest.mark.parametrize(("model", "status", "etype", "text"), [
    ("pass/400", 400, "invalid_request_error", M.ERROR_TYPES[400][1]),
    ("pass/413", 413, "request_too_large", M.ERROR_TYPES[413][1]),
    ("pass/422", 400, "invalid_request_error", "mock error 422"),
], ids=["400", "413", "422"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_request_errors_are_not_retried_elsewhere(routing: Setup, model: str, status: int, etype: str, text: str,
                                                 stream: bool) -> None:
    client = sdk_client(routing.gw.url, routing.key["key"])
    mark = routing.mock.mark()
    err = expect_status_error(client, stream, model=model)
    message = assert_error_body(err, status, etype)
    assert text in message
    upstream = "mock-error-" + model.split("/")[1]
    assert models_called(routing.mock, mark) == [upstream]
    rec = wait_record(routing.gw, routing.key["id"], err.response.headers["request-id"])
    assert attempts_of(rec) == [("anth", model, upstream, f"http_{model.split('/')[1]}")]


# ---------------------------------------------------------------------------------------------
# 4. A failure after content reached the client


AFTER = [
    # model, first endpoint (provider, upstream, outcome), text before the failure, error type, price
    ("after/stream-error", ("anth", "mock-stream-error", "stream_error"), "Partial ", "overloaded_error", A_PRICE),
    ("after/cut", ("anth", "mock-cut", "stream_cut"), "".join(M.CUT_PIECES[:2]), "api_error", A_PRICE),
    ("after/idle", ("anth", "mock-slow-4", "timeout_idle"), M.SLOW_FIRST, "timeout_error", A_PRICE),
    ("after/oai-cut", ("oai", "oa-cut", "stream_cut"), "".join(O.CUT_PIECES[:O.CUT_AFTER]), "api_error", O_PRICE),
]


@pytest.mark.parametrize(("model", "first", "partial", "etype", "price"), AFTER,
                         ids=[a[0].split("/")[1] for a in AFTER])
def test_failure_after_content_is_an_error_event_and_nothing_else_is_tried(
        routing: Setup, model: str, first: tuple[str, str, str], partial: str, etype: str,
        price: dict[str, float]) -> None:
    key = routing.gw.create_key(credits=10)
    client = sdk_client(routing.gw.url, key["key"])
    mark_a, mark_o = routing.mock.mark(), routing.oai.mark()
    got: list[str] = []
    try:
        with pytest.raises(anthropic.APIStatusError) as info:
            with client.messages.stream(model=model, max_tokens=100, messages=USER) as stream:
                headers = dict(stream.response.headers)
                for event in stream:
                    if event.type == "content_block_delta" and event.delta.type == "text_delta":
                        got.append(event.delta.text)
    finally:
        routing.mock.release()  # mock-slow holds its stream: let it go
    assert "".join(got) == partial
    assert info.value.body["type"] == "error" and info.value.body["error"]["type"] == etype, info.value.body
    assert headers["x-switchyard-provider"] == first[0]
    # Nothing else was tried: the good second endpoint never saw the request.
    assert models_called(routing.mock, mark_a) + models_called(routing.oai, mark_o) == [first[1]]

    (rec,) = wait_records(routing.gw, key["id"], 1)
    assert attempts_of(rec) == [(first[0], model, first[1], first[2])]
    assert rec["status"] == 200
    assert rec["provider"] == first[0]
    tokens = record_tokens(rec)
    assert tokens["input"] > 0
    cost = record_cost(rec)
    assert cost == pytest.approx(price_of(tokens, price), abs=1e-9) and cost > 0
    time.sleep(0.5)
    assert len(routing.gw.usage_records(key["id"])) == 1
    wait_credits(routing.gw, key["id"], 10 - cost)


def test_error_event_then_client_hangs_up_is_the_upstreams_failure(routing: Setup) -> None:
    """The upstream sends an `error` event mid-stream and keeps its connection open a moment; the SDK raises on
    the relayed event and hangs up. The upstream failed, not the client: the attempt is `stream_error` and it
    counts towards the endpoint's circuit, as when the upstream's stream ends first."""
    key = routing.gw.create_key(credits=10)
    client = sdk_client(routing.gw.url, key["key"])
    labels = {"provider": "anth", "upstream_model": "mock-stream-error-linger"}
    failures_before = metric_value(routing.gw, "switchyard_endpoint_consecutive_failures", labels)
    mark = routing.mock.mark()
    with pytest.raises(anthropic.APIStatusError) as info:
        with client.messages.stream(model="after/linger", max_tokens=100, messages=USER) as stream:
            for _ in stream:
                pass
    assert info.value.body["error"]["type"] == "overloaded_error"
    wait_for(lambda: next((e for e in calls(routing.mock, mark) if e["response"].get("closed_at")), None), 3,
             "the upstream connection to be closed")
    assert models_called(routing.mock, mark) == ["mock-stream-error-linger"]

    (rec,) = wait_records(routing.gw, key["id"], 1)
    assert attempts_of(rec) == [("anth", "after/linger", "mock-stream-error-linger", "stream_error")], rec
    assert rec["status"] == 200, rec
    assert metric_value(routing.gw, "switchyard_endpoint_consecutive_failures", labels) == (failures_before or 0) + 1
    cost = record_cost(rec)
    assert cost > 0
    wait_credits(routing.gw, key["id"], 10 - cost)


# ---------------------------------------------------------------------------------------------
# 5. Circuit breaker (failures: 2, cooldown_s: 1)


def circuit_state(gw: Gateway, upstream: str) -> float | None:
    return metric_value(gw, "switchyard_endpoint_circuit_state", {"provider": "anth", "upstream_model": upstream})


def test_circuit_opens_skips_the_endpoint_then_probes(circuit: Setup) -> None:
    client = sdk_client(circuit.gw.url, circuit.key["key"])
    assert circuit_state(circuit.gw, "mock-circuit") == 0
    fail_next(circuit.mock, "mock-circuit", 500, count=2)
    for _ in range(2):
        mark = circuit.mock.mark()
        text, headers, _ = serve(client, False, model="c/flaky")
        assert text == M.TEXT and headers["x-switchyard-provider"] == "anth-b"
        assert models_called(circuit.mock, mark) == ["mock-circuit", "mock-text"]
    opened_at = time.monotonic()
    assert circuit_state(circuit.gw, "mock-circuit") == 2

    # Open: the endpoint is skipped, the mock sees no request for it.
    mark = circuit.mock.mark()
    text, headers, _ = serve(client, True, model="c/flaky")
    assert text == M.TEXT and headers["x-switchyard-provider"] == "anth-b"
    assert models_called(circuit.mock, mark) == ["mock-text"]
    rec = wait_record(circuit.gw, circuit.key["id"], headers["request-id"])
    skipped = [a for a in attempts_of(rec) if a[0] == "anth"]
    assert skipped in ([], [("anth", "c/flaky", "mock-circuit", "circuit_open")]), skipped
    assert attempts_of(rec)[-1] == ("anth-b", "c/flaky", "mock-text", "ok")

    # After the cool-down a probe goes through; it succeeds and closes the circuit.
    time.sleep(max(0.0, 1.2 - (time.monotonic() - opened_at)))
    mark = circuit.mock.mark()
    text, headers, _ = serve(client, False, model="c/flaky")
    assert text == M.TEXT and headers["x-switchyard-provider"] == "anth"
    assert models_called(circuit.mock, mark) == ["mock-circuit"]
    rec = wait_record(circuit.gw, circuit.key["id"], headers["request-id"])
    assert attempts_of(rec) == [("anth", "c/flaky", "mock-circuit", "ok")]
    assert record_cost(rec) == pytest.approx(price_of(TEXT_TOKENS, A_PRICE), abs=1e-9)
    assert circuit_state(circuit.gw, "mock-circuit") == 0


def test_all_circuits_open_is_503_with_retry_after_and_the_sdk_retries(circuit: Setup) -> None:
    strict = sdk_client(circuit.gw.url, circuit.key["key"])
    fail_next(circuit.mock, "mock-circuit-solo", 500, count=2)
    for _ in range(2):
        err = expect_status_error(strict, False, model="c/solo")
        assert_error_body(err, 502, "api_error")
    assert circuit_state(circuit.gw, "mock-circuit-solo") == 2

    mark = circuit.mock.mark()
    r = gateway_post(circuit.gw, circuit.key["key"], {"model": "c/solo", "max_tokens": 10, "messages": USER})
    assert r.status == 503, r.body
    body = r.json()
    assert body["error"]["type"] == "overloaded_error" and "circuit" in body["error"]["message"], body
    assert "x-should-retry" not in r.headers
    assert 1 <= int(r.headers["retry-after"]) <= 2
    assert calls(circuit.mock, mark) == []

    # The SDK retries it (no x-should-retry: false), waits retry-after, and the probe then serves it.
    sent: list[SentRequest] = []
    client = sdk_client(circuit.gw.url, circuit.key["key"], sent=sent, max_retries=2)
    msg = client.messages.create(model="c/solo", max_tokens=10, messages=USER)
    assert msg.content[0].text == M.TEXT
    assert len(sent) == 2
    assert models_called(circuit.mock, mark) == ["mock-circuit-solo"]
    assert circuit_state(circuit.gw, "mock-circuit-solo") == 0


# ---------------------------------------------------------------------------------------------
# 6. The client disconnects during a fallback's second attempt


def test_client_disconnect_mid_stream_closes_the_upstream_and_bills_once(routing: Setup) -> None:
    key = routing.gw.create_key(credits=10)
    client = sdk_client(routing.gw.url, key["key"])
    mark = routing.mock.mark()
    with client.messages.stream(model="d/hold", max_tokens=100, messages=USER) as stream:
        request_id = stream.response.headers["request-id"]
        assert stream.response.headers["x-switchyard-provider"] == "anth-b"
        assert next(iter(stream.text_stream)) == M.HOLD_FIRST
        gone_at = time.time()
    # Leaving the block closed the client's connection mid-stream.
    held = wait_for(lambda: next((e for e in calls(routing.mock, mark) if e["model"] == "mock-hold"
                                  and e["response"].get("closed_at")), None), 3, "the held upstream to be closed")
    assert held["response"]["closed_at"] - gone_at < 1.0
    assert models_called(routing.mock, mark) == ["mock-error-500", "mock-hold"]

    rec = wait_record(routing.gw, key["id"], request_id)
    assert rec["status"] == 499
    assert attempts_of(rec) == [("anth", "d/hold", "mock-error-500", "http_500"),
                                ("anth-b", "d/hold", "mock-hold", "client_disconnected")]
    tokens = record_tokens(rec)
    assert tokens["input"] == M.USAGE["hold"][0]
    cost = record_cost(rec)
    assert cost == pytest.approx(price_of(tokens, B_PRICE), abs=1e-9) and cost > 0
    time.sleep(0.5)
    assert len(routing.gw.usage_records(key["id"])) == 1
    wait_credits(routing.gw, key["id"], 10 - cost)


def test_client_giving_up_before_the_answer_closes_the_upstream(routing: Setup) -> None:
    key = routing.gw.create_key(credits=10)
    client = sdk_client(routing.gw.url, key["key"], timeout=1.0)
    mark = routing.mock.mark()
    started = time.time()
    with pytest.raises(anthropic.APITimeoutError):
        client.messages.create(model="d/hang", max_tokens=100, messages=USER)
    gone_at = time.time()
    hung = wait_for(lambda: next((e for e in calls(routing.mock, mark) if e["model"] == "mock-hang"
                                  and e["response"].get("closed_at")), None), 3, "the hung upstream to be closed")
    assert started + 0.9 < hung["response"]["closed_at"] < gone_at + 1.0
    assert models_called(routing.mock, mark) == ["mock-error-500", "mock-hang"]

    (rec,) = wait_records(routing.gw, key["id"], 1)
    assert rec["status"] == 499
    assert attempts_of(rec) == [("anth", "d/hang", "mock-error-500", "http_500"),
                                ("anth-b", "d/hang", "mock-hang", "client_disconnected")]
    assert record_cost(rec) == 0
    time.sleep(0.3)
    assert len(routing.gw.usage_records(key["id"])) == 1
    assert routing.gw.key_credits(key["id"]) == pytest.approx(10, abs=1e-12)
