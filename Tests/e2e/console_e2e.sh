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
new_session() {  # new_session CMD: a fresh 80x24 session running CMD
  # Killing the last session ends the tmux server; a new-session racing with its exit
  # fails with "server exited unexpectedly", so wait and retry.
  $TMUX_CMD kill-session -t "$SESSION" 2>/dev/null && sleep 0.5
  for _ in 1 2 3 4 5; do
    $TMUX_CMD new-session -d -s "$SESSION" -x 80 -y 24 "$1" 2>/dev/null && return 0
    sleep 0.5
  done
  log "cannot start a tmux session"; return 1
}
start_console() {  # start_console CMD...: runs CMD in a fresh 80x24 tmux session
  new_session "cd $WORK && SAMSA_LOG_DIR=$WORK $* ; echo CONSOLE-EXITED rc=\$?; sleep 600"
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

  # Select it with the filter, generate 50 test messages (P), then produce one by hand (p).
  keys /; text "$TOPIC"; keys Enter
  expect "Topics [1] /$TOPIC" 5
  keys P; expect "Produce to $TOPIC" 5
  keys BSpace BSpace BSpace; text 50; keys Enter Enter Enter Enter
  expect "produced 50 messages to $TOPIC" 20
  n=$(kcat_count "$B" "$TOPIC")
  if [ "$n" -eq 50 ]; then pass "kcat reads 50 messages from $TOPIC"; else fail "kcat reads $n messages from $TOPIC, expected 50"; fi
  keys p; expect "Produce a message to $TOPIC" 5
  text 1; keys Tab; text k-e2e; keys Tab; text hello-e2e; keys Tab; text h1=v1; keys Enter
  expect "produced 1 message to $TOPIC-1 at offset" 15
  got=$("$KCAT" -b "$B" -C -t "$TOPIC" -p 1 -o -1 -c 1 -e -q -f '%k|%s|%h' 2>/dev/null)
  if [ "$got" = "k-e2e|hello-e2e|h1=v1" ]; then pass "kcat reads the produced message (key, value, header)"; else fail "kcat reads '$got'"; fi

  # Add a partition (the dialog warns about keys); kcat sees 4. Tansu 0.6 has no
  # CreatePartitions: the dialog must come back with that reason.
  keys +; expect "Add partitions to $TOPIC" 5; expect "per-key ordering breaks" 2
  keys C-u; text 4; keys Enter
  NPART=4
  if [ "$name" = tansu ]; then
    NPART=3
    expect "no version of CreatePartitions" 15; keys Escape
  else
    expect "topic $TOPIC now has 4 partitions" 15
    if kcat_has_topic "$B" "$TOPIC" 4; then pass "kcat sees $TOPIC with 4 partitions"; else fail "kcat does not see 4 partitions"; fi
  fi

  # Tail them in the Messages pane; open one; copy its value to a file and to the
  # clipboard (OSC 52, which tmux takes with set-clipboard on); export all as JSON lines.
  keys m; expect "Messages of $TOPIC" 5; expect "key-" 15
  keys Enter; expect '"pad"' 5; keys Escape
  keys c; expect "Copy message" 5
  PO=$(screen | sed -n 's/.*Copy message \([0-9]*\)\/\([0-9]*\).*/\1 \2/p' | head -1)
  keys Tab Space Tab C-u; text "$WORK/copied-$name.txt"; keys Enter
  expect "wrote the value to $WORK/copied-$name.txt" 10
  want=$("$KCAT" -b "$B" -C -t "$TOPIC" -p "${PO% *}" -o "${PO#* }" -c 1 -e -q -f '%s' 2>/dev/null)
  if [ -n "$want" ] && [ "$(cat "$WORK/copied-$name.txt" 2>/dev/null)" = "$want" ]; then pass "copied value of $PO equals kcat's"; else fail "copied value of '$PO' differs from kcat's"; fi
  $TMUX_CMD set-option -g set-clipboard on
  keys c; expect "Copy message" 5; keys Enter Enter Enter
  expect "to the clipboard" 10
  if [ "$($TMUX_CMD show-buffer 2>/dev/null)" = "$want" ]; then pass "OSC 52 put the value on tmux's clipboard"; else fail "tmux buffer is '$($TMUX_CMD show-buffer 2>/dev/null | head -c 80)'"; fi
  keys w; expect "Export messages of $TOPIC" 5
  keys Tab C-u; text earliest; keys Tab Tab Tab C-u; text "$WORK/export-$name.jsonl"; keys C-s
  expect "exported 51 messages of $TOPIC" 20
  if "$PY" - "$B" "$TOPIC" "$WORK/export-$name.jsonl" "$NPART" <<'PYEOF'
import json, sys
from confluent_kafka import Consumer, TopicPartition
lines = [json.loads(l) for l in open(sys.argv[3])]
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "e2e-export-check", "enable.auto.commit": False})
c.assign([TopicPartition(sys.argv[2], p, 0) for p in range(int(sys.argv[4]))])
seen = {}
while len(seen) < len(lines):
    m = c.poll(10)
    if m is None: break
    seen[(m.partition(), m.offset())] = (m.key().decode() if m.key() else None, m.value().decode())
