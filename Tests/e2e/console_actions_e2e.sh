#!/usr/bin/env bash
# End-to-end test of the console's cluster actions (issue 13 item 4) on `samsa demo --brokers 3`,
# driven like a person would (tmux send-keys / capture-pane, 140x40), each result checked
# independently of the screen with kcat -L or `samsa console --once --output json`:
#
#   1. `r` restarts broker 2 from the Brokers pane: the partitions it led keep other leaders
#      (not on their preferred leader, kcat -L).
#   2. Preferred leader election of one such partition with `L` on the Partitions pane: the
#      confirmation, then kcat -L shows the preferred replica leading; `L` again says
#      "already on preferred leader" (ELECTION_NOT_NEEDED is not a failure).
#   3. `:elect preferred` for every partition: JSON counts none off its preferred leader.
#   3b. With the preferred replica's broker stopped (`x`), the election is refused with
#      Kafka's PREFERRED_LEADER_NOT_AVAILABLE and its message, verbatim; `s` starts it again.
#   4. Add partitions with `+`: "abc" and the current count are refused in the dialog and
#      change nothing (kcat -L); current+2 is applied (kcat -L counts them).
#   4b. `:reassign demo.orders:0`: unknown and duplicate brokers are refused and change nothing
#      (kcat -L); a plan preview, Esc sends nothing; removing the preferred replica and adding
#      it back finish on screen ("done in") and in kcat -L (replicas, full ISR).
#   5. Rolling restart with `R`: progress on the status line, every broker's process replaced
#      (new pids), no partition under-replicated at the end (JSON); a second one is cancelled
#      with Esc after the first broker.
#   6. A `--read-only` console refuses `:elect`, `:add-partitions` and `R`.
#   7. Quit (Ctrl-C) during a third rolling restart: the console exits 0, no node left running.
#
# Env (set by .ci/run; defaults for local runs): SAMSA_BIN, PEERS_PY, KCAT.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SAMSA_BIN=${SAMSA_BIN:-$ROOT/.build/debug/samsa}
PY=${PEERS_PY:-/opt/peers-venv/bin/python}
[ -x "$PY" ] || PY=python3
KCAT=${KCAT:-kcat}
WORK=$(mktemp -d /tmp/samsa-actions-e2e.XXXXXX)
DEMO=$WORK/demo
SESSION=samsa-actions-e2e-$$
TMUX_CMD="tmux -L samsa-actions-e2e-$$"
FAILS=0
T0=$(date +%s)

cleanup() {
  $TMUX_CMD kill-session -t "$SESSION" 2>/dev/null
  # Nodes of this demo only (its own directory), if the demo could not stop them.
  local pids
  pids=$(pgrep -f "broker --config $DEMO/cluster/" 2>/dev/null)
  [ -n "$pids" ] && kill -9 $pids 2>/dev/null
  $TMUX_CMD kill-server 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "[actions-e2e $(( $(date +%s) - T0 ))s] $*"; }
fail() { log "FAIL: $*"; FAILS=$((FAILS + 1)); screen | sed 's/^/    | /'; }
pass() { log "ok: $*"; }
screen() { $TMUX_CMD capture-pane -t "${WIN:-$SESSION:main}" -p 2>/dev/null; }
keys() { $TMUX_CMD send-keys -t "${WIN:-$SESSION:main}" "$@"; sleep 0.3; }
text() { $TMUX_CMD send-keys -t "${WIN:-$SESSION:main}" -l "$1"; sleep 0.3; }
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
pids() { for i in 1 2 3; do pgrep -f "broker --config $DEMO/cluster/broker-$i/server.properties" | head -1; done | tr '\n' ' '; }
# kcat -L of demo.orders as "P LEADER REPLICAS ISRS" lines.
orders() {
  "$KCAT" -b "127.0.0.1:$P1" -L -t demo.orders -m 10 2>/dev/null \
    | sed -n 's/^ *partition \([0-9]*\), leader \([-0-9]*\), replicas: \([0-9,]*\), isrs: \([0-9,]*\).*/\1 \2 \3 \4/p'
}

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

HEALED='
import json, sys
s = json.load(open(sys.argv[1]))
b = {x["id"]: x for x in s["brokers"]}
assert sorted(b) == [1, 2, 3] and all(x["status"] == "up" for x in b.values()), [(x["id"], x["status"]) for x in b.values()]
assert s["health"]["underReplicated"] == 0 and s["health"]["offline"] == 0, s["health"]
h = s["health"]
print(f"3 brokers up, no URP; health {h}")'

[ -x "$SAMSA_BIN" ] || { log "no samsa binary at $SAMSA_BIN (swift build first)"; exit 1; }
command -v tmux >/dev/null || { log "tmux is required"; exit 1; }
command -v "$KCAT" >/dev/null || { log "kcat is required"; exit 1; }

