#!/usr/bin/env bash
# End-to-end test of `samsa console` and `samsa demo`, driven like a person would: the
# console runs in an 80x24 tmux pane, keys are sent with `send-keys`, the screen is read
# with `capture-pane`, and every action is checked against the cluster's real state with
# kcat (librdkafka) and confluent-kafka, not with our own client.
#
#   A. console against Tansu (and against $SAMSA_BOOTSTRAP when CI runs a Samsa broker):
#      create a topic in the dialog, produce test messages, tail them, drill into a lagging
#      group (load from `samsa demo --bootstrap-server ... --no-console`), delete the topic.
#   B. `samsa demo` (local Samsa broker owned by the console): demo topics and groups show,
#      create a topic, restart the broker from the Brokers pane, quit, nothing left behind.
#   C. `samsa demo` whose terminal hangs up (SSH drop): the broker is stopped all the same.
#
# Env (set by .ci/run; defaults for local runs): SAMSA_BIN, KCAT216, PEERS_PY,
# TANSU_BOOTSTRAP (else Tansu is started here), SAMSA_BOOTSTRAP (optional), SAMSA_SHARED.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SAMSA_BIN=${SAMSA_BIN:-$ROOT/.build/debug/samsa}
KCAT=${KCAT216:-/opt/peers/bin/kcat216}
PY=${PEERS_PY:-/opt/peers-venv/bin/python}
SHARED=${SAMSA_SHARED:-$ROOT/../shared}
WORK=$(mktemp -d /tmp/samsa-console-e2e.XXXXXX)
SESSION=samsa-e2e-$$
# A private tmux server: other users of the default socket cannot disturb (or kill) it.
TMUX_CMD="tmux -L samsa-console-e2e-$$"
PIDS=()
FAILS=0

