"""Helpers shared by the end-to-end tests: processes, the mock's client, the gateway and its CLI,
raw HTTP and SSE, and a JSON scanner that finds a member's exact bytes."""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

E2E_DIR = Path(__file__).resolve().parent
REPO = E2E_DIR.parents[1]
sys.path.insert(0, str(E2E_DIR))

import mock_anthropic as M  # noqa: E402

#: The provider key the gateway's config gives the mock (through ${E2E_PROVIDER_KEY}).
PROVIDER_KEY = "sk-ant-e2e-provider-" + secrets.token_hex(12)
PROVIDER_ID = "mock"
#: USD per million tokens, the same for every e2e model.
PRICE = {"input": 3.00, "output": 15.00, "cache_read": 0.30, "cache_write": 3.75}

#: Gateway model id -> upstream model (mock scenario).
MODELS: dict[str, str] = {
    "e2e/text": "mock-text",
    "e2e/tool": "mock-tool",
    "e2e/thinking": "mock-thinking",
    "e2e/slow": "mock-slow",
    "e2e/cut": "mock-cut",
    "e2e/stream-error": "mock-stream-error",
    "e2e/agent": "mock-agent",
    "e2e/error-400": "mock-error-400",
    "e2e/error-401": "mock-error-401",
    "e2e/error-403": "mock-error-403",
    "e2e/error-429": "mock-error-429",
    "e2e/error-500": "mock-error-500",
    "e2e/error-529": "mock-error-529",
}
#: A Claude model name as alias: Claude Code recognises it and then sends thinking {type: enabled} (WIRE §6).
CLAUDE_NAMED_ALIAS = "claude-sonnet-4-5-20250929"
ALIASES = {"e2e/text": ["e2e-text-alias"], "e2e/agent": [CLAUDE_NAMED_ALIAS]}

WAIT_START_S = 60.0
WAIT_STOP_S = 15.0

# Log files of every process started, attached to the report of a failing test.
_LOGS: list[tuple[str, Path]] = []


def cost_usd(input_tokens: int, output_tokens: int, cache_read: int, cache_write: int) -> float:
    return (input_tokens * PRICE["input"] + output_tokens * PRICE["output"]
            + cache_read * PRICE["cache_read"] + cache_write * PRICE["cache_write"]) / 1_000_000


def scenario_cost(usage_key: str) -> float:
    return cost_usd(*M.USAGE[usage_key])


# ---------------------------------------------------------------------------------------------
# Processes


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, n: int = 40) -> str:
        out = []
        for label, p in (("stdout", self.stdout), ("stderr", self.stderr)):
            try:
                lines = p.read_text(errors="replace").splitlines()[-n:]
            except OSError:
                lines = []
            out.append(f"--- {self.name} {label} ({p}) ---\n" + "\n".join(lines))
        return "\n".join(out)

    def stop(self) -> int | None:
        """SIGTERM, wait (bounded), SIGKILL if needed; returns the exit code."""
        if self.popen.poll() is None:
            try:
                self.popen.send_signal(signal.SIGTERM)
                self.popen.wait(WAIT_STOP_S)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        return self.popen.returncode