log "== 0. samsa demo --brokers 3"
$TMUX_CMD new-session -d -s "$SESSION" -n main -x 140 -y 40 \
  "cd $WORK && SAMSA_LOG_DIR=$WORK $SAMSA_BIN demo --brokers 3 --dir $DEMO --rate 20 --refresh 1 ; echo CONSOLE-EXITED rc=\$?; sleep 600" \
  || { log "cannot start tmux"; exit 1; }
expect "demo.orders" 90
P1=$(port_of 1)
[ -n "$P1" ] || { fail "no broker-1 config under $DEMO/cluster"; exit 1; }
check_json "json-start" 60 <<<"$HEALED" || true

log "== 1. restart broker 2 from the console: its partitions move to other leaders"
keys 1; keys /; text '^2 '; keys Enter
keys r
expect "restart broker 2?" 5
keys y
expect "broker 2: restart done" 60
keys Escape
check_json "json-after-restart" 60 <<<"$HEALED" || true
# A demo.orders partition whose preferred leader (first replica) does not lead it.
NOTPREF=""
for _ in $(seq 1 20); do
  NOTPREF=$(orders | awk '{ split($3, r, ","); if ($2 != r[1]) { print $1, r[1]; exit } }')
  [ -n "$NOTPREF" ] && break
  sleep 1
done
if [ -z "$NOTPREF" ]; then
  fail "no demo.orders partition off its preferred leader after restarting broker 2: $(orders | tr '\n' ';')"
  P=0; PREF=1
else
  read -r P PREF <<<"$NOTPREF"
  pass "demo.orders-$P is led by $(orders | awk -v p="$P" '$1 == p { print $2 }'), not its preferred leader $PREF (kcat -L)"
fi

log "== 2. L on the Partitions pane: preferred election of demo.orders-$P"
keys 2; keys /; text '^demo.orders$'; keys Enter Enter
expect "Partitions of demo.orders" 10
keys /; text "^$P "; keys Enter
keys L
expect "elect the preferred leader of demo.orders-$P: broker $PREF, now led by" 5
keys y
# Moved; or, if the controller's auto leader rebalance got there first, already there.
if wait_for "demo.orders-$P: leadership moved to its preferred leader (broker $PREF)" 20; then
  pass "screen shows the election done"
elif wait_for "demo.orders-$P: already on preferred leader (broker $PREF)" 1; then
  pass "screen says already on preferred leader (auto rebalance came first)"
else
  fail "no election outcome on screen"
fi
LEADER=""
for _ in $(seq 1 20); do
  LEADER=$(orders | awk -v p="$P" '$1 == p { print $2 }')
  [ "$LEADER" = "$PREF" ] && break
  sleep 0.5
done
if [ "$LEADER" = "$PREF" ]; then pass "kcat -L: demo.orders-$P is led by its preferred leader $PREF"; else fail "kcat -L: demo.orders-$P led by '$LEADER', not $PREF"; fi
keys L
expect "elect the preferred leader of demo.orders-$P: broker $PREF" 5
keys y
expect "demo.orders-$P: already on preferred leader (broker $PREF)" 15
keys Escape

log "== 3. :elect preferred (every partition)"
keys :; text 'elect preferred'; keys Enter
expect "elect the preferred leaders of every partition of the cluster" 5
keys y
expect "preferred election on every partition:" 20
check_json "json-all-preferred" 30 <<'PYEOF' || true
import json, sys
s = json.load(open(sys.argv[1]))
off = [(t["name"], p["partition"], p["leader"], p["replicas"]) for t in s["topics"] for p in t["partitions"] if p["leader"] != p["replicas"][0]]
assert not off, f"not on preferred leader: {off}"
assert s["health"]["notOnPreferredLeader"] == 0, s["health"]
print(f"every partition led by its first replica; health {s['health']}")
PYEOF
# Bad input: a partition that does not exist, and unclean.
keys :; text 'elect preferred demo.orders:999'; keys Enter
expect "demo.orders has partitions 0-" 5
keys :; text 'elect unclean'; keys Enter
expect "unclean elections can lose committed messages" 5

