#!/usr/bin/env bash
# End-to-end test of `samsa demo` on its default replicated cluster (issue 13), driven like
# a person would: the console runs in a 120x40 tmux pane, keys go in with `send-keys`, the
# screen is read with `capture-pane`, and the cluster's state is checked independently with
# `samsa console --once --output json` (a separate process, its own client).
#
#   1. `samsa demo` starts 3 combined broker+controller KRaft nodes; the Brokers pane shows
#      3 brokers with roles and a quorum leader; --once JSON: 3 brokers, roles, the quorum,
#      demo topics at replication factor 3 with min.insync.replicas=2.
#   2. `K` (kill -9) on broker 2 from the console: it shows down, the header counts URPs,
#      and --once JSON shows its partitions under-replicated with new leaders.
#   3. `s` starts it again: the ISRs heal (JSON: no URP, broker 2 back in every ISR; the
#      header says URP 0).
#   4. Quit: no node left running, the demo data deleted.
#   5. `samsa console` on an unreachable cluster offers a local one; `:cluster up 3` starts
#      3 nodes in $SAMSA_LOCAL_CLUSTER_DIR and opens the console on them ([local], 3 brokers,
#      the demo topics, broker keys); `:cluster down` stops every node and deletes the data;
#      `:cluster up 1` then `q` leaves no node running.
#
# Env (set by .ci/run; defaults for local runs): SAMSA_BIN, PEERS_PY.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SAMSA_BIN=${SAMSA_BIN:-$ROOT/.build/debug/samsa}
PY=${PEERS_PY:-/opt/peers-venv/bin/python}
[ -x "$PY" ] || PY=python3
WORK=$(mktemp -d /tmp/samsa-cluster-e2e.XXXXXX)
DEMO=$WORK/demo
SESSION=samsa-cluster-e2e-$$
TMUX_CMD="tmux -L samsa-cluster-e2e-$$"
FAILS=0
T0=$(date +%s)

cleanup() {
  $TMUX_CMD kill-session -t "$SESSION" 2>/dev/null
  # Nodes of this demo only (its own directory), if the demo could not stop them.
  local pids
  pids=$(pgrep -f "broker --config ($DEMO|$WORK/local)/cluster/" 2>/dev/null)
  [ -n "$pids" ] && kill -9 $pids 2>/dev/null
  $TMUX_CMD kill-server 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "[cluster-e2e $(( $(date +%s) - T0 ))s] $*"; }
