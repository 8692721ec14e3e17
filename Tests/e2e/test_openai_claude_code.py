"""The real Claude Code CLI through the Switchyard binary to an OpenAI-compatible upstream (issue 3).

The same cached Claude Code as test_claude_code.py (a missing download is a FAILURE, never a skip), pointed
at the `oai_gateway`, whose models are served by `kind: openai` providers on Tests/e2e/mock_openai.py.
Besides the round trip itself, the mock's log proves that every request Claude Code made was a stream (it
falls back to a non-streaming retry when it judges a stream malformed, and would then pay twice) and that
its per-request billing header never reached the upstream.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

import mock_openai as O
from e2e_support import OAI_CLAUDE_NAMED_ALIAS, OAI_PROVIDER_KEY, Gateway, MockServer, wait_for
from test_claude_code import claude_bin, run_claude  # noqa: F401  (claude_bin is a fixture)

BILLING_HEADER = "x-anthropic-billing-header"


def chat_calls(mock: MockServer, mark: int) -> list[dict[str, Any]]:
    return mock.log(since=mark)


def body_of(call: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(call["body_b64"]))


def text_of(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def assert_claude_code_calls(calls: list[dict[str, Any]], client_key: str, upstream_model: str) -> None:
    """Every request reached the upstream as a valid streaming Chat Completions request, was answered 200,
    and carried neither the client's key, nor Anthropic's headers, nor Claude Code's billing header."""
    assert calls, "Claude Code's requests never reached the upstream"
    for c in calls:
        where = f"request {c['seq']}"
        assert c["path"] == "/v1/chat/completions", (where, c["path"])
        assert c["invalid"] is None, f"{where}: the mock (as strict as api.openai.com) refused it: {c['invalid']}"
        assert c["response"]["status"] == 200 and c["response"]["completed"], (where, c["response"].get("status"))
        assert c["model"] == upstream_model, (where, c["model"])
        body = body_of(c)
        # No non-streaming retry: every request Claude Code made was a stream, with usage asked for.
        assert body.get("stream") is True, f"{where} was not streaming: Claude Code retried without streaming"
        assert body.get("stream_options") == {"include_usage": True}, where
        # Claude Code's first system block (different on every request) is left out of what the upstream sees.
        for m in body["messages"]:
            if m["role"] == "system":
                assert BILLING_HEADER not in text_of(m["content"]), f"{where}: billing header in a system message"
        raw = base64.b64decode(c["body_b64"]).decode()
        assert BILLING_HEADER not in raw, f"{where}: billing header reached the upstream"
        assert client_key not in raw
        headers = {k.lower(): v for k, v in c["headers"]}
        assert headers.get("authorization") == f"Bearer {OAI_PROVIDER_KEY}", where
        assert "x-api-key" not in headers
        leaked = [k for k in headers if k.startswith(("anthropic-", "x-claude-code", "x-stainless", "x-app"))]
        assert not leaked, f"{where}: Anthropic/Claude Code headers sent upstream: {leaked}"
        assert all(client_key not in v for v in headers.values())


def assert_billed_once_each(gateway: Gateway, key_id: str, calls: list[dict[str, Any]]) -> None:
    """One usage record per upstream request (no retry paid twice), all successes, all priced."""
    def records() -> list[dict[str, Any]] | None:
        recs = gateway.usage_records(key_id)
        return recs if len(recs) >= len(calls) else None

    recs = wait_for(records, 10, f"{len(calls)} usage records", interval=0.2)
    assert len(recs) == len(calls), (len(recs), len(calls))
    for rec in recs:
        assert rec.get("status") in (200, "200", "ok", "success"), rec
        assert not rec.get("error_type"), rec
        assert float(rec.get("cost", rec.get("cost_usd", 0))) > 0, rec


