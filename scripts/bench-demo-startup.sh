#!/usr/bin/env bash
# Start-up time of `samsa demo` (issue 13): from exec to the "Ready in" line (nodes formatted
# and started, brokers registered, demo topics created, load running), measured by the demo
# itself and by this script's clock, then Ctrl-C and the time until the demo has exited.
#
#   scripts/bench-demo-startup.sh [RUNS] [BROKERS]     (defaults: 5 runs, 3 brokers)
#
# Uses --no-console (the console opens right after "Ready"); each run gets a fresh --dir.
set -uo pipefail
cd "$(dirname "$0")/.."
SAMSA_BIN=${SAMSA_BIN:-$PWD/.build/debug/samsa}
RUNS=${1:-5}
BROKERS=${2:-3}
WORK=$(mktemp -d /tmp/samsa-demo-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
now_ms() { date +%s%3N; }
echo "samsa demo --brokers $BROKERS --no-console: $RUNS runs ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
for i in $(seq 1 "$RUNS"); do
  out=$WORK/run$i.out
  t0=$(now_ms)
  "$SAMSA_BIN" demo --brokers "$BROKERS" --no-console --rate 20 --dir "$WORK/d$i" >"$out" 2>&1 &
  pid=$!
  ready=""
  for _ in $(seq 1 1200); do
    grep -q "Ready in" "$out" && { ready=$(now_ms); break; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$ready" ]; then echo "run $i: no Ready line"; cat "$out"; kill -9 "$pid" 2>/dev/null; exit 1; fi
  t1=$(now_ms)
  kill -INT "$pid"
  wait "$pid"
  t2=$(now_ms)
  echo "run $i: ready $(( ready - t0 )) ms (demo says $(grep -o 'Ready in [0-9.]* s' "$out" | cut -d' ' -f3) s), quit $(( t2 - t1 )) ms"
done
