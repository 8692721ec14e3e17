"""The real Claude Code CLI through the Switchyard binary to the mock Anthropic upstream.

Claude Code is the CLI bundled in the `claude-agent-sdk` wheel on PyPI (`pip download --no-deps`,
one member unzipped), cached under ~/.cache/switchyard-e2e/. If it cannot be had, these tests
FAIL: a skipped Claude Code test would hide exactly the regressions it exists for.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

import mock_anthropic as M
from e2e_support import CLAUDE_NAMED_ALIAS, PROVIDER_KEY, Gateway, MockServer

#: The claude-agent-sdk release whose bundled CLI is used (Claude Code 2.1.331).
CLAUDE_AGENT_SDK_VERSION = "0.2.188"
CACHE = Path(os.environ.get("SWITCHYARD_E2E_CACHE", Path.home() / ".cache" / "switchyard-e2e"))
RUN_TIMEOUT_S = 180


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    target = CACHE / f"claude-agent-sdk-{CLAUDE_AGENT_SDK_VERSION}" / "claude"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        r = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-d", tmp,
             f"claude-agent-sdk=={CLAUDE_AGENT_SDK_VERSION}"],
            capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            pytest.fail(f"could not download claude-agent-sdk {CLAUDE_AGENT_SDK_VERSION}:\n{r.stdout}\n{r.stderr}")
        wheels = list(Path(tmp).glob("claude_agent_sdk-*.whl"))
        if not wheels:
            pytest.fail(f"pip download left no wheel in {tmp}: {os.listdir(tmp)}")
        with zipfile.ZipFile(wheels[0]) as zf:
            partial = target.with_suffix(".partial")
            with zf.open("claude_agent_sdk/_bundled/claude") as src, open(partial, "wb") as dst:
                shutil.copyfileobj(src, dst)
        partial.chmod(0o755)
        partial.replace(target)
    return target


def run_claude(claude: Path, base_url: str, auth_env: dict[str, str], workdir: Path,
               *args: str) -> subprocess.CompletedProcess[str]:
    home = workdir / "home"
    project = workdir / "project"
    home.mkdir(parents=True, exist_ok=True)
    project.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "ANTHROPIC_BASE_URL": base_url,
        **auth_env,
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "IS_SANDBOX": "1",
    }
    try:
        return subprocess.run([str(claude), *args], cwd=project, env=env, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"claude {' '.join(args)} ran over {RUN_TIMEOUT_S}s\nstdout: {e.stdout!r}\nstderr: {e.stderr!r}")


def messages_calls(mock: MockServer, mark: int) -> list[dict[str, Any]]:
    return [e for e in mock.log(since=mark) if e["path"].split("?")[0] == "/v1/messages"]


def header(entry: dict[str, Any], name: str) -> list[str]:
    return [v for k, v in entry["headers"] if k.lower() == name]


def assert_claude_code_wire(calls: list[dict[str, Any]], client_key: str) -> None:
    """Claude Code's own marks arrive at the upstream; its key does not."""
    assert calls, "Claude Code's requests never reached the upstream"
    for e in calls:
        assert e["path"].endswith("?beta=true"), e["path"]
        betas = header(e, "anthropic-beta")
        assert len(betas) == 1 and "claude-code-20250219" in betas[0].split(","), betas
        assert header(e, "x-api-key") == [PROVIDER_KEY]
        assert all(client_key not in v for _, v in e["headers"])
        assert client_key not in e["body"]
        assert e["response"]["status"] == 200, e["response"]


def test_one_shot_prompt(claude_bin: Path, gateway: Gateway, mock: MockServer, tmp_path: Path) -> None:
    key = gateway.create_key("claude-code-oneshot", credits=10)
    mark = mock.mark()
    r = run_claude(claude_bin, gateway.url, {"ANTHROPIC_AUTH_TOKEN": key["key"]}, tmp_path,
                   "-p", "say hi", "--model", "e2e/text")
    assert r.returncode == 0, f"stdout: {r.stdout}\nstderr: {r.stderr}"
    assert M.TEXT in r.stdout
    calls = messages_calls(mock, mark)
    assert_claude_code_wire(calls, key["key"])
    assert [json.loads(c["body"])["model"] for c in calls] == ["mock-text"] * len(calls)