def spawn(name: str, args: list[str], workdir: Path, env: dict[str, str] | None = None) -> Proc:
    out, err = workdir / f"{name}.stdout.log", workdir / f"{name}.stderr.log"
    popen = subprocess.Popen(args, stdout=out.open("wb"), stderr=err.open("wb"), stdin=subprocess.DEVNULL,
                             cwd=workdir, env=env)
    _LOGS.append((name, out))
    _LOGS.append((name, err))
    return Proc(name, popen, out, err)


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# Plain HTTP helpers (stdlib), for what the SDK hides: headers, raw SSE, timing.


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http_request(url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None,
                 timeout: float = 30.0, context: Any = None) -> RawResponse:
    u = urllib.parse.urlsplit(url)
    if u.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(u.hostname, u.port, timeout=timeout,
                                                                       context=context)
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        path = u.path + (f"?{u.query}" if u.query else "")
        conn.request(method, path or "/", body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return RawResponse(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


def parse_sse(data: bytes) -> list[tuple[str | None, Any]]:
    """(event name, parsed JSON data) for each SSE event; comments are skipped."""
    events = []
    text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    for block in text.split("\n\n"):
        name, datas = None, []
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            key, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if key == "event":
                name = value
            elif key == "data":
                datas.append(value)
        if name is None and not datas:
            continue
        payload = "\n".join(datas)
        try:
            parsed: Any = json.loads(payload) if payload else None
        except ValueError:
            parsed = payload
        events.append((name, parsed))
    return events


def json_member_span(raw: bytes, key: str) -> bytes:
    """The exact bytes of the value of top-level member `key` in the JSON object `raw`."""
    i = _ws(raw, 0)
    if raw[i:i + 1] != b"{":
        raise ValueError("not a JSON object")
    i += 1
    while True:
        i = _ws(raw, i)
        if raw[i:i + 1] == b"}":
            raise KeyError(key)
        kstart = i
        i = _skip_value(raw, i)
        name = json.loads(raw[kstart:i])
        i = _ws(raw, i)
        assert raw[i:i + 1] == b":"
        i = _ws(raw, i + 1)
        vstart = i
        i = _skip_value(raw, i)
        if name == key:
            return raw[vstart:i]
        i = _ws(raw, i)
        if raw[i:i + 1] == b",":
            i += 1


def _ws(raw: bytes, i: int) -> int:
    while i < len(raw) and raw[i] in b" \t\r\n":
        i += 1
    return i


def _skip_value(raw: bytes, i: int) -> int:
    c = raw[i:i + 1]
    if c == b'"':
        i += 1
        while raw[i:i + 1] != b'"':
            i += 2 if raw[i:i + 1] == b"\\" else 1
        return i + 1
    if c in (b"{", b"["):
        depth = 0
        while True:
            c = raw[i:i + 1]
            if c == b'"':
                i = _skip_value(raw, i)
                continue
            if c in (b"{", b"["):
                depth += 1
            elif c in (b"}", b"]"):
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
    while i < len(raw) and raw[i:i + 1] not in (b",", b"}", b"]", b" ", b"\n", b"\r", b"\t"):
        i += 1
    return i


# ---------------------------------------------------------------------------------------------
# The mock upstream


class MockServer:
    def __init__(self, proc: Proc, url: str, ssl_context: Any = None) -> None:
        self.proc = proc
        self.url = url
        self.ssl_context = ssl_context

    def _get(self, path: str) -> Any:
        r = http_request(self.url + path, context=self.ssl_context, timeout=10)
        assert r.status == 200, r
        return r.json()

    def _post(self, path: str) -> Any:
        r = http_request(self.url + path, "POST", b"", context=self.ssl_context, timeout=10)
        assert r.status == 200, r
        return r.json()

    def log(self, since: int = 0) -> list[dict[str, Any]]:
        """Every request the mock received after sequence number `since`."""
        return self._get(f"/_log?since={since}")["requests"]

    def mark(self) -> int:
        """The sequence number of the last request so far (pass it to `log(since=...)`)."""
        return int(self.state()["last_seq"])

    def state(self) -> dict[str, Any]:
        return self._get("/_state")

    def release(self) -> int:
        return self._post("/_release")["released"]

    def reset(self) -> None:
        self._post("/_reset")


def start_mock(workdir: Path, name: str, extra: list[str] | None = None, ssl_context: Any = None) -> MockServer:
    port_file = workdir / f"{name}.port"
    proc = spawn(name, [sys.executable, str(E2E_DIR / "mock_anthropic.py"), "--port", "0", "--port-file",
                        str(port_file), "--require-key", PROVIDER_KEY, *(extra or [])], workdir)

    def ready() -> bool:
        if not proc.alive():
            raise RuntimeError(f"mock {name} exited early\n{proc.tail()}")
        return port_file.exists()

    wait_for(ready, 20, f"mock {name} port file")
    port = int(port_file.read_text())
    scheme = "https" if ssl_context is not None else "http"
    return MockServer(proc, f"{scheme}://127.0.0.1:{port}", ssl_context)


# ---------------------------------------------------------------------------------------------
# The gateway


def yaml_str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid YAML double-quoted scalar


def render_config(db: Path, providers: list[dict[str, Any]], models: dict[str, tuple[str, str]],
                  aliases: dict[str, list[str]] | None = None) -> str:
    """YAML for SPEC §2. `models`: gateway id -> (provider id, upstream model)."""
    lines = [
        "server:",
        "  host: 127.0.0.1",
        "  port: 0",
        "storage:",
        f"  url: {yaml_str('sqlite:' + str(db))}",
        "providers:",
    ]
    for p in providers:
        lines += [
            f"  - id: {yaml_str(p['id'])}",
            "    kind: anthropic",
            f"    base_url: {yaml_str(p['base_url'])}",
            "    api_key: \"${E2E_PROVIDER_KEY}\"",
        ]
        if p.get("ca_file"):
            lines += ["    tls:", f"      ca_file: {yaml_str(str(p['ca_file']))}"]
    lines.append("models:")
    for mid, (provider, upstream) in models.items():
        lines.append(f"  - id: {yaml_str(mid)}")
        if aliases and mid in aliases:
            lines.append("    aliases: [" + ", ".join(yaml_str(a) for a in aliases[mid]) + "]")
        lines += [
            "    endpoints:",
            f"      - provider: {yaml_str(provider)}",
            f"        model: {yaml_str(upstream)}",
            "        price: { input: %.2f, output: %.2f, cache_read: %.2f, cache_write: %.2f }"
            % (PRICE["input"], PRICE["output"], PRICE["cache_read"], PRICE["cache_write"]),
        ]
    return "\n".join(lines) + "\n"


LISTEN_RE = re.compile(r"listening on (https?://)?([0-9.]+|\[[0-9a-f:]+\]|localhost):(\d+)")


class Gateway:
    def __init__(self, bin_path: Path, workdir: Path, name: str, config_text: str) -> None:
        self.bin = bin_path
        self.workdir = workdir
        self.name = name
        self.config = workdir / f"{name}.yaml"
        self.config.write_text(config_text)
        self.env = gateway_env()
        self.proc: Proc | None = None
        self.url = ""
        self.port = 0

    def start(self) -> "Gateway":
        self.proc = spawn(self.name, [str(self.bin), "serve", "--config", str(self.config)], self.workdir, self.env)
        proc = self.proc

        def listening() -> re.Match[str] | None:
            text = proc.stdout.read_text(errors="replace") + "\n" + proc.stderr.read_text(errors="replace")
            m = LISTEN_RE.search(text)
            if m is None and not proc.alive():
                raise RuntimeError(f"gateway {self.name} exited with {proc.popen.returncode}\n{proc.tail()}")
            return m

        try:
            m = wait_for(listening, WAIT_START_S, f"gateway {self.name} to print its address")
        except TimeoutError as e:
            raise RuntimeError(f"{e}\n{proc.tail()}") from None
        self.port = int(m.group(3))
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def stop(self) -> int | None:
        return self.proc.stop() if self.proc else None

    def cli(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin), *args, "--config", str(self.config)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.workdir, env=self.env,
                           stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}")
        return r

    def cli_json(self, *args: str) -> Any:
        r = self.cli(*args, "--json")
        try:
            return json.loads(r.stdout)
        except ValueError:
            raise AssertionError(f"not JSON from {args}: {r.stdout!r} (stderr {r.stderr!r})") from None

    def create_key(self, name: str | None = None, credits: float = 10.0) -> dict[str, Any]:
        name = name or f"e2e-{secrets.token_hex(4)}"
        key = self.cli_json("keys", "create", "--name", name, "--credits", repr(credits))
        assert str(key.get("key", "")).startswith("sk-sy-"), key
        assert key.get("id"), key
        return key

    def key_credits(self, key_id: str) -> float:
        return float(self.cli_json("keys", "show", str(key_id))["credits"])

    def usage_records(self, key_id: str | None = None) -> list[dict[str, Any]]:
        args = ["usage"] + (["--key", str(key_id)] if key_id is not None else [])
        return find_request_list(self.cli_json(*args))


def gateway_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env["E2E_PROVIDER_KEY"] = PROVIDER_KEY
    return env


def find_request_list(report: Any) -> list[dict[str, Any]]:
    """The individual requests in `switchyard usage --json` (SPEC §1: it lists them)."""
    if isinstance(report, list):
        return report
    for key in ("requests", "records", "items", "usage"):
        value = report.get(key) if isinstance(report, dict) else None
        if isinstance(value, list):
            return value
    raise AssertionError(f"no list of requests in usage --json output: {json.dumps(report)[:2000]}")


def record_tokens(rec: dict[str, Any]) -> dict[str, int]:
    """Token counts of one usage record, whether flat or under a `tokens` object."""
    src = rec.get("tokens") if isinstance(rec.get("tokens"), dict) else rec
    def pick(*names: str) -> int:
        for n in names:
            if n in src and src[n] is not None:
                return int(src[n])
        raise AssertionError(f"no {names[0]} in usage record {rec}")
    return {
        "input": pick("input", "input_tokens"),
        "output": pick("output", "output_tokens"),
        "cache_read": pick("cache_read", "cache_read_tokens", "cache_read_input_tokens"),
        "cache_write": pick("cache_write", "cache_write_tokens", "cache_creation_input_tokens"),
    }


def record_cost(rec: dict[str, Any]) -> float:
    for n in ("cost", "cost_usd"):
        if n in rec:
            return float(rec[n])
    raise AssertionError(f"no cost in usage record {rec}")




# ---------------------------------------------------------------------------------------------
# SDK clients


@dataclass
class SentRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


def sdk_client(base_url: str, key: str, auth: str = "x-api-key", sent: list[SentRequest] | None = None,
               **kw: Any) -> Any:
    """An `anthropic.Anthropic` client that sends `key` as `x-api-key` or as `Authorization: Bearer`.

    anthropic 2.x sends its `api_key` as a Bearer token; for the x-api-key style a request hook moves
    it to `x-api-key`. With `sent`, every request as it left the client (raw body bytes) is appended.
    No retries: every status the test sees is the first answer."""
    import anthropic
    import httpx2

    def hook(request: Any) -> None:
        if auth == "x-api-key":
            bearer = request.headers.pop("authorization", None)
            assert bearer and bearer.startswith("Bearer ")
            request.headers["x-api-key"] = bearer[len("Bearer "):]
        if sent is not None:
            sent.append(SentRequest(request.method, str(request.url), dict(request.headers), request.read()))

    if auth not in ("x-api-key", "bearer"):
        raise ValueError(auth)
    kw.setdefault("max_retries", 0)
    kw.setdefault("timeout", 60)
    http_client = httpx2.Client(event_hooks={"request": [hook]}, timeout=kw["timeout"])
    return anthropic.Anthropic(api_key=None, auth_token=key, base_url=base_url, http_client=http_client, **kw)


# ---------------------------------------------------------------------------------------------
# Issue 3: an OpenAI-compatible upstream (mock_openai.py) behind `kind: openai` providers

#: The provider key the gateway's config gives the OpenAI mock (through ${E2E_OPENAI_PROVIDER_KEY}); the mock
#: demands it as `Authorization: Bearer`.
OAI_PROVIDER_KEY = "sk-oai-e2e-provider-" + secrets.token_hex(12)
OAI_PROVIDER_ID = "oai"
#: A second provider on the same mock with every `openai:` dialect option changed.
OAI_DIALECT_PROVIDER_ID = "oai-dialect"
OAI_DIALECT_OPTIONS = ("{ max_tokens_field: max_completion_tokens, reasoning: reasoning.effort, top_k: true, "
                       "echo_reasoning_content: true }")
#: USD per million tokens for the OpenAI-backed models (no cache writes on Chat Completions).
OAI_PRICE = {"input": 1.00, "output": 2.00, "cache_read": 0.50, "cache_write": 0.00}

#: Gateway model id -> (provider id, upstream model = mock_openai scenario).
OAI_MODELS: dict[str, tuple[str, str]] = {
    "e2e/oai-text": (OAI_PROVIDER_ID, "oa-text"),
    "e2e/oai-tools": (OAI_PROVIDER_ID, "oa-tools-parallel"),
    "e2e/oai-reasoning": (OAI_PROVIDER_ID, "oa-reasoning"),
    "e2e/oai-empty-args": (OAI_PROVIDER_ID, "oa-empty-args"),
    "e2e/oai-cut": (OAI_PROVIDER_ID, "oa-cut"),
    "e2e/oai-garbage": (OAI_PROVIDER_ID, "oa-garbage"),
    "e2e/oai-error-400": (OAI_PROVIDER_ID, "oa-error-400"),
    "e2e/oai-error-401": (OAI_PROVIDER_ID, "oa-error-401"),
    "e2e/oai-error-429": (OAI_PROVIDER_ID, "oa-error-429"),
    "e2e/oai-agent": (OAI_PROVIDER_ID, "oa-agent"),
    "e2e/oai-dialect": (OAI_DIALECT_PROVIDER_ID, "oa-reasoning"),
}
#: A Claude model name as alias of the OpenAI-backed agent: Claude Code then sends thinking {type: enabled}.
OAI_CLAUDE_NAMED_ALIAS = "claude-sonnet-4-5-20250929"
OAI_ALIASES = {"e2e/oai-agent": [OAI_CLAUDE_NAMED_ALIAS]}


def oai_cost_usd(input_tokens: int, output_tokens: int, cache_read: int, cache_write: int = 0) -> float:
    return (input_tokens * OAI_PRICE["input"] + output_tokens * OAI_PRICE["output"]
            + cache_read * OAI_PRICE["cache_read"] + cache_write * OAI_PRICE["cache_write"]) / 1_000_000


def start_openai_mock(workdir: Path, name: str) -> MockServer:
    """mock_openai.py on a free port, demanding OAI_PROVIDER_KEY; the same test hooks as the Anthropic mock."""
    port_file = workdir / f"{name}.port"
    port_file.unlink(missing_ok=True)  # never read a previous run's port
    proc = spawn(name, [sys.executable, str(E2E_DIR / "mock_openai.py"), "--port", "0", "--port-file",
                        str(port_file), "--require-key", OAI_PROVIDER_KEY], workdir)

    def ready() -> bool:
        if not proc.alive():
            raise RuntimeError(f"mock {name} exited early\n{proc.tail()}")
        return port_file.exists()

    wait_for(ready, 20, f"mock {name} port file")
    return MockServer(proc, f"http://127.0.0.1:{int(port_file.read_text())}")


def render_openai_config(db: Path, mock_url: str) -> str:
    """YAML for a gateway whose models are all served by `kind: openai` providers on the OpenAI mock."""
    lines = [
        "server:",
        "  host: 127.0.0.1",
        "  port: 0",
        "storage:",
        f"  url: {yaml_str('sqlite:' + str(db))}",
        "providers:",
        f"  - id: {OAI_PROVIDER_ID}",
        "    kind: openai",
        f"    base_url: {yaml_str(mock_url + '/v1')}",
        "    api_key: \"${E2E_OPENAI_PROVIDER_KEY}\"",
        f"  - id: {OAI_DIALECT_PROVIDER_ID}",
        "    kind: openai",
        f"    base_url: {yaml_str(mock_url + '/v1')}",
        "    api_key: \"${E2E_OPENAI_PROVIDER_KEY}\"",
        f"    openai: {OAI_DIALECT_OPTIONS}",
        "models:",
    ]
    for mid, (provider, upstream) in OAI_MODELS.items():
        lines.append(f"  - id: {yaml_str(mid)}")
        if mid in OAI_ALIASES:
            lines.append("    aliases: [" + ", ".join(yaml_str(a) for a in OAI_ALIASES[mid]) + "]")
        lines += [
            "    endpoints:",
            f"      - provider: {yaml_str(provider)}",
            f"        model: {yaml_str(upstream)}",
            "        price: { input: %.2f, output: %.2f, cache_read: %.2f }"
            % (OAI_PRICE["input"], OAI_PRICE["output"], OAI_PRICE["cache_read"]),
            "        supports: [tools, thinking, images]",
        ]
    return "\n".join(lines) + "\n"


def openai_gateway(bin_path: Path, workdir: Path, name: str, mock_url: str) -> Gateway:
    """A Gateway (not started) for render_openai_config, with the OpenAI provider key in its environment."""
    gw = Gateway(bin_path, workdir, name, render_openai_config(workdir / f"{name}.db", mock_url))
    gw.env["E2E_OPENAI_PROVIDER_KEY"] = OAI_PROVIDER_KEY
    return gw


# Shared by the SDK test files.

def wait_records(gateway: Gateway, key_id: str, n: int, timeout: float = 10) -> list[dict[str, Any]]:
    return wait_for(lambda: (lambda recs: recs if len(recs) >= n else None)(gateway.usage_records(key_id)),
                    timeout, f"{n} usage record(s) for key {key_id}", interval=0.2)


def wait_credits(gateway: Gateway, key_id: str, expected: float, timeout: float = 5) -> None:
    last: list[float] = []

    def ok() -> bool:
        last.append(gateway.key_credits(key_id))
        return abs(last[-1] - expected) < 1e-9

    try:
        wait_for(ok, timeout, "credits", interval=0.2)
    except TimeoutError:
        raise AssertionError(f"credits of {key_id}: expected {expected!r}, last seen {last[-1:]}") from None


def gateway_post(gateway: Gateway, key: str, body: bytes | dict[str, Any], path: str = "/v1/messages",
                 headers: dict[str, str] | None = None, timeout: float = 60) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    h = {"x-api-key": key, "anthropic-version": "2023-06-01", "content-type": "application/json", **(headers or {})}
    return http_request(gateway.url + path, "POST", data, h, timeout=timeout)


def header(entry: dict[str, Any], name: str) -> list[str]:
    return [v for k, v in entry["headers"] if k.lower() == name.lower()]


# ---------------------------------------------------------------------------------------------
# Issue 4: routing and resilience (several providers per model, failure hooks, metrics)


@dataclass
class RoutingProvider:
    """A provider of a routing test config: `kind` anthropic or openai; `key_env` names the environment variable
    holding its key; `timeouts` are its `timeouts` overrides (e.g. {"first_byte_s": 1})."""
    id: str
    kind: str
    base_url: str
    key_env: str
    timeouts: dict[str, float] | None = None


@dataclass
class RoutingEndpoint:
    """One endpoint of a model: provider id, upstream model, price (USD per million tokens), supports."""
    provider: str
    model: str
    price: dict[str, float]
    supports: tuple[str, ...] = ()


def render_routing_config(db: Path, providers: list[RoutingProvider], models: dict[str, list[RoutingEndpoint]],
                          timeouts: dict[str, float] | None = None,
                          circuit_breaker: dict[str, float] | None = None) -> str:
    """YAML for SPEC §2 with several endpoints per model, provider timeouts and a circuit breaker."""

    def flow(d: dict[str, float]) -> str:
        return "{ " + ", ".join(f"{k}: {v:g}" for k, v in d.items()) + " }"

    lines = ["server:", "  host: 127.0.0.1", "  port: 0", "storage:", f"  url: {yaml_str('sqlite:' + str(db))}"]
    if timeouts:
        lines.append(f"timeouts: {flow(timeouts)}")
    if circuit_breaker:
        lines.append(f"circuit_breaker: {flow(circuit_breaker)}")
    lines.append("providers:")
    for p in providers:
        lines += [
            f"  - id: {yaml_str(p.id)}",
            f"    kind: {p.kind}",
            f"    base_url: {yaml_str(p.base_url)}",
            f"    api_key: \"${{{p.key_env}}}\"",
        ]
        if p.timeouts:
            lines.append(f"    timeouts: {flow(p.timeouts)}")
    lines.append("models:")
    for mid, endpoints in models.items():
        lines += [f"  - id: {yaml_str(mid)}", "    endpoints:"]
        for e in endpoints:
            lines += [f"      - provider: {yaml_str(e.provider)}", f"        model: {yaml_str(e.model)}",
                      f"        price: {flow(e.price)}"]
            if e.supports:
                lines.append("        supports: [" + ", ".join(e.supports) + "]")
    return "\n".join(lines) + "\n"


def closed_loopback_port() -> int:
    """A loopback TCP port nothing listens on (bound once by the OS, then released)."""
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fail_next(mock: MockServer, model: str, status: int, count: int = 1) -> None:
    """The Anthropic mock answers its next `count` requests for upstream `model` with error `status`."""
    q = urllib.parse.urlencode({"model": model, "status": status, "count": count})
    r = http_request(f"{mock.url}/_fail_next?{q}", "POST", b"", context=mock.ssl_context, timeout=10)
    assert r.status == 200, r


def metric_value(gateway: Gateway, name: str, labels: dict[str, str]) -> float | None:
    """The value of the `/metrics` sample `name{labels}` (labels matched exactly, in any order), or None."""
    r = http_request(gateway.url + "/metrics", timeout=10)
    assert r.status == 200, r
    want = {k: v for k, v in labels.items()}
    for line in r.body.decode().splitlines():
        if not line.startswith(name + "{"):
            continue
        inner, _, value = line[len(name) + 1:].rpartition("} ")
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', inner))
        if found == want:
            return float(value)
    return None


def wait_record(gateway: Gateway, key_id: str, request_id: str, timeout: float = 10) -> dict[str, Any]:
    """The usage record of request `request_id` (its id is the request-id the client got)."""
    def find() -> dict[str, Any] | None:
        return next((r for r in gateway.usage_records(key_id) if r.get("id") == request_id), None)
    return wait_for(find, timeout, f"usage record {request_id}", interval=0.2)
