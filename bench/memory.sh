#!/usr/bin/env bash
# Memory of a gateway across repeated load: its idle RSS after start-up, its RSS after each of N runs of the
# quick suite against the same process, and the growth from the first run to the last.
#
#   bench/memory.sh [--runs N] 'START COMMAND' URL KEY
#   bench/memory.sh '.build/release/switchyard serve --threads 1 --config bench/switchyard.bench.yaml' \
#       http://127.0.0.1:8080 "$KEY"
#
# The gateway is started pinned to CPU 0 (like run.sh --start), in its own process group, and stopped at the end.
# Results go to bench/results/memory-<timestamp>.json and are printed.
set -euo pipefail
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RUNS=2
if [[ "${1:-}" == --runs ]]; then RUNS=$2; shift 2; fi
[[ $# -eq 3 ]] || { sed -n '2,9p' "$0"; exit 2; }
START=$1 URL=$2 KEY=$3
PORT=${URL##*:}; PORT=${PORT%%/*}
OUT="$BENCH/results/memory-$(date +%Y%m%d-%H%M%S).json"
mkdir -p "$BENCH/results" "$BENCH/run"

rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

# shellcheck disable=SC2086
setsid taskset -c 0 $START > "$BENCH/run/memory-target.log" 2>&1 < /dev/null &
PID=$!
trap 'kill -TERM -- "-$PID" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  if curl -s -o /dev/null "$URL/health/live"; then break; fi
  kill -0 "$PID" 2>/dev/null || { echo "gateway exited; see $BENCH/run/memory-target.log"; exit 1; }
  sleep 0.1
done
sleep 2
IDLE=$(rss_mb "$PID")
echo "idle RSS: $IDLE MB"
AFTER=()
for i in $(seq "$RUNS"); do
  "$BENCH/run.sh" --quick "$URL" "$KEY" > "$BENCH/run/memory-run$i.log" 2>&1 || { echo "run $i failed; see $BENCH/run/memory-run$i.log"; exit 1; }
  sleep 2
  AFTER+=("$(rss_mb "$PID")")
  echo "RSS after run $i: ${AFTER[-1]} MB"
done
GROWTH=$(python3 -c "a=[float(x) for x in '${AFTER[*]}'.split()]; print(f'{(a[-1]-a[0])/a[0]*100:.1f}')")
echo "growth from run 1 to run $RUNS: $GROWTH %"
printf '{"idle_rss_mb": %s, "rss_after_runs_mb": [%s], "growth_pct": %s}\n' "$IDLE" "$(IFS=,; echo "${AFTER[*]}")" "$GROWTH" | tee "$OUT"
