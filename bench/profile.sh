#!/usr/bin/env bash
# Profile the gateway on one wrk lane: the static mock upstream and wrk on CPU 1, the gateway alone on CPU 0,
# with a fresh SQLite file and a key with limits on. Prints wrk's summary and the gateway's CPU µs per request;
# with `perf`, records a call-graph profile of the middle of the run (software clock: no PMU in most VMs).
#
#   bench/profile.sh [json|sse|large|oai] [CONNS] [SECONDS] [perf|strace|none] [BINARY]
#   perf report -i bench/run/profile.perf.data --children --sort symbol
set -euo pipefail
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KIND=${1:-json} CONNS=${2:-64} SECONDS_=${3:-20} MODE=${4:-none} BIN=${5:-$BENCH/../.build/release/switchyard}
RUN="$BENCH/run"; FIX="$BENCH/mock/fixtures"
mkdir -p "$RUN/nginx-mock-tmp"
[[ -s "$RUN/nginx-mock.conf" ]] || { echo "run bench/run.sh once first (it renders $RUN/nginx-mock.conf)"; exit 1; }
rm -f "$RUN"/profile.db*
sed "s#sqlite:/tmp/switchyard-bench.db#sqlite:$RUN/profile.db#" "$BENCH/switchyard.bench.yaml" > "$RUN/profile.yaml"
KEY=$("$BIN" keys create --name profile --credits 1000000 --rpm 1000000000 --tpm 1000000000000 --json \
      --config "$RUN/profile.yaml" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
case $KIND in
  json) MODEL=bench-json STREAM=false BODY=$FIX/request-anthropic.json ;;
  sse) MODEL=bench-sse STREAM=true BODY=$FIX/request-anthropic.json ;;
  large) MODEL=bench-json STREAM=false BODY=$FIX/request-anthropic-large.json ;;
  oai) MODEL=bench-oai-json STREAM=false BODY=$FIX/request-anthropic.json ;;
  *) echo "unknown lane $KIND"; exit 2 ;;
esac
setsid taskset -c 1 nginx -c "$RUN/nginx-mock.conf" -p "$RUN" > /dev/null 2>&1 < /dev/null &
MOCK=$!
setsid taskset -c 0 "$BIN" serve --threads 1 --config "$RUN/profile.yaml" > "$RUN/profile-gateway.log" 2>&1 < /dev/null &
GW=$!
trap 'kill -TERM -- "-$GW" "-$MOCK" 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:8080/health/live && break; sleep 0.1; done
load() {  # load CONNS SECONDS OUT
  BENCH_BODY_FILE=$BODY BENCH_MODEL=$MODEL BENCH_STREAM=$STREAM BENCH_KEY=$KEY BENCH_OUT=$3 \
    taskset -c 1 wrk -t1 -c"$1" -d"$2"s -s "$BENCH/lib/post.lua" http://127.0.0.1:8080/v1/messages > /dev/null
}
load 16 2 "$RUN/profile-warmup.json"
cpu() { awk '{print $14 + $15}' "/proc/$GW/stat"; }
T0=$(cpu)
load "$CONNS" "$SECONDS_" "$RUN/profile-wrk.json" &
WRK=$!
WINDOW=$((SECONDS_ > 8 ? SECONDS_ - 6 : 2))
case $MODE in
  perf) sleep 3; perf record -e cpu-clock -F 2000 -g -p "$GW" -o "$RUN/profile.perf.data" -- sleep "$WINDOW" > /dev/null 2>&1 ;;
  strace) sleep 3; timeout "$WINDOW" strace -c -f -p "$GW" -o "$RUN/profile.strace.txt" || true ;;
esac
wait "$WRK"
T1=$(cpu)
python3 - "$RUN/profile-wrk.json" "$T0" "$T1" <<'PY'
import json, sys
w = json.load(open(sys.argv[1])); cpu = (float(sys.argv[3]) - float(sys.argv[2])) / 100
print(f"{w['requests']} requests, {w['rps']:.0f} req/s, p50 {w['p50_ms']} ms; gateway CPU {cpu:.2f} s = "
      f"{cpu / w['requests'] * 1e6:.1f} µs/request")
PY
echo "gateway RSS $(awk '/VmRSS/ {print $2}' "/proc/$GW/status") kB"