log "== 3b. a refused election shows Kafka's error verbatim: demo.orders-$P with broker $PREF stopped"
keys 1; keys /; text "^$PREF "; keys Enter
keys x
expect "stop broker $PREF?" 5
keys y
expect "broker $PREF: stop done" 30
keys Escape
keys :; text "elect preferred demo.orders:$P"; keys Enter
expect "elect the preferred leader of demo.orders-$P" 5
keys y
expect "demo.orders-$P: election refused: PREFERRED_LEADER_NOT_AVAILABLE (error 80)" 20
# In full in the message history (the status line cuts it).
keys '!'
expect "election refused: PREFERRED_LEADER_NOT_AVAILABLE (error 80): Failed to elect leader for partition" 5
expect "under strategy PreferredReplicaPartitionLeaderElectionStrategy" 2
keys Escape
keys 1; keys /; text "^$PREF "; keys Enter
keys s
expect "start broker $PREF? (y/n)" 5
keys y
expect "broker $PREF: start done" 60
keys Escape
check_json "json-after-start" 60 <<<"$HEALED" || true
keys 2; keys /; text '^demo.orders$'; keys Enter Enter
expect "Partitions of demo.orders" 10

log "== 4. + on the Partitions pane: add partitions"
COUNT=$(orders | wc -l)
keys +
expect "Add partitions to demo.orders" 5
keys C-u; text abc; keys Enter
expect "a whole number" 5
keys C-u; text "$COUNT"; keys Enter
expect "more than the current $COUNT" 5
keys Escape
sleep 1
if [ "$(orders | wc -l)" -eq "$COUNT" ]; then pass "refused input changed nothing: still $COUNT partitions (kcat -L)"; else fail "partition count changed to $(orders | wc -l)"; fi
keys +
expect "Add partitions to demo.orders" 5
keys C-u; text "$((COUNT + 2))"; keys Enter
expect "topic demo.orders now has $((COUNT + 2)) partitions" 30
N=0
for _ in $(seq 1 20); do N=$(orders | wc -l); [ "$N" -eq $((COUNT + 2)) ] && break; sleep 0.5; done
if [ "$N" -eq $((COUNT + 2)) ]; then pass "kcat -L: demo.orders has $N partitions (was $COUNT)"; else fail "kcat -L: demo.orders has $N partitions, not $((COUNT + 2))"; fi
keys Escape; keys Escape