got = {(l["partition"], l["offset"]): (l["key"], l["value"]) for l in lines}
print("export lines", len(lines), "kafka records", len(seen))
sys.exit(0 if got == seen and len(lines) == 51 else 1)
PYEOF
  then pass "export has the 51 records confluent-kafka reads"; else fail "export differs from the topic"; fi
  keys Escape

  # Load with a lagging group, then drill into it.
  "$SAMSA_BIN" demo --bootstrap-server "$B" --no-console --rate 20 --dir "$WORK/load-$name" >"$WORK/load-$name.log" 2>&1 &
  LOADPID=$!; PIDS+=("$LOADPID")
  keys Escape; keys 3
  expect "demo-billing" 60
  keys /; text demo-billing; keys Enter Enter
  expect "Group demo-billing" 10
  expect "demo.orders" 20
  # Members view: a member id confluent-kafka's admin describes is on screen.
  keys M; expect "Members of demo-billing" 10
  member=$("$PY" - "$B" <<'PYEOF'
import sys
from confluent_kafka.admin import AdminClient
a = AdminClient({"bootstrap.servers": sys.argv[1]})
d = a.describe_consumer_groups(["demo-billing"])["demo-billing"].result(timeout=10)
print(d.members[0].member_id[:12] if d.members else "")
PYEOF
)
  # Tansu 0.6's DescribeGroups leaves confluent-kafka without members: check our client's id prefix.
  [ -z "$member" ] && [ "$name" = tansu ] && member="demo-billing"
  if [ -n "$member" ] && wait_for "$member" 10; then pass "members view shows member $member"; else fail "members view lacks '$member'"; fi
  keys Escape
  # With consumers running, the reset preview warns and offers no Execute.
  keys o; expect "Reset offsets of demo-billing" 5; keys Enter Enter Enter
  expect "Kafka will refuse" 15; keys Enter
  expect "not executed" 5; keys Escape
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
     "$PY" - "$WORK/once-$name.json" "$TOPIC" "$NPART" <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1]))
topic = next(t for t in s["topics"] if t["name"] == sys.argv[2])
assert len(topic["partitions"]) == int(sys.argv[3]), topic
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
  expect "of demo-billing to earliest" 15
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
  # Shift by +3 from there.
  keys o; expect "Reset offsets of demo-billing" 5; keys Space Space Space Space Tab; text 3; keys C-s
  expect "Preview: reset demo-billing to shift by +3" 15; keys Enter
  expect "of demo-billing to shift by +3" 15
  if "$PY" - "$B" <<'PYEOF'
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "demo-billing", "enable.auto.commit": False})
bad = []
for tp in c.committed([TopicPartition("demo.orders", p) for p in range(6)], timeout=10):
    lo, hi = c.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=10)
    if tp.offset != min(lo + 3, hi):
        bad.append((tp.partition, tp.offset, lo, hi))
print("after shift-by 3 (partition, committed, lo, hi) mismatches:", bad)
sys.exit(1 if bad else 0)
PYEOF
  then pass "confluent-kafka sees demo-billing shifted by 3"; else fail "demo-billing not shifted by 3"; fi
  # Delete the group by typing its name; confluent-kafka no longer lists it.
  keys d; expect "Delete group demo-billing" 5; text demo-billing; keys Enter
  expect "deleted group demo-billing" 15
  if "$PY" - "$B" <<'PYEOF'
