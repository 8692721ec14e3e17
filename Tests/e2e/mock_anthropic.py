#!/usr/bin/env python3
"""A loopback mock of the Anthropic Messages API, for Switchyard's end-to-end tests.

Standard library only (asyncio). It speaks HTTP/1.1 with keep-alive, answers
`POST /v1/messages` (JSON or SSE, any query string) and `POST /v1/messages/count_tokens`,
and answers everything else with a 404 in the Anthropic error shape.

What it answers is chosen by the `model` it receives (the gateway rewrites the client's
model to the endpoint's upstream model):

    mock-text          text (with non-ASCII, quotes, an emoji split across two TCP writes)
    mock-tool          text + a tool_use whose input arrives in several input_json_delta events;
                       when the last user turn carries a tool_result, a final text quoting it
    mock-thinking      a thinking block (thinking_delta + signature_delta) then text
    mock-slow[-N]      sends the first events, then holds the rest until POST /_release
                       or N seconds (default 30)
    mock-cut           message_start and a few deltas, then the connection dies
    mock-stream-error  message_start and a delta, then an SSE `error` event (overloaded_error)
    mock-error-STATUS  STATUS in 400 401 403 404 413 429 500 529: an Anthropic error envelope
                       (429 carries retry-after)
    mock-hang[-N]      reads the request and answers nothing until the peer closes the connection
                       (the log records `closed_at`) or N seconds pass (default 10); then answers
                       like mock-text (a slow first byte)
    mock-hold[-N]      streams message_start and the first text delta, then holds until the peer
                       closes the connection (`closed_at`) or N seconds pass (default 10), then the
                       rest; JSON: like mock-hang-N
    mock-garbage       JSON: a 200 whose body is not JSON; stream: a message_start whose data is not
                       JSON, then a text block as if nothing happened
    mock-stream-error-linger
                       like mock-stream-error, but after the `error` event the stream stays open
                       until the peer closes the connection (`closed_at`) or 5 seconds pass
    mock-early-error   stream: message_start, ping, then an SSE `error` event (overloaded_error)
                       before any content; JSON: like mock-error-529
    mock-early-end     stream: message_start, ping, then the stream ends cleanly (no content);
                       JSON: a 200 with an empty body
    mock-early-cut     stream: message_start, ping, then the connection dies; JSON: half the body,
                       then the connection dies
    mock-agent         a script Claude Code can follow: tool_result in the last user turn ->
                       a final text quoting it; else a Bash tool offered -> tool_use of Bash;
                       else plain text
    anything else      like mock-text

Test hooks (not part of the Anthropic API, never logged):
    GET  /_log[?since=N]   every request received: method, path with query, all headers
                           in order, raw body (base64 and text), and what was answered
    POST /_reset           clears the log
    POST /_release         releases every mock-slow stream being held
    GET  /_state           {"holding": n, "logged": n, "last_seq": n}
    POST /_fail_next?model=M&status=S[&count=N]
                           the next N (default 1) requests for model M are answered with the error
                           envelope of STATUS S, whatever the scenario (429 carries retry-after);
                           the log marks them `"forced": true`

Run: python mock_anthropic.py --port 0 --port-file F [--tls-cert C --tls-key K]
     [--require-key KEY] [--pause-ms MS]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import os
import secrets
import signal
import ssl
import sys
import time
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

# ---------------------------------------------------------------------------------------------
# Scenario data. Tests import these constants to know what the mock sends.

#: Token counts per scenario: (input, output, cache_read, cache_write).
USAGE: dict[str, tuple[int, int, int, int]] = {
    "text": (1234, 56, 200, 30),
    "tool": (2100, 87, 0, 0),
    "tool-final": (2350, 41, 0, 0),
    "thinking": (1500, 321, 0, 64),
    "slow": (90, 12, 0, 0),
    "cut": (4321, 1, 0, 0),
    "stream-error": (777, 1, 0, 0),
    "agent-tool": (3000, 60, 0, 0),
    "agent-final": (3200, 25, 0, 0),
    "agent-text": (800, 9, 0, 0),
    "hold": (321, 7, 0, 0),
    "early": (555, 1, 0, 0),
}

#: The text of mock-text, delivered in these pieces (one text_delta each).
TEXT_PIECES = [
    "Hello from the mock",
    " upstream — «text» with \"quotes\", a back\\slash",
    " and an emoji 🚀",
    " over several deltas.\nSecond line.",
]
TEXT = "".join(TEXT_PIECES)

#: The thinking text of mock-thinking, in pieces.
THINKING_PIECES = ["Let me think about ", "«this» carefully:", " café, \"quotes\" and a\nnewline."]
THINKING_TEXT = "".join(THINKING_PIECES)
THINKING_ANSWER = "After thinking: the answer is 42."

#: The tool input of mock-tool (when the request offers no tools, the tool is `get_weather`).
TOOL_INPUT: dict[str, Any] = {
    "city": "Paris",
    "units": "celsius",
    "days": 3,
    "options": {"hourly": True, "note": "naïve \"quoted\" ✓"},
    "tags": ["a", "b"],
}
TOOL_PREAMBLE = "I'll check the weather."

#: What mock-agent asks Claude Code to run, and the word that proves it ran.
AGENT_COMMAND = "echo switchyard-e2e-$((40+2))"
AGENT_EXPECTED = "switchyard-e2e-42"
AGENT_PLAIN_TEXT = "Hello from mock-agent."
AGENT_THINKING_PIECES = ["The user wants the marker; ", "I will ask for Bash."]

SLOW_FIRST = "first"
SLOW_REST = [" second", " third."]
CUT_PIECES = ["This stream ", "will be cut ", "in the middle"]
HOLD_FIRST = "held "
HOLD_REST = ["until ", "released."]
GARBAGE_DATA = "{this is not json"
HANG_DEFAULT_S = 10.0

RETRY_AFTER_429 = "17"
ERROR_TYPES = {
    400: ("invalid_request_error", "mock-error-400: messages.0.content: the mock upstream refuses this request"),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not found"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}


def signature_for(seq: int) -> str:
    """A realistic-looking thinking signature: long base64 holding '+', '/' and '=' padding."""
    raw = bytes((i * 7 + seq) % 256 for i in range(256))
    return "Eq" + base64.b64encode(raw).decode()


def split_tool_json(text: str) -> list[str]:
    """Splits a JSON text into several input_json_delta pieces, cutting inside strings too.

    The first piece is empty, as the real API's first input_json_delta often is."""
    cuts = sorted({min(len(text), c) for c in (1, 9, 10, 23, 41, len(text) - 3)})
    pieces, prev = [""], 0
    for c in cuts:
        if c > prev:
            pieces.append(text[prev:c])
            prev = c
    if prev < len(text):
        pieces.append(text[prev:])
    return pieces