log "== 4b. :reassign demo.orders:0: a bad replica list changes nothing; a replica removed, then added back"
R0=$(orders | awk '$1 == 0 { print $3 }')
keys :; text 'reassign demo.orders:0 1,9'; keys Enter
expect "no broker 9 in this cluster (brokers: 1,2,3)" 5
keys :; text 'reassign demo.orders:0 2,2'; keys Enter
expect "broker 2 is named twice" 5
sleep 1
if [ "$(orders | awk '$1 == 0 { print $3 }')" = "$R0" ]; then pass "refused lists changed nothing: demo.orders-0 still on $R0 (kcat -L)"; else fail "demo.orders-0 replicas changed to $(orders | awk '$1 == 0 { print $3 }')"; fi
# Drop the preferred replica: a plan preview first, nothing sent before Enter.
SHORT=$(echo "$R0" | cut -d, -f2-)
keys :; text "reassign demo.orders:0 $SHORT"; keys Enter
expect "Preview: reassign demo.orders-0" 5
keys Escape
expect "reassignment cancelled: nothing was sent" 5
keys :; text "reassign demo.orders:0 $SHORT"; keys Enter
expect "Preview: reassign demo.orders-0" 5
keys Enter
expect "reassignment of demo.orders-0 done in" 60
GOT=""
for _ in $(seq 1 20); do GOT=$(orders | awk '$1 == 0 { print $3 }'); [ "$GOT" = "$SHORT" ] && break; sleep 0.5; done
if [ "$GOT" = "$SHORT" ]; then pass "kcat -L: demo.orders-0 on $GOT (was $R0)"; else fail "kcat -L: demo.orders-0 on $GOT, not $SHORT"; fi
# Back to the original replicas: the returning one copies the log and joins the ISR.
keys :; text "reassign demo.orders:0 $R0"; keys Enter
expect "Preview: reassign demo.orders-0" 5
keys Enter
expect "reassignment of demo.orders-0 done in" 90
GOT=""
for _ in $(seq 1 40); do GOT=$(orders | awk '$1 == 0 { print $3 "/" $4 }'); [ "${GOT%/*}" = "$R0" ] && [ "$(echo "${GOT#*/}" | tr ',' '\n' | wc -l)" -eq 3 ] && break; sleep 0.5; done
if [ "${GOT%/*}" = "$R0" ] && [ "$(echo "${GOT#*/}" | tr ',' '\n' | wc -l)" -eq 3 ]; then pass "kcat -L: demo.orders-0 back on $R0 with a full ISR (${GOT#*/})"; else fail "kcat -L: demo.orders-0 replicas/ISR $GOT, expected $R0 with 3 in sync"; fi
keys :; text 'reassign cancel'; keys Enter
expect "no reassignment is running: nothing to cancel" 5

log "== 5. R: rolling restart of the local cluster"
check_json "json-before-roll" 60 <<<"$HEALED" || true
BEFORE=$(pids)
keys 1; keys /; keys C-u; keys Enter
keys R
expect "rolling restart of brokers" 5
T_ROLL=$(date +%s)
keys y
expect "· Esc cancels" 30
if wait_for "rolling restart done:" 600; then
  pass "screen: $(screen | grep -o 'rolling restart done:.*' | head -1)"
  log "rolling restart took $(( $(date +%s) - T_ROLL )) s"
else
  fail "rolling restart did not finish"
fi
# Each broker's turn is in the message history, in order.
keys '!'
expect "Message history" 5
HIST=$(screen)
for i in 1 2 3; do
  if echo "$HIST" | grep -q "rolling restart $i/3: restarting broker"; then pass "history: turn $i/3"; else fail "history has no turn $i/3"; fi
done
keys Escape
AFTER=$(pids)
CHANGED=0
for i in 1 2 3; do
  b=$(echo "$BEFORE" | awk -v i="$i" '{ print $i }'); a=$(echo "$AFTER" | awk -v i="$i" '{ print $i }')
  [ -n "$a" ] && [ "$a" != "$b" ] && CHANGED=$((CHANGED + 1))
done
if [ "$CHANGED" -eq 3 ]; then pass "every broker process replaced (pids $BEFORE-> $AFTER)"; else fail "only $CHANGED of 3 broker processes replaced (pids $BEFORE-> $AFTER)"; fi
check_json "json-after-roll" 60 <<<"$HEALED" || true

log "== 5b. a second rolling restart, cancelled with Esc"
keys R
expect "rolling restart of brokers" 5
BEFORE=$(pids)
keys y
expect "rolling restart 1/3" 30
keys Escape
# Esc shows "cancelling the rolling restart" until the current broker's turn ends; a turn that
# ends within a refresh of the key (a fast restart) goes straight to "rolling restart cancelled:".
DEADLINE=$(( $(date +%s) + 5 )); SEEN=""
while [ -z "$SEEN" ] && [ "$(date +%s)" -lt "$DEADLINE" ]; do
  S=$(screen)
  if echo "$S" | grep -qF "cancelling the rolling restart"; then SEEN="cancelling the rolling restart"
  elif echo "$S" | grep -qF "rolling restart cancelled:"; then SEEN="rolling restart cancelled:"; fi
  [ -z "$SEEN" ] && sleep 0.2
done
if [ -n "$SEEN" ]; then pass "Esc took effect: screen shows '$SEEN'"; else fail "Esc: neither 'cancelling the rolling restart' nor 'rolling restart cancelled:'"; fi
expect "rolling restart cancelled:" 240
AFTER=$(pids)
CHANGED=0
for i in 1 2 3; do
  b=$(echo "$BEFORE" | awk -v i="$i" '{ print $i }'); a=$(echo "$AFTER" | awk -v i="$i" '{ print $i }')
  [ -n "$a" ] && [ "$a" != "$b" ] && CHANGED=$((CHANGED + 1))
done
# Esc lands during broker 1's restart or its wait: at most that one was restarted.
if [ "$CHANGED" -le 1 ]; then pass "$CHANGED broker process replaced before the cancel took effect"; else fail "$CHANGED broker processes replaced after Esc on turn 1/3"; fi
check_json "json-after-cancel" 90 <<<"$HEALED" || true

log "== 6. --read-only console"
$TMUX_CMD new-window -t "$SESSION" -n ro \
  "$SAMSA_BIN console --bootstrap-server 127.0.0.1:$P1 --read-only --refresh 1; sleep 600"
WIN="$SESSION:ro"
expect "demo.orders" 30
keys :; text 'elect preferred'; keys Enter
expect "read-only: preferred leader election is disabled" 5
keys :; text 'add-partitions demo.orders'; keys Enter
expect "read-only: add partitions is disabled" 5
keys :; text 'rolling-restart'; keys Enter
expect "read-only: rolling restart is disabled" 5
keys :; text 'reassign demo.orders:0 1,2'; keys Enter
expect "read-only: partition reassignment is disabled" 5
keys q
WIN=""

log "== 7. quit during a rolling restart: it stops, and no node is left running"
keys R
expect "rolling restart of brokers" 5
keys y
expect "· Esc cancels" 30
keys C-c
expect "CONSOLE-EXITED rc=0" 60
sleep 1
if pgrep -f "broker --config $DEMO/cluster/" >/dev/null; then fail "demo nodes still running after quit"; else pass "all 3 demo nodes stopped on quit"; fi

log "took $(( $(date +%s) - T0 )) s"
if [ "$FAILS" -eq 0 ]; then log "PASS"; exit 0; fi
log "$FAILS check(s) failed"
exit 1
