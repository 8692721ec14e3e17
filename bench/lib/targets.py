#!/usr/bin/env python3
"""Score bench/run.sh --compare --extended results against the gateway's performance targets (issue 6).

  targets.py RESULTS_DIR [RESULTS_DIR ...] [--memory MEMORY_JSON] [--md]

Every figure is a ratio or difference within one run (the machine's speed drifts between runs); the verdict
uses the median over the runs given. MEMORY_JSON is what bench/memory.sh writes (idle RSS, growth).
"""
import json, statistics, sys, os

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import load_dir  # noqa: E402

# name, unit, better ("low" or "high"), must, stretch
TARGETS = [
    ("JSON c=1: added p50 over nginx's", "ms", "low", 0.30, 0.08),
    ("JSON c=64: throughput / nginx", "x", "high", 0.25, 0.50),
    ("JSON c=64: throughput / LiteLLM", "x", "high", 200, 400),
    ("static SSE c=64: throughput / nginx", "x", "high", 0.25, 0.50),
    ("66 KB bodies c=16: throughput / nginx", "x", "high", 0.25, 0.50),
    ("1,000 paced streams: TTFT p50 over nginx's", "ms", "low", 20, 2),
    ("1,000 paced streams: unfinished minus nginx's", "streams", "low", 0, 0),
    ("1,000 paced streams: gateway peak RSS", "MB", "low", 150, 60),
    ("translation c=1: added p50 over direct", "ms", "low", 1.0, 0.3),
    ("idle RSS", "MB", "low", 40, 25),
    ("RSS growth over repeated runs", "%", "low", 10, 2),
]


def figures(d):
    _, wrk, streams, _ = load_dir(d)
    w = lambda t, k, c: wrk.get((t, k, c), (None,))[0]
    s = lambda t, k, n: streams.get((t, k, n), (None, None))

    def ratio(kind, c, ref):
        a, b = w("target", kind, c), w(ref, kind, c)
        return a["rps"] / b["rps"] if a and b and b["rps"] else None

    out = {}
    a, b = w("target", "json", 1), w("nginx", "json", 1)
    out[TARGETS[0][0]] = a["p50_ms"] - b["p50_ms"] if a and b else None
    out[TARGETS[1][0]] = ratio("json", 64, "nginx")
    out[TARGETS[2][0]] = ratio("json", 64, "litellm")
    out[TARGETS[3][0]] = ratio("sse", 64, "nginx")
    out[TARGETS[4][0]] = ratio("large", 16, "nginx")
    (ts, tmon), (ns, _) = s("target", "slow", 1000), s("nginx", "slow", 1000)
    if ts and ns:
        out[TARGETS[5][0]] = ts["ttft_p50_ms"] - ns["ttft_p50_ms"]
        out[TARGETS[6][0]] = ts["streams_err"] - ns["streams_err"]
        out[TARGETS[7][0]] = ((tmon or {}).get("groups") or {}).get("target", {}).get("rss_peak_mb")
    a, b = w("target", "oai-json", 1), w("direct", "oai-json", 1)
    out[TARGETS[8][0]] = a["p50_ms"] - b["p50_ms"] if a and b else None
    return out


def verdict(value, better, must, stretch):
    if value is None:
        return "not measured"
    ok = (lambda limit: value <= limit) if better == "low" else (lambda limit: value >= limit)
    return "stretch met" if ok(stretch) else "must met" if ok(must) else "MISSED"


def main():
    args = sys.argv[1:]
    md = "--md" in args
    memory = None
    if "--memory" in args:
        memory = json.load(open(args[args.index("--memory") + 1]))
    dirs = [a for a in args if not a.startswith("--") and (memory is None or a != args[args.index("--memory") + 1])]
    runs = [figures(d) for d in dirs]
    # bench/memory.sh is one separate measurement: shown in the median column only.
    separate = {TARGETS[9][0]: memory["idle_rss_mb"], TARGETS[10][0]: memory["growth_pct"]} if memory else {}
    head = ["target", "unit"] + [f"run {i + 1}" for i in range(len(runs))] + ["median", "must", "stretch", "verdict"]
    rows = []
    for name, unit, better, must, stretch in TARGETS:
        values = [r.get(name) for r in runs]
        known = [v for v in values if v is not None]
        median = statistics.median(known) if known else separate.get(name)
        fmt = lambda v: "-" if v is None else (f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3f}" if abs(v) < 1 else f"{v:.1f}")
        sign = "≤" if better == "low" else "≥"
        rows.append([name, unit] + [fmt(v) for v in values] + [fmt(median), f"{sign} {must}", f"{sign} {stretch}",
                                                             verdict(median, better, must, stretch)])
    if md:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
        for r in [head] + rows:
            print("  ".join(str(c).ljust(widths[i]) for i, c in enumerate(r)))


if __name__ == "__main__":
    main()