def test_one_shot_prompt_on_an_openai_model(claude_bin: Path, oai_gateway: Gateway, oai_mock: MockServer,  # noqa: F811
                                            tmp_path: Path) -> None:
    key = oai_gateway.create_key("claude-code-oai-oneshot", credits=10)
    mark = oai_mock.mark()
    r = run_claude(claude_bin, oai_gateway.url, {"ANTHROPIC_AUTH_TOKEN": key["key"]}, tmp_path,
                   "-p", "say hi", "--model", "e2e/oai-text")
    assert r.returncode == 0, f"stdout: {r.stdout}\nstderr: {r.stderr}"
    assert O.TEXT in r.stdout, f"stdout: {r.stdout}\nstderr: {r.stderr}"
    calls = chat_calls(oai_mock, mark)
    assert_claude_code_calls(calls, key["key"], "oa-text")
    assert_billed_once_each(oai_gateway, key["id"], calls)


@pytest.mark.parametrize("model", ["e2e/oai-agent", OAI_CLAUDE_NAMED_ALIAS])
def test_agentic_round_trip_with_bash_on_an_openai_model(claude_bin: Path, oai_gateway: Gateway,  # noqa: F811
                                                         oai_mock: MockServer, tmp_path: Path, model: str) -> None:
    """With a name Claude Code does not know (adaptive thinking, system-role messages) and with a Claude
    name that is an alias (thinking enabled with a budget): the mock reasons, asks for Bash, Claude Code
    runs it, the next request carries the output as a `tool` message, and the final answer quotes it."""
    key = oai_gateway.create_key("claude-code-oai-agent", credits=10)
    mark = oai_mock.mark()
    r = run_claude(claude_bin, oai_gateway.url, {"ANTHROPIC_AUTH_TOKEN": key["key"]}, tmp_path,
                   "-p", "Print the Switchyard marker.", "--model", model, "--dangerously-skip-permissions")
    assert r.returncode == 0, f"stdout: {r.stdout}\nstderr: {r.stderr}"
    calls = chat_calls(oai_mock, mark)
    assert_claude_code_calls(calls, key["key"], "oa-agent")

    # The mock asked for Bash ...
    asks = [c for c in calls if any(tc["function"]["name"] == "Bash"
                                    for tc in c["response"].get("message", {}).get("tool_calls") or [])]
    assert asks, "the mock never answered with a Bash tool call"
    ask = asks[0]
    tool_call = ask["response"]["message"]["tool_calls"][0]
    assert json.loads(tool_call["function"]["arguments"])["command"] == O.AGENT_COMMAND
    assert body_of(ask).get("reasoning_effort") in ("low", "medium", "high")  # thinking reached the upstream

    # ... Claude Code ran it, and its next request carries the output as a tool message answering that call,
    # right after the assistant's tool_calls.
    later = [c for c in calls if c["seq"] > ask["seq"]]
    assert later, "no request after the tool call"
    msgs = body_of(later[0])["messages"]
    i = max(n for n, m in enumerate(msgs) if m["role"] == "assistant")
    assistant = msgs[i]
    assert [tc["id"] for tc in assistant["tool_calls"]] == [tool_call["id"]]
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"])["command"] == O.AGENT_COMMAND
    assert O.AGENT_REASONING[0] not in json.dumps(msgs)  # earlier thinking is not sent back as text
    assert msgs[i + 1]["role"] == "tool" and msgs[i + 1]["tool_call_id"] == tool_call["id"], msgs[i + 1:]
    assert O.AGENT_EXPECTED in text_of(msgs[i + 1]["content"])

    # Claude Code printed the final answer, which quotes the result.
    final = later[0]["response"]["message"]["content"]
    assert final and final.startswith(O.AGENT_PREFIX) and O.AGENT_EXPECTED in final
    assert f'{O.AGENT_PREFIX}"{O.AGENT_EXPECTED}"' in r.stdout, f"stdout: {r.stdout}\nstderr: {r.stderr}"
    assert_billed_once_each(oai_gateway, key["id"], calls)


def test_claude_code_binary_is_the_cached_one(claude_bin: Path) -> None:  # noqa: F811
    """The CLI these tests drive is a real Claude Code build (not a stand-in)."""
    r = subprocess.run([str(claude_bin), "--version"], capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin", "HOME": str(claude_bin.parent)})
    assert r.returncode == 0 and "Claude Code" in r.stdout, (r.stdout, r.stderr)