cleanup() {
  $TMUX_CMD kill-session -t "$SESSION" 2>/dev/null
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 1
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  $TMUX_CMD kill-server 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "[console-e2e] $*"; }
fail() { log "FAIL: $*"; FAILS=$((FAILS + 1)); screen | sed 's/^/    | /'; }
pass() { log "ok: $*"; }
screen() { $TMUX_CMD capture-pane -t "$SESSION" -p 2>/dev/null; }
keys() { $TMUX_CMD send-keys -t "$SESSION" "$@"; sleep 0.3; }
text() { $TMUX_CMD send-keys -t "$SESSION" -l "$1"; sleep 0.3; }
# wait_for TEXT [SECONDS]: until the screen contains TEXT.
wait_for() {
  local deadline=$(( $(date +%s) + ${2:-15} ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    screen | grep -qF -- "$1" && return 0
    sleep 0.3
  done
  return 1
}
expect() { if wait_for "$1" "${2:-15}"; then pass "screen shows '$1'"; else fail "screen never showed '$1'"; fi; }
start_console() {  # start_console CMD...: runs CMD in a fresh 80x24 tmux session
  $TMUX_CMD kill-session -t "$SESSION" 2>/dev/null
  $TMUX_CMD new-session -d -s "$SESSION" -x 80 -y 24 "cd $WORK && SAMSA_LOG_DIR=$WORK $* ; echo CONSOLE-EXITED rc=\$?; sleep 600"
}
kcat_has_topic() { "$KCAT" -b "$1" -L -t "$2" 2>/dev/null | grep -q "topic \"$2\" with $3 partitions"; }
kcat_count() { "$KCAT" -b "$1" -C -t "$2" -e -q -f 'x\n' 2>/dev/null | wc -l; }

[ -x "$SAMSA_BIN" ] || { log "no samsa binary at $SAMSA_BIN (swift build first)"; exit 1; }
command -v tmux >/dev/null || { log "tmux is required"; exit 1; }

TARGETS=()
if [ -z "${TANSU_BOOTSTRAP:-}" ]; then
  TPORT=$(( 20000 + RANDOM % 20000 ))
  TPID=$("$SHARED/peers/start_tansu.sh" "$TPORT") || { log "cannot start Tansu"; exit 1; }
  PIDS+=("$TPID")
  TANSU_BOOTSTRAP=127.0.0.1:$TPORT
fi
TARGETS+=("tansu=$TANSU_BOOTSTRAP")
[ -n "${SAMSA_BOOTSTRAP:-}" ] && TARGETS+=("samsa=$SAMSA_BOOTSTRAP")

# --- A. console against an existing cluster --------------------------------------------
for target in "${TARGETS[@]}"; do
  name=${target%%=*}; B=${target#*=}
  log "== A. console against $name ($B)"
  TOPIC=e2e-console-$name-$$
  start_console "$SAMSA_BIN console --bootstrap-server $B --refresh 1"
  expect "Topics [" 20
  expect "brokers 1/1" 10

  # Create a topic through the dialog (3 partitions, RF 1).
  keys c; expect "Create topic" 5
  text "$TOPIC"; keys Tab BSpace; text 3; keys Tab BSpace; text 1; keys Enter Enter
  expect "created topic $TOPIC (3 partitions, RF 1)" 15
  sleep 1
  if kcat_has_topic "$B" "$TOPIC" 3; then pass "kcat sees $TOPIC with 3 partitions"; else fail "kcat does not see $TOPIC with 3 partitions"; fi

  # Select it with the filter, produce 50 test messages.
  keys /; text "$TOPIC"; keys Enter
  expect "Topics [1] /$TOPIC" 5
  keys p; expect "Produce to $TOPIC" 5
  keys BSpace BSpace BSpace; text 50; keys Enter Enter Enter Enter
  expect "produced 50 messages to $TOPIC" 20
  n=$(kcat_count "$B" "$TOPIC")
  if [ "$n" -eq 50 ]; then pass "kcat reads 50 messages from $TOPIC"; else fail "kcat reads $n messages from $TOPIC, expected 50"; fi

  # Tail them in the Messages pane; open one.
  keys m; expect "Messages of $TOPIC" 5; expect "key-" 15
  keys Enter; expect '"pad"' 5; keys Escape Escape

  # Load with a lagging group, then drill into it.
  "$SAMSA_BIN" demo --bootstrap-server "$B" --no-console --rate 20 --dir "$WORK/load-$name" >"$WORK/load-$name.log" 2>&1 &
  LOADPID=$!; PIDS+=("$LOADPID")
  keys Escape; keys 3
  expect "demo-billing" 60
  keys /; text demo-billing; keys Enter Enter
  expect "Group demo-billing" 10
  expect "demo.orders" 20
  # The cluster's own view of the group (confluent-kafka): committed offsets and lag exist
  # (auto-commit runs every second, so allow the first commits some time).
  committed_ok=0
  for _ in $(seq 1 15); do
    if "$PY" - "$B" <<'PYEOF'
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "demo-billing", "enable.auto.commit": False})
tps = [TopicPartition("demo.orders", p) for p in range(6)]
committed = c.committed(tps, timeout=10)
lag = 0
for tp in committed:
    lo, hi = c.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=10)
    if tp.offset >= 0:
        lag += max(0, hi - tp.offset)
n = sum(1 for tp in committed if tp.offset >= 0)
print(f"demo-billing: {n} committed partitions, lag {lag}")
sys.exit(0 if n > 0 else 1)
PYEOF
    then committed_ok=1; break; fi
    sleep 2
  done
  if [ "$committed_ok" = 1 ]; then pass "confluent-kafka sees committed offsets of demo-billing"; else fail "confluent-kafka sees no committed offsets for demo-billing"; fi
  expect "WARN" 60   # the lagging group's verdict, computed from the commits the console saw
  keys Escape Escape

  # Headless: --once --output json reports the same cluster (topic, partitions, the group).
  if "$SAMSA_BIN" console --bootstrap-server "$B" --once --output json >"$WORK/once-$name.json" 2>"$WORK/once-$name.err" &&
     "$PY" - "$WORK/once-$name.json" "$TOPIC" <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1]))
