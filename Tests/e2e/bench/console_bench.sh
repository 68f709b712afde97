#!/usr/bin/env bash
# Console figures for BENCHMARKS.md (issue 6): time to first screen, idle CPU with a 2 s
# refresh, RSS, and the refresh cost at 10,000 partitions / 1,000 groups (synthetic source,
# BENCHMARK ONLY). Not run by CI (it takes minutes); run by hand:
#   swift build -c release --product samsa && bash Tests/e2e/bench/console_bench.sh
# The cluster is a real Samsa broker under load (`samsa demo --no-console`: 3 topics, a
# producer at 40 msg/s, two consumer groups).
set -uo pipefail
cd "$(dirname "$0")/../../.."
BIN=${SAMSA_BIN:-$PWD/.build/release/samsa}
IDLE_SECONDS=${IDLE_SECONDS:-60}
WORK=$(mktemp -d /tmp/samsa-console-bench.XXXXXX)
TMUX_CMD="tmux -L samsa-console-bench-$$"
PORT=$(( 30000 + RANDOM % 20000 ))
cleanup() { $TMUX_CMD kill-server 2>/dev/null; [ -n "${LOAD:-}" ] && kill "$LOAD" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r)"
"$BIN" demo --no-console --port "$PORT" --dir "$WORK/demo" >"$WORK/demo.log" 2>&1 &
LOAD=$!
for _ in $(seq 1 300); do grep -q "Running until Ctrl-C" "$WORK/demo.log" && break; sleep 0.1; done
sleep 5

t0=$(date +%s.%N)
$TMUX_CMD new-session -d -s b -x 80 -y 24 "SAMSA_LOG_DIR=$WORK $BIN console --bootstrap-server 127.0.0.1:$PORT --refresh 2"
first=""; data=""
for _ in $(seq 1 1000); do
  s=$($TMUX_CMD capture-pane -t b -p 2>/dev/null)
  [ -z "$first" ] && echo "$s" | grep -q "samsa console" && first=$(date +%s.%N)
  if echo "$s" | grep -q "demo.orders"; then data=$(date +%s.%N); break; fi
  sleep 0.01
done
printf 'time to first frame: %.0f ms; to first screen with cluster data: %.0f ms\n' \
  "$(echo "($first - $t0) * 1000" | bc)" "$(echo "($data - $t0) * 1000" | bc)"
PID=$(pgrep -f "^$BIN console --bootstrap-server 127.0.0.1:$PORT" | head -1)
echo "console pid $PID: $(tr "\\0" " " < /proc/$PID/cmdline)"
sleep 10
c0=$(cpu_ticks "$PID"); w0=$(date +%s.%N)
sleep "$IDLE_SECONDS"
c1=$(cpu_ticks "$PID"); w1=$(date +%s.%N)
printf 'idle CPU (refresh 2 s, %ss, no keys): %.2f%% of one core (%d ticks)\n' "$IDLE_SECONDS" \
  "$(echo "($c1 - $c0) / $hz / ($w1 - $w0) * 100" | bc -l)" "$(( c1 - c0 ))"
grep -E 'VmRSS|VmHWM' "/proc/$PID/status" | tr -s ' \t' ' '
$TMUX_CMD send-keys -t b q
sleep 1
echo "synthetic (BENCHMARK ONLY, not a real cluster):"
"$BIN" console --bootstrap-server unused:1 --benchmark-synthetic 10000:1000 --samples 10