# ---------------------------------------------------------------------------------------------
# Plans: what one answer consists of, rendered either as JSON or as SSE.


class Block:
    """One content block and the deltas that stream it."""

    def __init__(self, kind: str, **kw: Any) -> None:
        self.kind = kind
        self.kw = kw

    def final(self) -> dict[str, Any]:
        k = self.kw
        if self.kind == "text":
            return {"type": "text", "text": "".join(k["pieces"])}
        if self.kind == "thinking":
            return {"type": "thinking", "thinking": "".join(k["pieces"]), "signature": k["signature"]}
        if self.kind == "tool_use":
            return {"type": "tool_use", "id": k["id"], "name": k["name"], "input": k["input"]}
        raise ValueError(self.kind)

    def start(self) -> dict[str, Any]:
        if self.kind == "text":
            return {"type": "text", "text": ""}
        if self.kind == "thinking":
            return {"type": "thinking", "thinking": "", "signature": ""}
        return {"type": "tool_use", "id": self.kw["id"], "name": self.kw["name"], "input": {}}

    def deltas(self) -> list[dict[str, Any]]:
        k = self.kw
        if self.kind == "text":
            return [{"type": "text_delta", "text": p} for p in k["pieces"]]
        if self.kind == "thinking":
            out: list[dict[str, Any]] = [{"type": "thinking_delta", "thinking": p} for p in k["pieces"]]
            out.append({"type": "signature_delta", "signature": k["signature"]})
            return out
        return [{"type": "input_json_delta", "partial_json": p} for p in k["json_pieces"]]