@pytest.mark.parametrize("model", ["e2e/agent", CLAUDE_NAMED_ALIAS])
def test_agentic_round_trip_with_bash(claude_bin: Path, gateway: Gateway, mock: MockServer, tmp_path: Path,
                                      model: str) -> None:
    """With a name Claude Code does not know (adaptive thinking, system-role messages) and with a
    Claude name that is an alias (thinking enabled with a budget): the same round trip."""
    key = gateway.create_key("claude-code-agent", credits=10)
    mark = mock.mark()
    r = run_claude(claude_bin, gateway.url, {"ANTHROPIC_AUTH_TOKEN": key["key"]}, tmp_path,
                   "-p", "Print the Switchyard marker.", "--model", model, "--dangerously-skip-permissions")
    assert r.returncode == 0, f"stdout: {r.stdout}\nstderr: {r.stderr}"
    calls = messages_calls(mock, mark)
    assert_claude_code_wire(calls, key["key"])
    assert {c["model"] for c in calls} == {"mock-agent"}
    thinking = json.loads(calls[0]["body"])["thinking"]
    assert thinking["type"] == ("enabled" if model == CLAUDE_NAMED_ALIAS else "adaptive"), thinking
    assert_agentic_round_trip(calls, r)


def test_agentic_round_trip_directly_against_the_mock(claude_bin: Path, mock: MockServer, tmp_path: Path) -> None:
    """The same without the gateway (key sent as x-api-key): if this fails, the mock or Claude Code
    changed, not the gateway."""
    mark = mock.mark()
    r = run_claude(claude_bin, mock.url, {"ANTHROPIC_API_KEY": PROVIDER_KEY}, tmp_path,
                   "-p", "Print the Switchyard marker.", "--model", "mock-agent", "--dangerously-skip-permissions")
    assert r.returncode == 0, f"stdout: {r.stdout}\nstderr: {r.stderr}"
    assert_agentic_round_trip(messages_calls(mock, mark), r)


def assert_agentic_round_trip(calls: list[dict[str, Any]], r: subprocess.CompletedProcess[str]) -> None:
    # The mock asked for Bash ...
    asks = [c for c in calls if any(b["type"] == "tool_use" and b["name"] == "Bash"
                                    for b in c["response"].get("message", {}).get("content", []))]
    assert asks, "the mock never answered with a Bash tool_use"
    ask = asks[0]
    tool_use = next(b for b in ask["response"]["message"]["content"] if b["type"] == "tool_use")
    assert tool_use["input"]["command"] == M.AGENT_COMMAND
    signature = next(b for b in ask["response"]["message"]["content"] if b["type"] == "thinking")["signature"]

    # ... Claude Code ran it, and its next request carries the tool_result with the command's output.
    later = [c for c in calls if c["seq"] > ask["seq"]]
    assert later, "no request after the tool_use"
    body = json.loads(later[0]["body"])
    results = M.last_user_tool_results(body)
    assert results, f"no tool_result in the last user turn: {json.dumps(body['messages'][-2:])[:2000]}"
    assert results[0]["tool_use_id"] == tool_use["id"]
    assert M.AGENT_EXPECTED in M.tool_result_text(results[0])
    # The assistant turn went back with the thinking block and its signature unchanged.
    assistant = [m for m in body["messages"] if m["role"] == "assistant"][-1]
    thinking = [b for b in assistant["content"] if b.get("type") == "thinking"]
    assert thinking and thinking[0]["signature"] == signature

    # Claude Code printed the final answer, which quotes the result.
    assert f'The command printed: "{M.AGENT_EXPECTED}"' in r.stdout, f"stdout: {r.stdout}\nstderr: {r.stderr}"
