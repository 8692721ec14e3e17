#!/usr/bin/env python3
"""A loopback mock of the OpenAI Chat Completions API, for Switchyard's end-to-end tests (issue 3).

Standard library only (asyncio); the HTTP/1.1 request reader is shared with mock_anthropic.py.
It answers `POST /v1/chat/completions` (JSON, or SSE with `stream: true`) in the shapes of OpenAI's
public API reference: a `chat.completion` object, or `chat.completion.chunk` objects as `data: {...}`
lines ending with `data: [DONE]`; with `stream_options.include_usage` every chunk carries
`"usage": null` and one more chunk with empty `choices` carries the usage after the `finish_reason`.
Usage has `prompt_tokens` (cached tokens included), `completion_tokens`, `total_tokens`,
`prompt_tokens_details.cached_tokens` and `completion_tokens_details.reasoning_tokens`.
Errors have OpenAI's shape `{"error": {"message", "type", "param", "code"}}`.

It checks requests as strictly as api.openai.com does where a translator can go wrong (roles, part
types, tool messages answering every `tool_call_id` right after the assistant's `tool_calls`,
`tool_choice` naming an offered tool, `stream_options` only with `stream`, unknown top-level fields);
a request that fails is answered 400 and the reason is logged.

What it answers is chosen by the `model` it receives:

    oa-text            text in several deltas (non-ASCII, quotes, an emoji split across two TCP writes)
    oa-tools-parallel  a short text, then two tool calls told apart by `index`, their arguments split
                       at odd places (inside strings and escapes; one chunk ends call 0 and starts call 1)
    oa-reasoning       DeepSeek-style `reasoning_content` deltas, then content
    oa-empty-args      a tool call whose arguments never arrive (`""`)
    oa-cut             a few deltas, then the connection dies (no finish_reason, no [DONE])
    oa-early-cut       only the role chunk (no content), then the connection dies; JSON: half the body
    oa-garbage         a few deltas, a `data:` line that is not JSON, then the rest as if nothing happened
    oa-error-STATUS    STATUS in 400 401 429 (429 carries retry-after), OpenAI's error shape
    oa-agent           for Claude Code: `tool` messages after the last assistant message -> a final text
                       quoting them; else a function tool named `Bash` offered -> reasoning, then a call
                       of Bash; else plain text
    anything else      like oa-text

Test hooks (not part of the OpenAI API, never logged):
    GET  /_log[?since=N]   every request received: method, path, headers in order, raw body (base64 and
                           text), the parsed model/stream, any validation error, and what was answered
                           (status, every chunk's data, the assembled message)
    POST /_reset           clears the log
    POST /_release         no-op (answers {"released": 0}; the Anthropic mock's client calls it)
    GET  /_state           {"holding": 0, "logged": n, "last_seq": n}

Run: python mock_openai.py --port 0 --port-file F [--require-key KEY] [--pause-ms MS]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import os
import re
import secrets
import sys
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mock_anthropic import BadRequest, Request, read_request, reason, serve  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Scenario data. Tests import these constants to know what the mock sends.

#: Token figures per scenario, as OpenAI reports them: (prompt_tokens, completion_tokens, cached_tokens,
#: reasoning_tokens). `prompt_tokens` includes the cached tokens.
USAGE: dict[str, tuple[int, int, int, int]] = {
    "text": (1500, 42, 1024, 0),
    "tools": (2200, 77, 0, 0),
    "reasoning": (900, 250, 128, 180),
    "empty-args": (400, 12, 0, 0),
    "agent-tool": (3000, 60, 2048, 20),
    "agent-final": (3300, 25, 2944, 0),
    "agent-text": (800, 9, 0, 0),
}

#: oa-text: one content delta each.
TEXT_PIECES = [
    "Hello from the OpenAI",
    " mock — «text» with \"quotes\", a back\\slash",
    " and an emoji 🚀",
    " in several chunks.\nSecond line.",
]
TEXT = "".join(TEXT_PIECES)

#: oa-tools-parallel: the text before the calls, and the two calls' arguments.
TOOLS_PREAMBLE = "Checking both."
TOOL_ARGS: list[dict[str, Any]] = [
    {"city": "Paris", "units": "celsius", "note": "naïve \"quoted\" ✓", "days": [1, 2, 3]},
    {"timezone": "Europe/Paris", "format": "24h", "nested": {"a": None, "b": True, "c": "x\\y"}},
]
#: Default function names when the request offers fewer than two tools.
DEFAULT_TOOL_NAMES = ["get_weather", "get_time"]

#: oa-reasoning: reasoning_content deltas, then content deltas.
REASONING_PIECES = ["The user wants ", "«a number»; ", "café \"quoted\" and a\nnewline."]
REASONING_TEXT = "".join(REASONING_PIECES)
REASONING_ANSWER_PIECES = ["After reasoning:", " the answer is 42."]
REASONING_ANSWER = "".join(REASONING_ANSWER_PIECES)

#: oa-empty-args: the tool called without arguments (when the request offers none).
EMPTY_ARGS_TOOL = "list_files"

#: oa-cut / oa-garbage: the content deltas sent before the stream goes wrong.
CUT_PIECES = ["This stream ", "will be cut ", "in the middle"]
CUT_AFTER = 2
GARBAGE_PIECES = ["Before the garbage, ", "after the garbage."]
GARBAGE_LINE = "data: {this is not json at all\n\n"

#: oa-agent.
AGENT_COMMAND = "echo switchyard-oai-$((40+2))"
AGENT_EXPECTED = "switchyard-oai-42"
AGENT_REASONING = ["The user wants the marker; ", "I will run Bash."]
AGENT_PREFIX = "The command printed: "
AGENT_PLAIN_TEXT = "Hello from the OpenAI mock agent."

RETRY_AFTER_429 = "23"
ERRORS: dict[int, dict[str, Any]] = {
    400: {"message": "Invalid value for 'messages[0].content': oa-error-400 refuses this request.",
          "type": "invalid_request_error", "param": "messages", "code": "invalid_value"},
    401: {"message": "Incorrect API key provided: sk-oai-***mock. You can find your API key at "
                     "https://platform.openai.com/account/api-keys.",
          "type": "invalid_request_error", "param": None, "code": "invalid_api_key"},
    429: {"message": "Rate limit reached for oa-error-429 in organization org-mock on tokens per min (TPM): "
                     "Limit 30000, Used 29500, Requested 1200. Please try again in 23s.",
          "type": "tokens", "param": None, "code": "rate_limit_exceeded"},
}

# ---------------------------------------------------------------------------------------------
# Request checks, as strict as api.openai.com where a translator can go wrong.

KNOWN_FIELDS = {
    "model", "messages", "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "logprobs",
    "max_completion_tokens", "max_tokens", "metadata", "modalities", "n", "parallel_tool_calls", "prediction",
    "presence_penalty", "prompt_cache_key", "reasoning_effort", "response_format", "safety_identifier", "seed",
    "service_tier", "stop", "store", "stream", "stream_options", "temperature", "tool_choice", "tools",
    "top_logprobs", "top_p", "user", "verbosity", "web_search_options",
    # Accepted by common OpenAI-compatible servers (vLLM, Together: top_k; OpenRouter: reasoning).
    "top_k", "reasoning",
}
USER_PART_TYPES = {"text", "image_url", "input_audio", "file"}
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class Invalid(Exception):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def _text_parts(content: Any, where: str, allowed: set[str]) -> None:
    if isinstance(content, str):
        return
    if not isinstance(content, list) or not content:
        raise Invalid(f"Invalid type for '{where}': expected a string or a non-empty array of content parts.", where)
    for i, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") not in allowed:
            kind = part.get("type") if isinstance(part, dict) else type(part).__name__
            raise Invalid(f"Invalid value: '{kind}'. Supported values are: {', '.join(sorted(allowed))}.",
                          f"{where}[{i}].type")
        where_i = f"{where}[{i}]"
        t = part["type"]
        if t == "text" and not isinstance(part.get("text"), str):
            raise Invalid(f"Missing required parameter: '{where_i}.text'.", f"{where_i}.text")
        if t == "image_url":
            url = part.get("image_url", {}).get("url") if isinstance(part.get("image_url"), dict) else None
            if not isinstance(url, str) or not (url.startswith("data:image/") or url.startswith("http")):
                raise Invalid(f"Invalid '{where_i}.image_url.url': expected a URL or a data URI.", where_i)
        if t == "file":
            f = part.get("file")
            if not isinstance(f, dict) or not (f.get("file_data") or f.get("file_id")):
                raise Invalid(f"Missing required parameter: '{where_i}.file.file_data'.", where_i)


def validate(body: dict[str, Any]) -> None:
    """Raises Invalid with an OpenAI-like message when api.openai.com would refuse `body`."""
    for key in body:
        if key not in KNOWN_FIELDS:
            raise Invalid(f"Unrecognized request argument supplied: {key}", key)
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise Invalid("Invalid 'messages': empty array. Expected an array with minimum length 1.", "messages")
    pending: list[str] = []  # tool_call ids still to be answered
    for i, m in enumerate(msgs):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise Invalid(f"Invalid type for '{where}': expected an object.", where)
        role = m.get("role")
        if pending and role != "tool":
            raise Invalid("An assistant message with 'tool_calls' must be followed by tool messages responding to "
                          f"each 'tool_call_id'. The following tool_call_ids did not have response messages: "
                          f"{', '.join(pending)}", f"{where}.role")
        if role in ("system", "developer"):
            _text_parts(m.get("content"), f"{where}.content", {"text"})
        elif role == "user":
            _text_parts(m.get("content"), f"{where}.content", USER_PART_TYPES)
        elif role == "assistant":
            calls = m.get("tool_calls")
            content = m.get("content")
            if content is None:
                if not calls:
                    raise Invalid(f"Invalid value for '{where}.content': expected a string, got null.",
                                  f"{where}.content")
            else:
                _text_parts(content, f"{where}.content", {"text", "refusal"})
            if "reasoning_content" in m and not isinstance(m["reasoning_content"], (str, type(None))):
                raise Invalid(f"Invalid type for '{where}.reasoning_content'.", f"{where}.reasoning_content")
            if calls is not None:
                if not isinstance(calls, list) or not calls:
                    raise Invalid(f"Invalid 'messages[{i}].tool_calls': empty array.", f"{where}.tool_calls")
                for j, c in enumerate(calls):
                    cw = f"{where}.tool_calls[{j}]"
                    fn = c.get("function") if isinstance(c, dict) else None
                    if (not isinstance(c, dict) or not isinstance(c.get("id"), str) or not c["id"]
                            or c.get("type") != "function" or not isinstance(fn, dict)
                            or not isinstance(fn.get("name"), str) or not isinstance(fn.get("arguments"), str)):
                        raise Invalid(f"Invalid '{cw}': expected {{id, type: 'function', function: {{name, "
                                      "arguments (string)}}}.", cw)
                    pending.append(c["id"])
        elif role == "tool":
            tcid = m.get("tool_call_id")
            if not isinstance(tcid, str) or tcid not in pending:
                raise Invalid("Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                              "message with 'tool_calls'.", f"{where}.role")
            pending.remove(tcid)
            _text_parts(m.get("content"), f"{where}.content", {"text"})
        else:
            raise Invalid(f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', "
                          "'tool', 'function', and 'developer'.", f"{where}.role")
    if pending:
        raise Invalid("An assistant message with 'tool_calls' must be followed by tool messages responding to "
                      f"each 'tool_call_id'. The following tool_call_ids did not have response messages: "
                      f"{', '.join(pending)}", "messages")

    tools = body.get("tools")
    names: list[str] = []
    if tools is not None:
        if not isinstance(tools, list) or not tools:
            raise Invalid("Invalid 'tools': empty array. Expected an array with minimum length 1.", "tools")
        for j, t in enumerate(tools):
            fn = t.get("function") if isinstance(t, dict) else None
            if not isinstance(t, dict) or t.get("type") != "function" or not isinstance(fn, dict):
                raise Invalid(f"Invalid value for 'tools[{j}].type': expected 'function'.", f"tools[{j}].type")
            if not isinstance(fn.get("name"), str) or not TOOL_NAME.match(fn["name"]):
                raise Invalid(f"Invalid 'tools[{j}].function.name': string does not match pattern "
                              "'^[a-zA-Z0-9_-]+$' or is longer than 64.", f"tools[{j}].function.name")
            if "parameters" in fn and not isinstance(fn["parameters"], dict):
                raise Invalid(f"Invalid type for 'tools[{j}].function.parameters'.", f"tools[{j}].function.parameters")
            extra = set(fn) - {"name", "description", "parameters", "strict"}
            if extra or set(t) - {"type", "function"}:
                raise Invalid(f"Unrecognized request argument supplied: tools[{j}]: {sorted(extra | (set(t) - {'type', 'function'}))}",
                              f"tools[{j}]")
            names.append(fn["name"])
    choice = body.get("tool_choice")
    if choice is not None:
        if not names:
            raise Invalid("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
                          "tool_choice")
        if isinstance(choice, str):
            if choice not in ("none", "auto", "required"):
                raise Invalid(f"Invalid value: '{choice}'. Supported values are: 'none', 'auto', and 'required'.",
                              "tool_choice")
        elif not (isinstance(choice, dict) and choice.get("type") == "function"
                  and isinstance(choice.get("function"), dict) and choice["function"].get("name") in names):
            raise Invalid(f"Invalid 'tool_choice': {json.dumps(choice)} names no function among 'tools'.", "tool_choice")
    if "parallel_tool_calls" in body and not names:
        raise Invalid("Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when 'tools' "
                      "are specified.", "parallel_tool_calls")
    if "stream_options" in body and body.get("stream") is not True:
        raise Invalid("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options")
    for field in ("max_tokens", "max_completion_tokens"):
        if field in body and (not isinstance(body[field], int) or isinstance(body[field], bool) or body[field] < 1):
            raise Invalid(f"Invalid '{field}': integer below minimum value.", field)
    if "temperature" in body and not (isinstance(body["temperature"], (int, float)) and 0 <= body["temperature"] <= 2):
        raise Invalid("Invalid 'temperature': expected a number between 0 and 2.", "temperature")
    if "top_p" in body and not (isinstance(body["top_p"], (int, float)) and 0 <= body["top_p"] <= 1):
        raise Invalid("Invalid 'top_p': expected a number between 0 and 1.", "top_p")
    stop = body.get("stop")
    if stop is not None and not (isinstance(stop, str) or (isinstance(stop, list) and len(stop) <= 4
                                                           and all(isinstance(s, str) for s in stop))):
        raise Invalid("Invalid 'stop': expected a string or an array of at most 4 strings.", "stop")
    if "user" in body and not isinstance(body["user"], str):
        raise Invalid("Invalid type for 'user': expected a string.", "user")
    if "reasoning_effort" in body and body["reasoning_effort"] not in ("minimal", "low", "medium", "high"):
        raise Invalid(f"Invalid value: '{body['reasoning_effort']}'. Supported values are: 'minimal', 'low', "
                      "'medium', and 'high'.", "reasoning_effort")


# ---------------------------------------------------------------------------------------------
# Plans: the deltas of one answer, rendered as chunks or assembled into a chat.completion.


class Plan:
    def __init__(self, scenario: str, deltas: list[dict[str, Any]], finish_reason: str | None,
                 usage_key: str | None = None) -> None:
        self.scenario = scenario
        self.deltas = deltas
        self.finish_reason = finish_reason
        self.usage_key = usage_key
        #: Stream: abort the connection after this many delta chunks (no finish_reason, no [DONE]).
        self.cut_after: int | None = None
        #: Stream: write GARBAGE_LINE after this many delta chunks, then carry on.
        self.garbage_after: int | None = None
        #: Stream: write the chunk containing this text in two TCP writes, cut inside its UTF-8 bytes.
        self.split_containing: str | None = None

    def usage(self) -> dict[str, Any] | None:
        if self.usage_key is None:
            return None
        prompt, completion, cached, reasoning_tokens = USAGE[self.usage_key]
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning_tokens, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        }


def assemble(deltas: list[dict[str, Any]]) -> dict[str, Any]:
    """The assistant message the deltas add up to (content, reasoning_content, tool_calls by index)."""
    content: str | None = None
    reasoning: str | None = None
    calls: dict[int, dict[str, Any]] = {}
    for d in deltas:
        if isinstance(d.get("content"), str):
            content = (content or "") + d["content"]
        if isinstance(d.get("reasoning_content"), str):
            reasoning = (reasoning or "") + d["reasoning_content"]
        for tc in d.get("tool_calls") or []:
            call = calls.setdefault(tc["index"], {"id": None, "type": "function",
                                                  "function": {"name": "", "arguments": ""}})
            if tc.get("id"):
                call["id"] = tc["id"]
            fn = tc.get("function") or {}
            call["function"]["name"] += fn.get("name") or ""
            call["function"]["arguments"] += fn.get("arguments") or ""
    message: dict[str, Any] = {"role": "assistant", "content": content if content else None, "refusal": None}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    return message


def split_at(text: str, cuts: list[int]) -> list[str]:
    """`text` cut at the given character offsets (kept in range, deduplicated)."""
    points = sorted({c for c in cuts if 0 < c < len(text)})
    out, prev = [], 0
    for c in points:
        out.append(text[prev:c])
        prev = c
    out.append(text[prev:])
    return out


def odd_pieces(arguments: str) -> list[str]:
    """A tool call's arguments cut at awkward places: right after `{`, inside a key, between a backslash
    and the character it escapes, inside a non-ASCII word, and just before the closing brace."""
    cuts = [1, 4]
    backslash = arguments.find("\\")
    if backslash > 0:
        cuts.append(backslash + 1)
    for ch in ("ï", "✓"):
        at = arguments.find(ch)
        if at > 0:
            cuts.append(at)
            cuts.append(at + 1)
    cuts.append(len(arguments) - 1)
    return split_at(arguments, cuts)


def call_id(seq: int, n: int) -> str:
    return f"call_{seq:04d}{n}{secrets.token_hex(10)}"


def offered_tools(body: dict[str, Any]) -> list[str]:
    names = []
    for t in body.get("tools") or []:
        fn = t.get("function") if isinstance(t, dict) else None
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            names.append(fn["name"])
    return names


def tool_messages_after_last_assistant(body: dict[str, Any]) -> list[dict[str, Any]]:
    msgs = body.get("messages") or []
    last_assistant = max((i for i, m in enumerate(msgs) if m.get("role") == "assistant"), default=-1)
    return [m for m in msgs[last_assistant + 1:] if m.get("role") == "tool"]


def tool_message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    text = str(content or "")
    # Claude Code appends <system-reminder> text to tool results: quote only the tool's own output.
    return text.split("<system-reminder>")[0].strip()[:500]


def text_deltas(pieces: list[str], first_role: bool = True) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if first_role:
        out.append({"role": "assistant", "content": "", "refusal": None})
    out += [{"content": p} for p in pieces]
    return out


def tool_call_deltas(seq: int, calls: list[tuple[str, str]], glue_boundaries: bool) -> list[dict[str, Any]]:
    """Deltas for tool calls (name, arguments JSON), told apart by index. The first fragment of each call
    carries id, type, name and empty arguments; the arguments follow in odd pieces. With `glue_boundaries`
    the last piece of one call and the first fragment of the next travel in the same chunk."""
    deltas: list[dict[str, Any]] = []
    for n, (name, arguments) in enumerate(calls):
        head = {"index": n, "id": call_id(seq, n), "type": "function", "function": {"name": name, "arguments": ""}}
        pieces = odd_pieces(arguments) if arguments else []
        if glue_boundaries and deltas and n > 0:
            deltas[-1]["tool_calls"].append(head)
        else:
            deltas.append({"tool_calls": [head]})
        for p in pieces:
            deltas.append({"tool_calls": [{"index": n, "function": {"arguments": p}}]})
    return deltas


def plan_for(model: str, body: dict[str, Any], seq: int) -> Plan:
    names = offered_tools(body)

    if model == "oa-tools-parallel":
        chosen = (names + [n for n in DEFAULT_TOOL_NAMES if n not in names])[:2]
        calls = [(chosen[i], json.dumps(TOOL_ARGS[i], ensure_ascii=False)) for i in range(2)]
        deltas = [{"role": "assistant", "content": None, "refusal": None}, {"content": TOOLS_PREAMBLE}]
        deltas += tool_call_deltas(seq, calls, glue_boundaries=True)
        return Plan("tools", deltas, "tool_calls", "tools")

    if model == "oa-reasoning":
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": None, "reasoning_content": ""}]
        deltas += [{"content": None, "reasoning_content": p} for p in REASONING_PIECES]
        deltas += [{"content": p, "reasoning_content": None} for p in REASONING_ANSWER_PIECES]
        return Plan("reasoning", deltas, "stop", "reasoning")

    if model == "oa-empty-args":
        name = names[0] if names else EMPTY_ARGS_TOOL
        deltas = [{"role": "assistant", "content": None, "refusal": None}]
        deltas += tool_call_deltas(seq, [(name, "")], glue_boundaries=False)
        return Plan("empty-args", deltas, "tool_calls", "empty-args")

    if model == "oa-cut":
        plan = Plan("cut", text_deltas(CUT_PIECES), "stop", None)
        plan.cut_after = 1 + CUT_AFTER  # the role chunk and CUT_AFTER content chunks
        return plan

    if model == "oa-early-cut":
        plan = Plan("early-cut", text_deltas(CUT_PIECES), "stop", None)
        plan.cut_after = 1  # the role chunk only: nothing a client could show
        return plan

    if model == "oa-garbage":
        plan = Plan("garbage", text_deltas(GARBAGE_PIECES), "stop", "text")
        plan.garbage_after = 2  # the role chunk and the first content chunk
        return plan

    if model == "oa-agent":
        results = tool_messages_after_last_assistant(body)
        if results:
            quoted = "; ".join(f"\"{tool_message_text(m)}\"" for m in results)
            return Plan("agent", text_deltas([AGENT_PREFIX, quoted]), "stop", "agent-final")
        if "Bash" in names:
            arguments = json.dumps({"command": AGENT_COMMAND, "description": "Print the switchyard marker"})
            deltas = [{"role": "assistant", "content": None, "reasoning_content": ""}]
            deltas += [{"content": None, "reasoning_content": p} for p in AGENT_REASONING]
            deltas += tool_call_deltas(seq, [("Bash", arguments)], glue_boundaries=False)
            return Plan("agent", deltas, "tool_calls", "agent-tool")
        return Plan("agent", text_deltas([AGENT_PLAIN_TEXT]), "stop", "agent-text")

    plan = Plan("text", text_deltas(TEXT_PIECES), "stop", "text")
    plan.split_containing = "🚀"
    return plan


# ---------------------------------------------------------------------------------------------
# HTTP


def error_body(message: str, etype: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": etype, "param": param, "code": code}}


class Mock:
    def __init__(self, require_key: str | None, pause: float) -> None:
        self.require_key = require_key
        self.pause = pause
        self.log: list[dict[str, Any]] = []
        self.seq = itertools.count(1)
        self.last_seq = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    req = await read_request(reader)
                except BadRequest as e:
                    await self.send_json(writer, 400, error_body(str(e), "invalid_request_error"), False)
                    break
                if req is None:
                    break
                if not await self.dispatch(req, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    async def dispatch(self, req: Request, writer: asyncio.StreamWriter) -> bool:
        keep = req.keep_alive()
        path = req.path
        if path == "/_log" and req.method == "GET":
            since = int(parse_qs(urlsplit(req.target).query).get("since", ["0"])[0])
            await self.send_json(writer, 200, {"requests": [e for e in self.log if e["seq"] > since]}, keep)
            return keep
        if path == "/_reset" and req.method == "POST":
            self.log.clear()
            await self.send_json(writer, 200, {"ok": True}, keep)
            return keep
        if path == "/_release" and req.method == "POST":
            await self.send_json(writer, 200, {"released": 0}, keep)
            return keep
        if path == "/_state" and req.method == "GET":
            await self.send_json(writer, 200, {"holding": 0, "logged": len(self.log), "last_seq": self.last_seq}, keep)
            return keep

        seq = next(self.seq)
        self.last_seq = seq
        request_id = "req_" + secrets.token_hex(16)
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
            "invalid": None,
            "response": {"status": None, "request_id": request_id, "chunks": [], "completed": False},
        }
        self.log.append(entry)
        resp = entry["response"]

        async def fail(status: int, body: dict[str, Any], extra: dict[str, str] | None = None) -> bool:
            resp["status"] = status
            resp["body"] = body
            await self.send_json(writer, status, body, keep, request_id, extra)
            resp["completed"] = True
            return keep

        if path != "/v1/chat/completions" or req.method != "POST":
            return await fail(404, error_body(f"Invalid URL ({req.method} {path})", "invalid_request_error"))
        auth = req.header("authorization")
        if self.require_key is not None and auth != f"Bearer {self.require_key}":
            return await fail(401, error_body(
                "You didn't provide an API key, or it is not the right one." if not auth else ERRORS[401]["message"],
                "invalid_request_error", None, "invalid_api_key"))
        try:
            body = json.loads(req.body)
        except (ValueError, UnicodeDecodeError) as e:
            return await fail(400, error_body(f"We could not parse the JSON body of your request. ({e})",
                                              "invalid_request_error"))
        if not isinstance(body, dict):
            return await fail(400, error_body("The request body must be a JSON object.", "invalid_request_error"))
        model = body.get("model")
        entry["model"] = model
        entry["stream"] = body.get("stream") is True
        if not isinstance(model, str) or not model:
            return await fail(400, error_body("you must provide a model parameter", "invalid_request_error"))

        if model.startswith("oa-error-"):
            try:
                status = int(model[len("oa-error-"):])
            except ValueError:
                status = 400
            err = ERRORS.get(status, {"message": f"mock error {status}", "type": "server_error", "param": None,
                                      "code": None})
            extra = {"retry-after": RETRY_AFTER_429, "x-ratelimit-limit-tokens": "30000",
                     "x-ratelimit-remaining-tokens": "500", "x-ratelimit-reset-tokens": "23s"} if status == 429 else None
            return await fail(status, {"error": dict(err)}, extra)

        try:
            validate(body)
        except Invalid as e:
            entry["invalid"] = str(e)
            return await fail(400, error_body(str(e), "invalid_request_error", e.param))

        plan = plan_for(model, body, seq)
        entry["scenario"] = plan.scenario
        completion_id = f"chatcmpl-mock{seq:04d}{secrets.token_hex(8)}"
        created = int(time.time())
        message = assemble(plan.deltas)
        resp["message"] = message
        resp["finish_reason"] = plan.finish_reason
        resp["usage"] = plan.usage()
        resp["id"] = completion_id
        if not entry["stream"]:
            return await self.answer_json(writer, plan, body, message, completion_id, created, resp, keep, request_id)
        include_usage = isinstance(body.get("stream_options"), dict) and body["stream_options"].get("include_usage") is True
        return await self.stream(writer, plan, completion_id, created, model, include_usage, resp, keep, request_id)

    # -- writing --------------------------------------------------------------------------------

    def head(self, status: int, headers: dict[str, str], keep: bool) -> bytes:
        lines = [f"HTTP/1.1 {status} {reason(status)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines.append(f"connection: {'keep-alive' if keep else 'close'}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def common_headers(self, request_id: str | None) -> dict[str, str]:
        headers = {"date": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())}
        if request_id:
            headers["x-request-id"] = request_id
            headers["openai-organization"] = "org-mock"
            headers["openai-processing-ms"] = "12"
            headers["openai-version"] = "2020-10-01"
        return headers

    async def send_json(self, writer: asyncio.StreamWriter, status: int, obj: Any, keep: bool,
                        request_id: str | None = None, extra: dict[str, str] | None = None) -> None:
        data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
        headers = self.common_headers(request_id)
        headers["content-type"] = "application/json"
        headers["content-length"] = str(len(data))
        headers.update(extra or {})
        writer.write(self.head(status, headers, keep) + data)
        await writer.drain()

    async def answer_json(self, writer: asyncio.StreamWriter, plan: Plan, body: dict[str, Any],
                          message: dict[str, Any], completion_id: str, created: int, resp: dict[str, Any],
                          keep: bool, request_id: str) -> bool:
        completion = {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": body["model"],
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": plan.finish_reason}],
            "usage": plan.usage(),
            "service_tier": "default",
            "system_fingerprint": "fp_mock",
        }
        resp["status"] = 200
        resp["completion"] = completion
        if plan.cut_after is not None:
            # Half the body, then the connection dies.
            data = json.dumps(completion).encode()
            headers = self.common_headers(request_id)
            headers.update({"content-type": "application/json", "content-length": str(len(data))})
            writer.write(self.head(200, headers, keep) + data[: len(data) // 2])
            await writer.drain()
            resp["cut"] = True
            writer.transport.abort()
            return False
        if plan.garbage_after is not None:
            data = b"{this is not json at all"
            headers = self.common_headers(request_id)
            headers.update({"content-type": "application/json", "content-length": str(len(data))})
            writer.write(self.head(200, headers, keep) + data)
            await writer.drain()
            resp["garbage"] = True
            resp["completed"] = True
            return keep
        await self.send_json(writer, 200, completion, keep, request_id)
        resp["completed"] = True
        return keep

    async def stream(self, writer: asyncio.StreamWriter, plan: Plan, completion_id: str, created: int, model: str,
                     include_usage: bool, resp: dict[str, Any], keep: bool, request_id: str) -> bool:
        resp["status"] = 200
        headers = self.common_headers(request_id)
        headers.update({"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache",
                        "transfer-encoding": "chunked"})
        writer.write(self.head(200, headers, keep))
        await writer.drain()

        async def write(payload: bytes, split_at: str | None = None) -> None:
            pieces = [payload]
            if split_at is not None:
                at = payload.find(split_at.encode())
                if at >= 0:
                    pieces = [payload[:at + 2], payload[at + 2:]]  # inside the character's UTF-8 bytes
            for piece in pieces:
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                await writer.drain()
                if self.pause:
                    await asyncio.sleep(self.pause)

        def chunk(choices: list[dict[str, Any]], usage: Any = None, with_usage_member: bool = include_usage) -> dict[str, Any]:
            c: dict[str, Any] = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                                 "model": model, "system_fingerprint": "fp_mock", "service_tier": "default",
                                 "choices": choices}
            if with_usage_member:
                c["usage"] = usage
            return c

        async def emit(data: dict[str, Any], split: str | None = None) -> None:
            resp["chunks"].append(data)
            encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            await write(f"data: {encoded}\n\n".encode(), split)

        for n, delta in enumerate(plan.deltas, start=1):
            split = plan.split_containing if plan.split_containing and plan.split_containing in json.dumps(
                delta, ensure_ascii=False) else None
            await emit(chunk([{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}]), split)
            if plan.cut_after is not None and n == plan.cut_after:
                resp["cut"] = True
                writer.transport.abort()
                return False
            if plan.garbage_after is not None and n == plan.garbage_after:
                resp["chunks"].append(GARBAGE_LINE)
                resp["garbage"] = True
                await write(GARBAGE_LINE.encode())
        await emit(chunk([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": plan.finish_reason}]))
        if include_usage and plan.usage() is not None:
            await emit(chunk([], plan.usage()))
        resp["chunks"].append("[DONE]")
        await write(b"data: [DONE]\n\n")
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        resp["completed"] = True
        return keep


# ---------------------------------------------------------------------------------------------


async def main_async(args: argparse.Namespace) -> None:
    mock = Mock(args.require_key, args.pause_ms / 1000.0)
    await serve(mock.handle, args.host, args.port, args.port_file, "mock openai")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--require-key", help="answer 401 unless Authorization is 'Bearer KEY'")
    p.add_argument("--pause-ms", type=float, default=5.0, help="pause after each SSE write")
    asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