class Plan:
    def __init__(self, scenario: str, blocks: list[Block], stop_reason: str, usage_key: str | None = None) -> None:
        self.scenario = scenario
        self.blocks = blocks
        self.stop_reason = stop_reason
        inp, out, cr, cw = USAGE[usage_key or scenario]
        self.input_tokens, self.output_tokens, self.cache_read, self.cache_write = inp, out, cr, cw
        #: Streaming behaviours: "hold" after the first delta, "cut" after N deltas, "error" after N deltas.
        self.hold_seconds: float | None = None
        self.cut_after: int | None = None
        self.error_after: int | None = None
        #: Whether message_delta repeats the whole cumulative usage (the newer API form) or only output_tokens.
        self.full_delta_usage = True
        #: Write this text_delta event split inside a multi-byte character, in two TCP writes.
        self.split_event_containing: str | None = None
        #: Before answering at all: wait this long for the peer to close (mock-hang).
        self.hang_seconds: float | None = None
        #: Streaming: after the first delta, wait this long for the peer to close (mock-hold).
        self.hold_until_close: float | None = None
        #: What goes wrong right after message_start and ping: "error", "end" or "cut" (mock-early-*).
        self.early: str | None = None
        #: JSON: a body that is not JSON; stream: a message_start whose data is not JSON (mock-garbage).
        self.garbage = False
        #: Streaming: after the `error` event, wait this long for the peer to close before ending the stream.
        self.linger_after_error: float | None = None

    def usage(self, streaming_start: bool = False) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_write,
            "cache_read_input_tokens": self.cache_read,
            "cache_creation": {"ephemeral_5m_input_tokens": self.cache_write, "ephemeral_1h_input_tokens": 0},
            "output_tokens": 1 if streaming_start else self.output_tokens,
            "service_tier": "standard",
        }


def text_block(pieces: list[str]) -> Block:
    return Block("text", pieces=pieces)