import sys
from confluent_kafka.admin import AdminClient
a = AdminClient({"bootstrap.servers": sys.argv[1]})
ids = [g.group_id for g in a.list_consumer_groups().result(timeout=10).valid]
sys.exit(1 if "demo-billing" in ids else 0)
PYEOF
  then pass "demo-billing deleted (confluent-kafka)"; else fail "demo-billing still listed"; fi
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
start_console "$SAMSA_BIN demo --brokers 1 --dir $DEMO --rate 20 --refresh 1"
expect "demo.orders" 60
# The broker's address is on the Brokers pane (the header now carries the health counts).
keys 1; expect "127.0.0.1:" 20
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
# The topic's Configs pane: set retention.ms, then remove the override; check both with
# confluent-kafka's admin client (value and whether it is the default).
topic_cfg() {
  "$PY" - "127.0.0.1:$PORT" <<'PYEOF'
import sys
from confluent_kafka.admin import AdminClient, ConfigResource
a = AdminClient({"bootstrap.servers": sys.argv[1]})
res = ConfigResource(ConfigResource.Type.TOPIC, "e2e-demo-topic")
e = a.describe_configs([res])[res].result(timeout=10)["retention.ms"]
print(f"{e.value} default={e.is_default}")
PYEOF
}
keys /; text e2e-demo-topic; keys Enter
keys e; expect "Configs of topic e2e-demo-topic" 5; expect "retention.ms" 10
keys /; text '^retention.ms$'; keys Enter
keys Enter; expect "Set retention.ms on topic e2e-demo-topic" 5
keys C-u; text 3600000; keys Enter
expect "set retention.ms=3600000 on topic e2e-demo-topic" 15
expect "topic override" 10
if [ "$(topic_cfg)" = "3600000 default=False" ]; then pass "confluent-kafka sees retention.ms=3600000"; else fail "retention.ms: $(topic_cfg)"; fi
keys d; expect "remove the override retention.ms=3600000" 5; keys y
expect "removed the override of retention.ms on topic e2e-demo-topic" 15
if [ "$(topic_cfg | cut -d' ' -f2)" = "default=True" ]; then pass "override removed (confluent-kafka: default)"; else fail "after remove: $(topic_cfg)"; fi
keys Escape Escape Escape
# A broker's configs: read-only ones say so instead of offering an edit.
keys 1; keys e; expect "Configs of broker 1" 10
keys /; text '^log.dirs$'; keys Enter; expect "read-only" 10
keys Enter; expect "log.dirs is read-only" 5
# A dynamic broker config: set it, confluent-kafka sees DYNAMIC_BROKER_CONFIG, remove it.
keys Escape; keys /; text '^log.retention.bytes$'; keys Enter
keys Enter; expect "Set log.retention.bytes on broker 1" 5; keys C-u; text 5000000; keys Enter
expect "set log.retention.bytes=5000000 on broker 1" 15
broker_cfg() {
  "$PY" - "127.0.0.1:$PORT" <<'PYEOF'
import sys
from confluent_kafka.admin import AdminClient, ConfigResource
a = AdminClient({"bootstrap.servers": sys.argv[1]})
res = ConfigResource(ConfigResource.Type.BROKER, "1")
e = a.describe_configs([res])[res].result(timeout=10)["log.retention.bytes"]
print(e.value, e.source)
PYEOF
}
if [ "$(broker_cfg)" = "5000000 2" ]; then pass "confluent-kafka sees log.retention.bytes=5000000 (dynamic broker)"; else fail "broker config: $(broker_cfg)"; fi
keys d; keys y; expect "removed the override of log.retention.bytes on broker 1" 15
if [ "$(broker_cfg | cut -d' ' -f2)" != "2" ]; then pass "dynamic broker value removed (confluent-kafka)"; else fail "still dynamic: $(broker_cfg)"; fi
keys Escape Escape
# The mouse: a click (xterm X10 press and release, as the terminal sends them) on the Groups tab.
keys 1; $TMUX_CMD send-keys -t "$SESSION" -l $'\e[M :"\e[M#:"'; sleep 0.5
expect "Consumer groups [" 5
BPID=$(pgrep -f "broker --config $DEMO/cluster/broker-1/server.properties" | head -1)
keys 1; expect "Brokers [1]" 5
# Stop the broker from the console: it shows as down and the port is closed; start it again.
keys x; expect "stop broker 1? it is the last broker up" 5; keys y
expect "broker 1: stop done" 30
expect "down" 10
if "$KCAT" -b "127.0.0.1:$PORT" -L -m 3 >/dev/null 2>&1; then fail "broker still answers after stop"; else pass "broker stopped (kcat cannot connect)"; fi
keys s; expect "start broker 1? (y/n)" 5; keys y
expect "broker 1: start done" 40
if "$KCAT" -b "127.0.0.1:$PORT" -L 2>/dev/null | grep -q 'topic "demo.orders"'; then pass "broker started again (kcat)"; else fail "broker not back after start"; fi
BPID=$(pgrep -f "broker --config $DEMO/cluster/broker-1/server.properties" | head -1)
keys r; expect "restart broker 1? it is the last broker up" 5; keys y
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
new_session "cd $WORK && SAMSA_LOG_DIR=$WORK $SAMSA_BIN demo --brokers 1 --dir $HUP --rate 10"
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