topic = next(t for t in s["topics"] if t["name"] == sys.argv[2])
assert len(topic["partitions"]) == 3, topic
g = next(g for g in s["groups"] if g["groupId"] == "demo-billing")
assert g["status"] in ("OK", "COLLECTING", "WARN", "ERR") and g["reason"], g
assert any(p.get("committedOffset") is not None for p in g["partitions"]), g
print("once json:", topic["name"], len(topic["partitions"]), "partitions;", g["groupId"], g["status"], g.get("totalLag"))
PYEOF
  then pass "--once --output json shows $TOPIC and demo-billing"; else fail "--once --output json: $(cat "$WORK/once-$name.err")"; fi

  # Reset demo-billing's offsets to earliest, with the preview: the load must stop first
  # (Kafka refuses commits from outside an active group).
  kill "$LOADPID" 2>/dev/null; wait "$LOADPID" 2>/dev/null
  keys 3; keys /; text demo-billing; keys Enter
  expect "Empty" 40
  keys o; expect "Reset offsets of demo-billing" 5
  keys Enter Enter Enter
  expect "Preview: reset demo-billing to earliest" 15
  keys Enter
  expect "partition(s) of demo-billing to earliest" 15
  if "$PY" - "$B" <<'PYEOF'
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "demo-billing", "enable.auto.commit": False})
bad = []
for tp in c.committed([TopicPartition("demo.orders", p) for p in range(6)], timeout=10):
    lo, hi = c.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=10)
    if tp.offset != lo:
        bad.append((tp.partition, tp.offset, lo))
print("after reset (partition, committed, earliest) mismatches:", bad)
sys.exit(1 if bad else 0)
PYEOF
  then pass "confluent-kafka sees demo-billing reset to earliest"; else fail "demo-billing offsets are not at earliest after the reset"; fi
  keys Escape Escape

  # Delete the topic by typing its name.
  keys 2; keys /; text "$TOPIC"; keys Enter
  keys d; expect "Delete topic $TOPIC" 5
  text "$TOPIC"; keys Enter
  expect "deleted topic $TOPIC" 15
  sleep 2
  if "$KCAT" -b "$B" -L 2>/dev/null | grep -q "topic \"$TOPIC\""; then fail "kcat still lists $TOPIC"; else pass "kcat no longer lists $TOPIC"; fi

  # Read-only mode refuses mutations.
  keys q; expect "CONSOLE-EXITED rc=0" 10
  start_console "$SAMSA_BIN console --bootstrap-server $B --read-only"
  expect "READ-ONLY" 20
  keys c; expect "read-only: create topic is disabled" 5
  keys q; expect "CONSOLE-EXITED rc=0" 10

done

