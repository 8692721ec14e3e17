#!/usr/bin/env python3
"""Writes text-samples.json: short texts of the kinds an agent's context holds, each with its token count under
cl100k_base and DeepSeek V4 (see count_prompt_tokens.py for the tokenizers). The texts are generated from a fixed
seed, or cut from the Claude Code request fixture and this repository's sources, so the file can be rebuilt.

Usage (from the Fixtures folder): calibration/make_text_samples.py REPO_ROOT > calibration/text-samples.json
"""
import base64
import json
import random
import sys
import uuid

from count_prompt_tokens import counters

root = sys.argv[1]
rng = random.Random(7)


def rb(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


claude = json.load(open("requests/claude-code-sonnet-oneshot.anthropic.json", encoding="utf-8"))
samples = {
    "english-system-prompt": claude["system"][2]["text"][:6000],
    "tool-schemas-json": json.dumps([t["input_schema"] for t in claude["tools"]], separators=(",", ":"))[:6000],
    "swift-source": open(f"{root}/Sources/SwitchyardMessages/JSONParser.swift", encoding="utf-8").read()[:6000],
    "python-source": open("calibration/count_prompt_tokens.py", encoding="utf-8").read(),
    "base64": base64.b64encode(rb(2400)).decode(),
    "hex": rb(1500).hex(),
    "uuids": " ".join(str(uuid.UUID(bytes=rb(16), version=4)) for _ in range(60)),
    "digits": " ".join(str(rng.randint(0, 10**9)) for _ in range(300)),
    "lockfile": "\n".join(
        f'    "integrity": "sha512-{base64.b64encode(rb(64)).decode()}",\n'
        f'    "resolved": "https://registry.npmjs.org/pkg-{i}/-/pkg-{i}-1.2.{i}.tgz"' for i in range(20)),
    "ls-output": "\n".join(
        f"-rw-r--r--  1 root root {rng.randint(100, 99999):6} Nov 24 19:{rng.randint(10, 59)} file_{i}.swift" for i in range(60)),
    "minified-js": "function(a,b){return a.x+b.y}var q=[1,2,3];if(q.length>2){q.push(\"zz\")}" * 30,
    "chinese": "我们今天讨论一下这个问题的解决方案，请你仔细阅读下面的代码并指出其中的错误。这是一个关于并发编程的例子。" * 15,
    "japanese": "東京都の天気は晴れです。明日は雨が降るかもしれません。プログラミングは楽しいですね。" * 15,
    "russian": "Привет, как дела? Это пример текста на русском языке для проверки токенизатора." * 15,
    "emoji": "🚀🎉😀🤖🧠🔥✨👍" * 40,
}
count = counters()
result = {name: {"text": text, **{label: fn(text) for label, fn in count.items()}} for name, text in samples.items()}
json.dump(result, sys.stdout, indent=1, ensure_ascii=False, sort_keys=True)
sys.stdout.write("\n")