def last_user_tool_results(body: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The tool_result blocks of the conversation's last user turn (system-role turns skipped)."""
    msgs = body.get("messages")
    if not isinstance(msgs, list):
        return None
    for m in reversed(msgs):
        if not isinstance(m, dict) or m.get("role") != "user":
            continue
        content = m.get("content")
        if not isinstance(content, list):
            return None
        found = [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]
        return found or None
    return None


def tool_result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = "".join(c.get("text", "") for c in content if isinstance(c, dict) and c.get("type") == "text")
    else:
        text = ""
    # Claude Code appends <system-reminder> text to tool results: quote only the tool's own output.
    text = text.split("<system-reminder>")[0]
    return text.strip()[:500]


def quoted_results(results: list[dict[str, Any]]) -> str:
    return "; ".join(f"\"{tool_result_text(r)}\"" for r in results)


def plan_for(model: str, body: dict[str, Any], seq: int) -> Plan:
    tools = body.get("tools") if isinstance(body.get("tools"), list) else []
    tool_names = [t.get("name") for t in tools if isinstance(t, dict)]
    results = last_user_tool_results(body)

    if model == "mock-tool":
        if results:
            return Plan("tool", [text_block(["The tool said: ", quoted_results(results)])], "end_turn", "tool-final")
        name = tool_names[0] if tool_names and isinstance(tool_names[0], str) else "get_weather"
        raw = json.dumps(TOOL_INPUT, ensure_ascii=False)
        plan = Plan(
            "tool",
            [
                text_block([TOOL_PREAMBLE]),
                Block("tool_use", id=f"toolu_mock_{seq:06d}", name=name, input=TOOL_INPUT, json_pieces=split_tool_json(raw)),
            ],
            "tool_use",
        )
        plan.full_delta_usage = False
        return plan

    if model == "mock-agent":
        if results:
            return Plan("agent", [text_block(["The command printed: ", quoted_results(results)])], "end_turn", "agent-final")
        if "Bash" in tool_names:
            tool_input = {"command": AGENT_COMMAND, "description": "Print the switchyard e2e marker"}
            raw = json.dumps(tool_input)
            return Plan(
                "agent",
                [
                    Block("thinking", pieces=AGENT_THINKING_PIECES, signature=signature_for(seq)),
                    text_block(["Running a command."]),
                    Block("tool_use", id=f"toolu_mock_{seq:06d}", name="Bash", input=tool_input, json_pieces=split_tool_json(raw)),
                ],
                "tool_use",
                "agent-tool",
            )
        return Plan("agent", [text_block([AGENT_PLAIN_TEXT])], "end_turn", "agent-text")

    if model == "mock-thinking":
        return Plan(
            "thinking",
            [Block("thinking", pieces=THINKING_PIECES, signature=signature_for(seq)), text_block([THINKING_ANSWER])],
            "end_turn",
        )

    if model == "mock-slow" or model.startswith("mock-slow-"):
        plan = Plan("slow", [text_block([SLOW_FIRST, *SLOW_REST])], "end_turn")
        suffix = model[len("mock-slow-"):] if model.startswith("mock-slow-") else ""
        plan.hold_seconds = float(suffix) if suffix.replace(".", "", 1).isdigit() else 30.0
        return plan

    if model == "mock-cut":
        plan = Plan("cut", [text_block(CUT_PIECES)], "end_turn")
        plan.cut_after = 2
        return plan

    def seconds_suffix(prefix: str) -> float:
        suffix = model[len(prefix):] if model.startswith(prefix) else ""
        return float(suffix) if suffix.replace(".", "", 1).isdigit() else HANG_DEFAULT_S

    if model == "mock-hang" or model.startswith("mock-hang-"):
        plan = Plan("hang", [text_block(TEXT_PIECES)], "end_turn", "text")
        plan.hang_seconds = seconds_suffix("mock-hang-")
        return plan

    if model == "mock-hold" or model.startswith("mock-hold-"):
        plan = Plan("hold", [text_block([HOLD_FIRST, *HOLD_REST])], "end_turn")
        if body.get("stream") is True:
            plan.hold_until_close = seconds_suffix("mock-hold-")
        else:
            plan.hang_seconds = seconds_suffix("mock-hold-")
        return plan

    if model == "mock-garbage":
        plan = Plan("garbage", [text_block(TEXT_PIECES)], "end_turn", "text")
        plan.garbage = True
        return plan

    if model in ("mock-early-error", "mock-early-end", "mock-early-cut"):
        plan = Plan(model[len("mock-"):], [text_block(["never ", "sent"])], "end_turn", "early")
        plan.early = model[len("mock-early-"):]
        return plan

    if model == "mock-stream-error-linger":
        plan = Plan("stream-error", [text_block(["Partial ", "answer"])], "end_turn")
        plan.error_after = 1
        plan.linger_after_error = 5.0
        return plan

    if model == "mock-stream-error":
        plan = Plan("stream-error", [text_block(["Partial ", "answer"])], "end_turn")
        plan.error_after = 1
        return plan

    plan = Plan("text", [text_block(TEXT_PIECES)], "end_turn")
    plan.split_event_containing = "🚀"
    return plan


# ---------------------------------------------------------------------------------------------
# HTTP


class Request:
    def __init__(self, method: str, target: str, version: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.path = urlsplit(target).path

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for k, v in self.headers:
            if k.lower() == lname:
                return v
        return None

    def keep_alive(self) -> bool:
        conn = (self.header("connection") or "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in conn
        return "close" not in conn


class BadRequest(Exception):
    pass


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if e.partial.strip():
            raise BadRequest("incomplete request head") from None
        return None
    except asyncio.LimitOverrunError:
        raise BadRequest("request head too large") from None
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, version = lines[0].split(" ", 2)
    except ValueError:
        raise BadRequest(f"bad request line {lines[0]!r}") from None
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest(f"bad header line {line!r}")
        headers.append((name.strip(), value.strip()))
    lower = {k.lower(): v for k, v in headers}
    body = b""
    if "chunked" in lower.get("transfer-encoding", "").lower():
        parts = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                # trailers until an empty line
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    elif "content-length" in lower:
        n = int(lower["content-length"])
        body = await reader.readexactly(n) if n else b""
    return Request(method, target, version, headers, body)


def reason(status: int) -> str:
    if status == 529:
        return "Overloaded"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"


class Mock:
    def __init__(self, require_key: str | None, pause: float) -> None:
        self.require_key = require_key
        self.pause = pause
        self.log: list[dict[str, Any]] = []
        self.seq = itertools.count(1)
        self.release_event = asyncio.Event()
        self.holding = 0
        self.connections = 0
        self.last_seq = 0
        #: Upstream model -> statuses still to answer with (POST /_fail_next).
        self.fail_next: dict[str, list[int]] = {}

    # -- connection loop ------------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    req = await read_request(reader)
                except BadRequest as e:
                    await self.send_json(writer, 400, error_body(400, "invalid_request_error", str(e), new_request_id()),
                                         keep_alive=False, head_only=False, request_id=None)
                    break
                if req is None:
                    break
                keep = await self.dispatch(req, writer, reader)
                if not keep:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    async def dispatch(self, req: Request, writer: asyncio.StreamWriter,
                       reader: asyncio.StreamReader | None = None) -> bool:
        keep = req.keep_alive()
        head_only = req.method == "HEAD"
        path = req.path
        if path == "/_log" and req.method == "GET":
            qs = parse_qs(urlsplit(req.target).query)
            since = int(qs.get("since", ["0"])[0])
            await self.send_json(writer, 200, {"requests": [e for e in self.log if e["seq"] > since]}, keep, head_only)
            return keep
        if path == "/_reset" and req.method == "POST":
            self.log.clear()
            await self.send_json(writer, 200, {"ok": True}, keep, head_only)
            return keep
        if path == "/_release" and req.method == "POST":
            released = self.holding
            self.release_event.set()
            self.release_event = asyncio.Event()
            await self.send_json(writer, 200, {"released": released}, keep, head_only)
            return keep
        if path == "/_state" and req.method == "GET":
            state = {"holding": self.holding, "logged": len(self.log), "last_seq": self.last_seq}
            await self.send_json(writer, 200, state, keep, head_only)
            return keep
        if path == "/_fail_next" and req.method == "POST":
            qs = parse_qs(urlsplit(req.target).query)
            try:
                target, status = qs["model"][0], int(qs["status"][0])
                count = int(qs.get("count", ["1"])[0])
            except (KeyError, ValueError):
                await self.send_json(writer, 400, {"error": "model, status and count are required"}, keep, head_only)
                return keep
            queue = self.fail_next.setdefault(target, [])
            queue.extend([status] * count)
            await self.send_json(writer, 200, {"model": target, "pending": len(queue)}, keep, head_only)
            return keep

        seq = next(self.seq)
        self.last_seq = seq
        request_id = new_request_id()
        entry: dict[str, Any] = {
            "seq": seq,
            "time": time.time(),
            "method": req.method,
            "path": req.target,
            "headers": [[k, v] for k, v in req.headers],
            "body_b64": base64.b64encode(req.body).decode(),
            "body": req.body.decode("utf-8", errors="replace"),
            "model": None,
            "stream": None,
            "response": {"status": None, "request_id": request_id, "events": [], "completed": False},
        }
        self.log.append(entry)
        resp = entry["response"]

        async def fail(status: int, etype: str, message: str, extra: dict[str, str] | None = None) -> bool:
            body = error_body(status, etype, message, request_id)
            resp["status"] = status
            resp["body"] = body
            await self.send_json(writer, status, body, keep, head_only, request_id=request_id, extra=extra)
            resp["completed"] = True
            return keep

        is_messages = path == "/v1/messages"
        is_count = path == "/v1/messages/count_tokens"
        if not (is_messages or is_count) or req.method != "POST":
            return await fail(404, "not_found_error", f"Not found: {req.method} {path}")
        if self.require_key is not None and req.header("x-api-key") != self.require_key:
            return await fail(401, "authentication_error", "invalid x-api-key")
        if not req.header("anthropic-version"):
            return await fail(400, "invalid_request_error", "anthropic-version: header is required")
        try:
            body = json.loads(req.body)
        except (ValueError, UnicodeDecodeError) as e:
            return await fail(400, "invalid_request_error", f"There was an issue with the request body: {e}")
        if not isinstance(body, dict):
            return await fail(400, "invalid_request_error", "request body must be a JSON object")
        model = body.get("model")
        entry["model"] = model
        entry["stream"] = body.get("stream") is True
        if not isinstance(model, str):
            return await fail(400, "invalid_request_error", "model: Field required")

        if is_count:
            resp["status"] = 200
            resp["body"] = {"input_tokens": max(1, len(req.body) // 4)}
            await self.send_json(writer, 200, resp["body"], keep, head_only, request_id=request_id)
            resp["completed"] = True
            return keep

        forced = self.fail_next.get(model) if is_messages else None
        if forced:
            status = forced.pop(0)
            entry["forced"] = True
            etype, message = ERROR_TYPES.get(status, ("api_error", f"mock error {status}"))
            extra = {"retry-after": RETRY_AFTER_429} if status == 429 else None
            return await fail(status, etype, message, extra)

        if model.startswith("mock-error-"):
            try:
                status = int(model[len("mock-error-"):])
            except ValueError:
                status = 400
            etype, message = ERROR_TYPES.get(status, ("api_error", f"mock error {status}"))
            extra = {"retry-after": RETRY_AFTER_429} if status == 429 else None
            return await fail(status, etype, message, extra)

        for key in ("max_tokens", "messages"):
            if key not in body:
                return await fail(400, "invalid_request_error", f"{key}: Field required")

        plan = plan_for(model, body, seq)
        entry["scenario"] = plan.scenario
        if plan.hang_seconds is not None:
            entry["hung"] = True
            if await wait_for_close(reader, plan.hang_seconds):
                resp["closed_at"] = time.time()
                return False
        if plan.early == "error" and not entry["stream"]:
            etype, emessage = ERROR_TYPES[529]
            return await fail(529, etype, emessage)
        message = {
            "id": f"msg_mock_{seq:06d}{secrets.token_hex(4)}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [b.final() for b in plan.blocks],
            "stop_reason": plan.stop_reason,
            "stop_sequence": None,
            "usage": plan.usage(),
        }
        resp["message"] = message
        if not entry["stream"]:
            resp["status"] = 200
            if plan.garbage or plan.early in ("end", "cut"):
                return await self.send_broken_json(writer, plan, message, resp, keep, request_id)
            await self.send_json(writer, 200, message, keep, head_only, request_id=request_id)
            resp["completed"] = True
            return keep
        return await self.stream(writer, plan, message, resp, keep, request_id, reader)

    # -- writing --------------------------------------------------------------------------------

    def head(self, status: int, headers: dict[str, str], keep: bool) -> bytes:
        lines = [f"HTTP/1.1 {status} {reason(status)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines.append(f"connection: {'keep-alive' if keep else 'close'}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def send_json(self, writer: asyncio.StreamWriter, status: int, obj: Any, keep_alive: bool,
                        head_only: bool, request_id: str | None = None, extra: dict[str, str] | None = None) -> None:
        data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "date": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()),
            "content-type": "application/json",
            "content-length": str(len(data)),
        }
        if request_id:
            headers["request-id"] = request_id
            headers["anthropic-organization-id"] = "org-mock"
        if extra:
            headers.update(extra)
        writer.write(self.head(status, headers, keep_alive) + (b"" if head_only else data))
        await writer.drain()

    async def send_broken_json(self, writer: asyncio.StreamWriter, plan: Plan, message: dict[str, Any],
                               resp: dict[str, Any], keep: bool, request_id: str) -> bool:
        """A 200 that is no message: garbage, an empty body, or half the body and a dead connection."""
        whole = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
        data = GARBAGE_DATA.encode() if plan.garbage else b"" if plan.early == "end" else whole
        headers = {
            "date": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()),
            "content-type": "application/json",
            "content-length": str(len(data)),
            "request-id": request_id,
        }
        if plan.early == "cut":
            writer.write(self.head(200, headers, keep) + data[: len(data) // 2])
            await writer.drain()
            resp["cut"] = True
            writer.transport.abort()
            return False
        writer.write(self.head(200, headers, keep) + data)
        await writer.drain()
        resp["garbage" if plan.garbage else "empty"] = True
        resp["completed"] = True
        return keep

    async def stream(self, writer: asyncio.StreamWriter, plan: Plan, message: dict[str, Any], resp: dict[str, Any],
                     keep: bool, request_id: str, reader: asyncio.StreamReader | None = None) -> bool:
        resp["status"] = 200
        headers = {
            "date": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()),
            "content-type": "text/event-stream; charset=utf-8",
            "cache-control": "no-cache",
            "transfer-encoding": "chunked",
            "request-id": request_id,
            "anthropic-organization-id": "org-mock",
        }
        writer.write(self.head(200, headers, keep))
        await writer.drain()

        async def emit(data: dict[str, Any], split_at: str | None = None) -> None:
            encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            payload = f"event: {data['type']}\ndata: {encoded}\n\n".encode()
            resp["events"].append(data["type"])
            pieces = [payload]
            if split_at is not None:
                # Cut inside the UTF-8 bytes of `split_at`, and send the halves as separate TCP writes.
                at = payload.find(split_at.encode())
                if at >= 0:
                    cut = at + 2
                    pieces = [payload[:cut], payload[cut:]]
            for piece in pieces:
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                await writer.drain()
                if self.pause:
                    await asyncio.sleep(self.pause)

        start = dict(message, content=[], stop_reason=None, stop_sequence=None, usage=plan.usage(streaming_start=True))
        if plan.garbage:
            payload = f"event: message_start\ndata: {GARBAGE_DATA}\n\n".encode()
            resp["events"].append("message_start (garbage)")
            resp["garbage"] = True
            writer.write(b"%x\r\n%s\r\n" % (len(payload), payload))
            await writer.drain()
        else:
            await emit({"type": "message_start", "message": start})
        await emit({"type": "ping"})
        if plan.early == "error":
            await emit({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"},
                        "request_id": request_id})
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            resp["completed"] = True
            return keep
        if plan.early == "end":
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            resp["completed"] = True
            return keep
        if plan.early == "cut":
            resp["cut"] = True
            writer.transport.abort()
            return False
        deltas_sent = 0
        for index, block in enumerate(plan.blocks):
            await emit({"type": "content_block_start", "index": index, "content_block": block.start()})
            for delta in block.deltas():
                split = None
                if plan.split_event_containing and plan.split_event_containing in json.dumps(delta, ensure_ascii=False):
                    split = plan.split_event_containing
                if plan.hold_seconds is not None and deltas_sent == 0:
                    # Counted before the event goes out, so a client that has the event sees the hold.
                    resp["held"] = True
                    self.holding += 1
                    release = self.release_event
                    try:
                        await emit({"type": "content_block_delta", "index": index, "delta": delta}, split)
                        deltas_sent += 1
                        try:
                            await asyncio.wait_for(release.wait(), plan.hold_seconds)
                            resp["released_by"] = "release"
                        except asyncio.TimeoutError:
                            resp["released_by"] = "timeout"
                    finally:
                        self.holding -= 1
                    await emit({"type": "ping"})
                elif plan.hold_until_close is not None and deltas_sent == 0:
                    await emit({"type": "content_block_delta", "index": index, "delta": delta}, split)
                    deltas_sent += 1
                    resp["held_at"] = time.time()
                    if await wait_for_close(reader, plan.hold_until_close):
                        resp["closed_at"] = time.time()
                        return False
                else:
                    await emit({"type": "content_block_delta", "index": index, "delta": delta}, split)
                    deltas_sent += 1
                if plan.cut_after is not None and deltas_sent == plan.cut_after:
                    resp["cut"] = True
                    transport = writer.transport
                    transport.abort()
                    return False
                if plan.error_after is not None and deltas_sent == plan.error_after:
                    await emit({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"},
                                "request_id": request_id})
                    if plan.linger_after_error is not None:
                        resp["error_sent_at"] = time.time()
                        if await wait_for_close(reader, plan.linger_after_error):
                            resp["closed_at"] = time.time()
                            return False
                    writer.write(b"0\r\n\r\n")
                    await writer.drain()
                    resp["completed"] = True
                    return keep
            await emit({"type": "content_block_stop", "index": index})
        if plan.full_delta_usage:
            usage: dict[str, Any] = {
                "input_tokens": plan.input_tokens,
                "cache_creation_input_tokens": plan.cache_write,
                "cache_read_input_tokens": plan.cache_read,
                "output_tokens": plan.output_tokens,
            }
        else:
            usage = {"output_tokens": plan.output_tokens}
        await emit({"type": "message_delta", "delta": {"stop_reason": plan.stop_reason, "stop_sequence": None},
                    "usage": usage})
        await emit({"type": "message_stop"})
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        resp["completed"] = True
        return keep


async def wait_for_close(reader: asyncio.StreamReader | None, seconds: float) -> bool:
    """Waits up to `seconds` for the peer to close the connection (anything it sends is discarded);
    True when it closed."""
    if reader is None:
        await asyncio.sleep(seconds)
        return False

    async def until_eof() -> None:
        while await reader.read(65536):
            pass

    try:
        await asyncio.wait_for(until_eof(), seconds)
        return True
    except asyncio.TimeoutError:
        return False
    except (ConnectionError, OSError):
        return True


def new_request_id() -> str:
    return "req_mock_" + secrets.token_hex(12)


def error_body(status: int, etype: str, message: str, request_id: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": etype, "message": message}, "request_id": request_id}


# ---------------------------------------------------------------------------------------------


async def main_async(args: argparse.Namespace) -> None:
    mock = Mock(args.require_key, args.pause_ms / 1000.0)
    ctx = None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
    await serve(mock.handle, args.host, args.port, args.port_file, "mock anthropic", ctx)


async def serve(handle: Any, host: str, port: int, port_file: str | None, label: str, ctx: Any = None) -> None:
    """Serves `handle` on host:port (0 = any free port), writes the port to `port_file`, prints the address,
    and runs until SIGTERM/SIGINT. Shared by every mock upstream."""
    server = await asyncio.start_server(handle, host, port, ssl=ctx, limit=1 << 20)
    port = server.sockets[0].getsockname()[1]
    if port_file:
        tmp = port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.replace(tmp, port_file)
    print(f"{label} listening on {'https' if ctx else 'http'}://{host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--require-key", help="answer 401 unless x-api-key equals this")
    p.add_argument("--pause-ms", type=float, default=10.0, help="pause after each SSE write")
    args = p.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