# --- B. samsa demo: a local broker the console owns ------------------------------------
log "== B. samsa demo"
DEMO=$WORK/demo
start_console "$SAMSA_BIN demo --dir $DEMO --rate 20 --refresh 1"
expect "demo.orders" 60
PORT=$(screen | sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' | head -1)
if [ -n "$PORT" ] && "$KCAT" -b "127.0.0.1:$PORT" -L 2>/dev/null | grep -q 'topic "demo.orders" with 6 partitions'; then
  pass "demo broker on port $PORT serves demo.orders (kcat)"
else
  fail "kcat cannot see demo.orders on port '$PORT'"
fi
keys 3; expect "demo-billing" 60; expect "demo-analytics" 30
keys /; text billing; keys Enter Enter; expect "Group demo-billing" 10; keys Escape Escape
keys 2; keys c; text e2e-demo-topic; keys Tab BSpace; text 2; keys Enter Enter Enter
expect "created topic e2e-demo-topic" 15
if kcat_has_topic "127.0.0.1:$PORT" e2e-demo-topic 2; then pass "kcat sees e2e-demo-topic"; else fail "kcat does not see e2e-demo-topic"; fi
# Alter a topic config in the dialog; check it with confluent-kafka's admin client.
keys /; text e2e-demo-topic; keys Enter
keys e; expect "Alter config of e2e-demo-topic" 5
keys Tab C-u; text 3600000; keys Enter
expect "set retention.ms=3600000 on e2e-demo-topic" 15
if "$PY" - "127.0.0.1:$PORT" <<'PYEOF'
import sys
from confluent_kafka.admin import AdminClient, ConfigResource
a = AdminClient({"bootstrap.servers": sys.argv[1]})
res = ConfigResource(ConfigResource.Type.TOPIC, "e2e-demo-topic")
cfg = a.describe_configs([res])[res].result(timeout=10)
v = cfg["retention.ms"].value
print("retention.ms =", v)
sys.exit(0 if v == "3600000" else 1)
PYEOF
then pass "confluent-kafka sees retention.ms=3600000"; else fail "retention.ms was not altered"; fi
keys Escape
BPID=$(pgrep -f "broker --config $DEMO/cluster/broker-1/server.properties" | head -1)
keys 1; expect "Brokers [1]" 5
# Stop the broker from the console: it shows as down and the port is closed; start it again.
keys x; expect "stop broker 1? (y/n)" 5; keys y
expect "broker 1: stop done" 30
expect "down" 10
if "$KCAT" -b "127.0.0.1:$PORT" -L -m 3 >/dev/null 2>&1; then fail "broker still answers after stop"; else pass "broker stopped (kcat cannot connect)"; fi
keys s; expect "start broker 1? (y/n)" 5; keys y
expect "broker 1: start done" 40
if "$KCAT" -b "127.0.0.1:$PORT" -L 2>/dev/null | grep -q 'topic "demo.orders"'; then pass "broker started again (kcat)"; else fail "broker not back after start"; fi
BPID=$(pgrep -f "broker --config $DEMO/cluster/broker-1/server.properties" | head -1)
keys r; expect "restart broker 1? (y/n)" 5; keys y
expect "broker 1: restart done" 40
NPID=$(pgrep -f "broker --config $DEMO/cluster/broker-1/server.properties" | head -1)
if [ -n "$NPID" ] && [ "$NPID" != "$BPID" ]; then pass "broker restarted (pid $BPID -> $NPID)"; else fail "broker pid did not change ($BPID -> $NPID)"; fi
expect "up" 20
if kcat_has_topic "127.0.0.1:$PORT" e2e-demo-topic 2; then pass "e2e-demo-topic survived the restart (kcat)"; else fail "e2e-demo-topic missing after restart"; fi
keys C-c
expect "CONSOLE-EXITED rc=0" 30
sleep 1
if pgrep -f "broker --config $DEMO/cluster" >/dev/null; then fail "demo broker still running after quit"; else pass "demo broker stopped on quit"; fi
if [ -d "$DEMO/cluster" ]; then fail "demo data left behind without --keep"; else pass "demo data deleted without --keep"; fi

# --- C. the terminal goes away (an SSH session drops) -----------------------------------
# SIGHUP ends the console; the demo must still stop its broker. It used to crash writing
# its "Stopping" line to the dead terminal and leave the broker running.
log "== C. samsa demo, terminal hung up"
HUP=$WORK/hup
$TMUX_CMD kill-session -t "$SESSION" 2>/dev/null
$TMUX_CMD new-session -d -s "$SESSION" -x 80 -y 24 "cd $WORK && SAMSA_LOG_DIR=$WORK $SAMSA_BIN demo --dir $HUP --rate 10"
expect "demo.orders" 60
if pgrep -f "broker --config $HUP/cluster/broker-1/server.properties" >/dev/null; then pass "demo broker running"; else fail "demo broker not running"; fi
$TMUX_CMD kill-session -t "$SESSION"
gone=""
for _ in $(seq 1 60); do
  pgrep -f "broker --config $HUP/cluster" >/dev/null || { gone=yes; break; }
  sleep 0.5
done
if [ -n "$gone" ]; then pass "broker stopped after the terminal hung up"; else fail "broker still running after SIGHUP"; kill $(pgrep -f "broker --config $HUP/cluster") 2>/dev/null; fi
# The demo deletes its data after the broker has exited: give it a moment.
for _ in $(seq 1 20); do [ -d "$HUP/cluster" ] || break; sleep 0.5; done
if [ -d "$HUP/cluster" ]; then fail "demo data left behind after SIGHUP"; else pass "demo data deleted after SIGHUP"; fi

if [ "$FAILS" -eq 0 ]; then log "PASS"; exit 0; fi
log "$FAILS check(s) failed"
exit 1