fail() { log "FAIL: $*"; FAILS=$((FAILS + 1)); screen | sed 's/^/    | /'; }
pass() { log "ok: $*"; }
screen() { $TMUX_CMD capture-pane -t "$SESSION" -p 2>/dev/null; }
keys() { $TMUX_CMD send-keys -t "$SESSION" "$@"; sleep 0.3; }
text() { $TMUX_CMD send-keys -t "$SESSION" -l "$1"; sleep 0.3; }
wait_for() {  # wait_for TEXT [SECONDS]: until the screen contains TEXT
  local deadline=$(( $(date +%s) + ${2:-15} ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    screen | grep -qF -- "$1" && return 0
    sleep 0.3
  done
  return 1
}
expect() { if wait_for "$1" "${2:-15}"; then pass "screen shows '$1'"; else fail "screen never showed '$1'"; fi; }
port_of() { sed -n 's/^advertised.listeners=PLAINTEXT:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$DEMO/cluster/broker-$1/server.properties" 2>/dev/null; }

# check_json NAME SECONDS: runs `console --once --output json` against broker 1 until the
# Python check (stdin of this function) exits 0, at most SECONDS; prints its last line.
check_json() {
  local name=$1 secs=$2 check deadline out
  check=$(cat)
  deadline=$(( $(date +%s) + secs ))
  while :; do
    if "$SAMSA_BIN" console --bootstrap-server "127.0.0.1:$P1" --once --output json >"$WORK/$name.json" 2>"$WORK/$name.err" \
       && out=$("$PY" -c "$check" "$WORK/$name.json" 2>&1); then
      pass "$name: $(echo "$out" | tail -1)"; return 0
    fi
    [ "$(date +%s)" -ge "$deadline" ] && break
    sleep 1
  done
  fail "$name: $(echo "${out:-}" | tail -3) $(tail -2 "$WORK/$name.err" 2>/dev/null)"; return 1
}

[ -x "$SAMSA_BIN" ] || { log "no samsa binary at $SAMSA_BIN (swift build first)"; exit 1; }
command -v tmux >/dev/null || { log "tmux is required"; exit 1; }

log "== 1. samsa demo: 3 combined KRaft nodes"
$TMUX_CMD new-session -d -s "$SESSION" -x 120 -y 40 \
  "cd $WORK && SAMSA_LOG_DIR=$WORK $SAMSA_BIN demo --dir $DEMO --rate 20 --refresh 1 ; echo CONSOLE-EXITED rc=\$?; sleep 600" \
  || { log "cannot start tmux"; exit 1; }
expect "demo.orders" 90
P1=$(port_of 1)
[ -n "$P1" ] || { fail "no broker-1 config under $DEMO/cluster"; exit 1; }
keys 1
expect "Brokers [3] · quorum leader" 30
expect "both" 10
check_json "json-3-brokers" 30 <<'PYEOF' || true
import json, sys
s = json.load(open(sys.argv[1]))
b = {x["id"]: x for x in s["brokers"]}
assert sorted(b) == [1, 2, 3], f"brokers {sorted(b)}"
assert all(x["status"] == "up" and x.get("role") == "both" for x in b.values()), [(x["id"], x["status"], x.get("role")) for x in b.values()]
q = s["quorum"]
assert q["leaderId"] in b and len([r for r in q["replicas"] if r["isVoter"]]) == 3, q
t = {x["name"]: x for x in s["topics"]}
o = t["demo.orders"]
assert all(len(p["replicas"]) == 3 for p in o["partitions"]), "RF 3"
assert all(p.get("minInSyncReplicas") == 2 for p in o["partitions"]), "min.insync.replicas=2"
assert s["health"]["underReplicated"] == 0 and s["health"]["offline"] == 0, s["health"]
print(f"3 brokers (both), quorum leader {q['leaderId']} epoch {q['leaderEpoch']}, demo.orders RF 3 min ISR 2, no URP")
PYEOF
# Which demo.orders partitions broker 2 leads now (they must move).
LED=$("$PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))
o = next(t for t in s["topics"] if t["name"] == "demo.orders")
print(",".join(str(p["partition"]) for p in o["partitions"] if p["leader"] == 2))' "$WORK/json-3-brokers.json" 2>/dev/null)
log "broker 2 leads demo.orders partitions [$LED] before the kill"

log "== 2. kill -9 of broker 2 from the console"
keys /; text '^2 '; keys Enter
keys K
expect "kill -9 broker 2?" 5
T_KILL=$(date +%s)
keys y
expect "broker 2: kill -9 done" 20
if pgrep -f "broker --config $DEMO/cluster/broker-2/server.properties" >/dev/null; then fail "broker 2's process still runs"; else pass "broker 2's process is gone"; fi
expect "killed by signal 9" 10
check_json "json-after-kill" 40 <<'PYEOF' || true
import json, sys
s = json.load(open(sys.argv[1]))
b = {x["id"]: x for x in s["brokers"]}
assert 2 not in b or b[2]["status"] != "up", f"broker 2 still {b[2]['status']}"
assert s["health"]["underReplicated"] > 0, f"no URP yet: {s['health']}"
moved = 0
for t in s["topics"]:
    if not t["name"].startswith("demo."):
        continue
    for p in t["partitions"]:
        assert p["leader"] != 2, f"{t['name']}-{p['partition']} still led by 2"
        if 2 in p["replicas"]:
            assert 2 not in p["isr"], f"{t['name']}-{p['partition']} ISR {p['isr']} still has 2"
            assert p["health"]["underReplicated"], f"{t['name']}-{p['partition']} not flagged URP"
            moved += 1
print(f"no demo partition led by 2; {moved} demo partitions under-replicated; health {s['health']}")
PYEOF
[ "$FAILS" -eq 0 ] && log "leaders moved and ISRs shrank $(( $(date +%s) - T_KILL )) s after the kill key (JSON)"
if [ -n "$LED" ]; then
  python3 - "$WORK/json-after-kill.json" "$LED" <<'PYEOF' && pass "demo.orders partitions [$LED] have new leaders" || fail "demo.orders leaders did not move"
import json, sys
s = json.load(open(sys.argv[1]))
o = next(t for t in s["topics"] if t["name"] == "demo.orders")
want = {int(x) for x in sys.argv[2].split(",")}
now = {p["partition"]: p["leader"] for p in o["partitions"]}
sys.exit(0 if all(now[p] not in (2, -1) for p in want) else 1)
PYEOF
fi
# On screen: the header counts URPs and broker 2 is down.
if wait_for "URP 0 ·" 1; then sleep 3; fi
if screen | head -1 | grep -q "URP [1-9][0-9]* ·"; then pass "header counts under-replicated partitions: $(screen | head -1 | grep -o 'URP [0-9]* · <minISR [0-9]* · offline [0-9]*')"; else fail "header shows no URP after the kill"; fi
expect "down" 10
# The partitions of demo.orders: URP rows.
keys 2; keys /; text '^demo.orders$'; keys Enter Enter
expect "Partitions of demo.orders" 10
expect "URP" 15
keys Escape

log "== 3. start broker 2 again: the ISRs heal"
keys 1; keys /; text '^2 '; keys Enter
expect "Brokers [1]" 5
keys s
expect "start broker 2? (y/n)" 5
T_START=$(date +%s)
keys y
expect "broker 2: start done" 60
check_json "json-healed" 60 <<'PYEOF' || true
import json, sys
s = json.load(open(sys.argv[1]))
b = {x["id"]: x for x in s["brokers"]}
assert b[2]["status"] == "up", f"broker 2 {b[2]['status']}"
assert s["health"]["underReplicated"] == 0 and s["health"]["offline"] == 0, s["health"]
for t in s["topics"]:
    for p in t["partitions"]:
        if 2 in p["replicas"]:
            assert 2 in p["isr"], f"{t['name']}-{p['partition']} ISR {p['isr']}"
print(f"broker 2 up and back in every ISR; health {s['health']}")
PYEOF
[ "$FAILS" -eq 0 ] && log "ISRs healed $(( $(date +%s) - T_START )) s after the start key (JSON)"
expect "URP 0 ·" 20

log "== 4. quit"
keys C-c
expect "CONSOLE-EXITED rc=0" 40
sleep 1
if pgrep -f "broker --config $DEMO/cluster/" >/dev/null; then fail "demo nodes still running after quit"; else pass "all 3 demo nodes stopped on quit"; fi
if [ -d "$DEMO/cluster" ]; then fail "demo data left behind without --keep"; else pass "demo data deleted without --keep"; fi

log "== 5. :cluster up / down from a console with no reachable cluster"
LOCAL=$WORK/local
# A keeper session holds the tmux server up: killing the last session ends it, and the
# new-session below raced its exit ("no server running").
$TMUX_CMD new-session -d -s keeper "sleep 3600"
$TMUX_CMD kill-session -t "$SESSION" 2>/dev/null
$TMUX_CMD new-session -d -s "$SESSION" -x 160 -y 40 \
  "cd $WORK && SAMSA_LOCAL_CLUSTER_DIR=$LOCAL SAMSA_LOG_DIR=$WORK $SAMSA_BIN console --bootstrap-server 127.0.0.1:1 --refresh 1 ; echo CONSOLE-EXITED rc=\$?; sleep 600" \
  || { log "cannot start tmux"; exit 1; }
expect "cannot reach the cluster: :cluster up starts a local 3-node demo cluster in $LOCAL" 20
keys :; text 'cluster up 3'; keys Enter
expect "[local]" 120
expect "brokers 3/3" 60
expect "demo.orders" 30
N=$(pgrep -f "broker --config $LOCAL/cluster/" | wc -l)
if [ "$N" -eq 3 ]; then pass "3 local nodes run under $LOCAL"; else fail "$N local nodes run under $LOCAL (want 3)"; fi
keys 1
expect "x stop broker" 10
keys :; text 'cluster down'; keys Enter
expect "stopped the local cluster and deleted its data in $LOCAL" 60
sleep 1
if pgrep -f "broker --config $LOCAL/cluster/" >/dev/null; then fail "local nodes still running after :cluster down"; else pass "no local node after :cluster down"; fi
if [ -d "$LOCAL/cluster" ]; then fail "local data left after :cluster down"; else pass "local data deleted"; fi
keys :; text 'cluster up 1'; keys Enter
expect "[local]" 60
keys q
expect "CONSOLE-EXITED rc=0" 40
sleep 1
if pgrep -f "broker --config $LOCAL/cluster/" >/dev/null; then fail "local node still running after quit"; else pass "local node stopped on quit"; fi

log "took $(( $(date +%s) - T0 )) s"
if [ "$FAILS" -eq 0 ]; then log "PASS"; exit 0; fi
log "$FAILS check(s) failed"
exit 1
