#!/usr/bin/env bash
# Console figures on a replicated cluster for BENCHMARKS.md (issue 13 item 8). Not run by CI
# (minutes); by hand:
#   swift build -c release --product samsa && bash Tests/e2e/bench/console_cluster_bench.sh
#
#   1. `samsa demo --brokers 3` (its console in tmux window "demo", --refresh 1) plus
#      TOPICS x PARTITIONS more partitions at replication factor 3 (default 10 x 100).
#   2. A separate `samsa console --refresh 2` (window "watch"), left alone for IDLE_SECONDS:
#      its CPU (utime + stime from /proc) and VmRSS / VmHWM.
#   3. Kill-to-screen: in the demo's console, `K` then `y` on broker 2 (kill -9). Three times
#      are taken: the key press; when Metadata no longer names broker 2 leader of any partition
#      (kcat -L polled every 100 ms: the controller has moved them); when the console's Brokers
#      pane shows brokers 1 and 3 leading every partition (their LEADS add up to the total;
#      capture-pane polled every 50 ms).
#      The goal: on screen within one refresh (1 s) after the controller has moved them.
set -uo pipefail
cd "$(dirname "$0")/../../.."
BIN=${SAMSA_BIN:-$PWD/.build/release/samsa}
KCAT=${KCAT:-kcat}
TOPICS=${TOPICS:-10}
PARTITIONS=${PARTITIONS:-100}
IDLE_SECONDS=${IDLE_SECONDS:-60}
WORK=$(mktemp -d /tmp/samsa-console-cluster-bench.XXXXXX)
TMUX_CMD="tmux -L samsa-ccb-$$"
cleanup() {
  $TMUX_CMD kill-server 2>/dev/null
  local pids; pids=$(pgrep -f "broker --config $WORK/demo/cluster/" 2>/dev/null)
  [ -n "$pids" ] && kill -9 $pids 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
now() { date +%s.%N; }
ms() { printf '%.0f' "$(echo "($2 - $1) * 1000" | bc)"; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r); binary $BIN"
$TMUX_CMD new-session -d -s b -n demo -x 160 -y 45 \
  "cd $WORK && SAMSA_LOG_DIR=$WORK $BIN demo --brokers 3 --dir $WORK/demo --rate 20 --refresh 1; sleep 600"
for _ in $(seq 1 900); do $TMUX_CMD capture-pane -t b:demo -p | grep -q "demo.orders" && break; sleep 0.2; done
P1=$(sed -n 's/^advertised.listeners=PLAINTEXT:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/demo/cluster/broker-1/server.properties")
[ -n "$P1" ] || { echo "the demo did not come up"; exit 1; }
BOOT=127.0.0.1:$P1
count() { "$KCAT" -b "$BOOT" -L 2>/dev/null | grep -c "partition [0-9]*, leader"; }
BASE=$(count)
t0=$(now)
for i in $(seq 1 "$TOPICS"); do
  "$BIN" topic create "bench.t$i" --partitions "$PARTITIONS" --replication-factor 3 --bootstrap-server "$BOOT" >/dev/null \
    || { echo "creating bench.t$i failed"; exit 1; }
done
TOTAL=$((BASE + TOPICS * PARTITIONS))
for _ in $(seq 1 120); do [ "$(count)" -eq "$TOTAL" ] && break; sleep 0.5; done
echo "created $TOPICS x $PARTITIONS partitions at RF 3 in $(ms "$t0" "$(now)") ms; the cluster has $TOTAL partitions"

# 2. Idle console CPU and memory.
$TMUX_CMD new-window -t b -n watch "SAMSA_LOG_DIR=$WORK $BIN console --bootstrap-server $BOOT --refresh 2; sleep 600"
for _ in $(seq 1 300); do $TMUX_CMD capture-pane -t b:watch -p | grep -q "bench.t1" && break; sleep 0.1; done
PID=$(pgrep -f "^$BIN console --bootstrap-server $BOOT --refresh 2" | head -1)
sleep 10
c0=$(cpu_ticks "$PID"); w0=$(now)
sleep "$IDLE_SECONDS"
c1=$(cpu_ticks "$PID"); w1=$(now)
echo "idle console ($TOTAL partitions, RF 3, --refresh 2, ${IDLE_SECONDS}s): $((c1 - c0)) ticks of $hz Hz = $(echo "scale=2; 100 * ($c1 - $c0) / $hz / ($w1 - $w0)" | bc) % of one core"
grep -E "VmRSS|VmHWM" "/proc/$PID/status" | tr -s ' \t' ' ' | sed 's/^/  /'

# 3. Kill broker 2 from the demo's console; time the controller and the screen.
$TMUX_CMD select-window -t b:demo
$TMUX_CMD send-keys -t b:demo 1; sleep 0.5
$TMUX_CMD send-keys -t b:demo / ; sleep 0.3; $TMUX_CMD send-keys -t b:demo -l '^2 '; $TMUX_CMD send-keys -t b:demo Enter; sleep 0.5
$TMUX_CMD send-keys -t b:demo K; sleep 0.5
$TMUX_CMD capture-pane -t b:demo -p | grep -q "kill -9 broker 2?" || { echo "no kill confirmation on screen"; $TMUX_CMD capture-pane -t b:demo -p; exit 1; }
LED_BEFORE=$("$KCAT" -b "$BOOT" -L 2>/dev/null | grep -c "leader 2,")
tk=$(now)
$TMUX_CMD send-keys -t b:demo y
# Every broker in the pane again (the filter selected broker 2).
$TMUX_CMD send-keys -t b:demo / ; $TMUX_CMD send-keys -t b:demo C-u; $TMUX_CMD send-keys -t b:demo Enter
tc=""; ts=""
( while :; do
    n=$("$KCAT" -b "$BOOT" -L -m 2 2>/dev/null | grep -c "leader 2,"); [ "$n" = "0" ] && { now > "$WORK/tc"; break; }
    sleep 0.1
  done ) &
POLL=$!
for _ in $(seq 1 1200); do
  # The Brokers pane's LEADS of the brokers up add up to every partition: leaders moved.
  led=$($TMUX_CMD capture-pane -t b:demo -p | grep -E "^│ *[13] " | grep -oE " up +[0-9]+ +[0-9]+ +[0-9]+" | awk '{ s += $2 } END { print s + 0 }')
  if [ "$led" -eq "$TOTAL" ]; then ts=$(now); break; fi
  sleep 0.05
done
wait "$POLL" 2>/dev/null
tc=$(cat "$WORK/tc" 2>/dev/null)
echo "broker 2 led $LED_BEFORE partitions before the kill"
[ -n "$tc" ] && echo "key press -> Metadata names new leaders for all of them (controller, kcat -L): $(ms "$tk" "$tc") ms"
[ -n "$ts" ] && echo "key press -> the console's Brokers pane shows brokers 1 and 3 leading all $TOTAL partitions: $(ms "$tk" "$ts") ms"
[ -n "$tc" ] && [ -n "$ts" ] && echo "controller -> screen: $(ms "$tc" "$ts") ms (refresh 1 s)"
$TMUX_CMD capture-pane -t b:demo -p | sed -n '1,10p'
