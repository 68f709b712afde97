#!/usr/bin/env bash
# End-to-end check of the console's ACL and Users panes (issue 14 item 4), driven through tmux
# like a person would (160x40 pane, send-keys, capture-pane), against one of our brokers with
# SASL (PLAIN + SCRAM) and Kafka's StandardAuthorizer (super.users=User:admin), the setup of
# Tests/interop/test_acl_broker.py:
#
#   A. as admin: `:acl add` two PREFIXED ACLs, see them listed; `:user set carol` with the
#      masked prompt, see the user listed; the CLI (`samsa acl list`, `samsa user list`) finds
#      both, and carol logs in with SCRAM-SHA-512 and the typed password (kcat); the password
#      is neither on screen nor in the console's log. Then delete one ACL (d, y) and the user
#      (:user delete carol, y) from the console and check with the CLI that they are gone.
#   B. --read-only: `:acl add` is refused with the console's message, nothing is created.
#   C. as alice (not a super user): the ACL list and `:acl add` show Kafka's refusal verbatim
#      (CLUSTER_AUTHORIZATION_FAILED).
#   D. a second broker without an authorizer: the ACL pane says so (SECURITY_DISABLED), not
#      an empty table.
#
# Env: SAMSA_BIN (default .build/debug/samsa); needs tmux and kcat.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SAMSA_BIN=${SAMSA_BIN:-$ROOT/.build/debug/samsa}
WORK=$(mktemp -d /tmp/samsa-security-e2e.XXXXXX)
SESSION=samsa-sec-$$
TMUX_CMD="tmux -L samsa-security-e2e-$$"
BROKER_PID=
PLAIN_PID=
FAILS=0
PASSWORD='carol-Pw-7731'

cleanup() {
  $TMUX_CMD kill-session -t "$SESSION" 2>/dev/null
  $TMUX_CMD kill-server 2>/dev/null
  for p in $BROKER_PID $PLAIN_PID; do
    kill "$p" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "[security-e2e] $*"; }
screen() { $TMUX_CMD capture-pane -t "$SESSION" -p 2>/dev/null; }
fail() { log "FAIL: $*"; FAILS=$((FAILS + 1)); screen | sed 's/^/    | /'; }
pass() { log "ok: $*"; }
keys() { $TMUX_CMD send-keys -t "$SESSION" "$@"; sleep 0.3; }
# Types text literally (no key names), then waits a little.
typed() { $TMUX_CMD send-keys -t "$SESSION" -l -- "$1"; sleep 0.3; }
wait_for() {
  local deadline=$(( $(date +%s) + ${2:-15} ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    screen | grep -qF -- "$1" && return 0
    sleep 0.3
  done
  return 1
}
expect() { if wait_for "$1" "${2:-15}"; then pass "screen shows '$1'"; else fail "screen never showed '$1'"; fi; }
start_console() {
  $TMUX_CMD kill-session -t "$SESSION" 2>/dev/null
  $TMUX_CMD new-session -d -s "$SESSION" -x 160 -y 40 "cd $WORK && $* --log-file $WORK/console.log; echo CONSOLE-EXITED rc=\$?; sleep 600"
}
quit_console() { keys q; wait_for "CONSOLE-EXITED" 20 || fail "the console did not quit"; }
cli() { "$SAMSA_BIN" "$@" --bootstrap-server "$BOOT" --command-config "$WORK/admin.properties"; }

[ -x "$SAMSA_BIN" ] || { log "no samsa binary at $SAMSA_BIN (swift build first)"; exit 1; }
command -v tmux >/dev/null || { log "tmux is required"; exit 1; }
command -v kcat >/dev/null || { log "kcat is required"; exit 1; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BOOT=127.0.0.1:$PORT
JAAS='org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-pw" user_admin="admin-pw" user_alice="alice-pw";'
cat > "$WORK/server.properties" <<EOF
node.id=1
listeners=SASL_PLAINTEXT://$BOOT
advertised.listeners=SASL_PLAINTEXT://$BOOT
log.dirs=$WORK/data
num.partitions=1
offsets.topic.num.partitions=2
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=$JAAS
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
EOF
for u in admin alice; do
  printf 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="%s" password="%s-pw";\n' \
    "$u" "$u" > "$WORK/$u.properties"
done

"$SAMSA_BIN" broker --config "$WORK/server.properties" > "$WORK/broker.log" 2>&1 &
BROKER_PID=$!
ready=
for _ in $(seq 1 120); do
  if cli acl list >/dev/null 2>&1; then ready=1; break; fi
  kill -0 "$BROKER_PID" 2>/dev/null || break
  sleep 0.5
done
[ -n "$ready" ] || { log "broker did not come up"; tail -20 "$WORK/broker.log"; exit 1; }
log "broker up at $BOOT (pid $BROKER_PID)"
# A session that outlives the consoles' sessions: killing the only session ends the tmux
# server, and the next console's new-session raced its shutdown ("no server running").
$TMUX_CMD new-session -d -s keeper "sleep 3600"

# --- A. admin adds, lists, deletes ------------------------------------------------------
log "== A. admin: add ACLs and a SCRAM user from the console"
start_console "$SAMSA_BIN console --bootstrap-server $BOOT --command-config $WORK/admin.properties --refresh 1"
expect "Topics [" 30
keys ':'; typed 'acl'; keys Enter
expect "no ACLs (a add" 15
keys ':'; typed 'acl add User:alice Read,Write topic e2e- prefixed'; keys Enter
expect "add 2 ACLs ALLOW User:alice Read on TOPIC e2e- (PREFIXED) from host *" 10
keys y
expect "added 2 ACLs" 20
expect "ACLs [2]" 10
rows=$(screen | grep -cE 'User:alice +\* +(Read|Write) +ALLOW +TOPIC +e2e- +PREFIXED')
if [ "$rows" = 2 ]; then pass "the ACL pane lists both bindings"; else fail "the ACL pane lists $rows of the 2 bindings"; fi
# Filter by resource with the console's filter.
keys '/'; typed 'Write'; keys Enter
expect "ACLs [1]" 5
keys Escape

keys ':'; typed 'user set carol SCRAM-SHA-512'; keys Enter
expect "Change the password of carol" 10
typed "$PASSWORD"
if screen | grep -qF "$PASSWORD"; then fail "the password is on the screen"; else pass "the password is masked"; fi
keys Enter; typed "$PASSWORD"; keys Enter; keys Enter
expect "set the SCRAM-SHA-512 credential of user carol (8192 iterations)" 20
expect "SCRAM users [1]" 10
if screen | grep -qE 'carol +SCRAM-SHA-512 +8192'; then pass "the Users pane lists carol"; else fail "the Users pane does not list carol"; fi

acls=$(cli acl list --principal User:alice --output json)
if echo "$acls" | python3 -c '
import json, sys
rows = json.load(sys.stdin)
got = sorted((r["operation"], r["resourceType"], r["resourceName"], r["patternType"], r["permission"]) for r in rows)
sys.exit(0 if got == [("Read", "TOPIC", "e2e-", "PREFIXED", "ALLOW"), ("Write", "TOPIC", "e2e-", "PREFIXED", "ALLOW")] else 1)'; then
  pass "samsa acl list finds both ACLs"
else
  fail "samsa acl list: $acls"
fi
users=$(cli user list --output json)
if echo "$users" | python3 -c '
import json, sys
u = {x["user"]: x["credentials"] for x in json.load(sys.stdin)}
sys.exit(0 if u.get("carol") == [{"mechanism": "SCRAM-SHA-512", "iterations": 8192}] else 1)'; then
  pass "samsa user list finds carol (SCRAM-SHA-512, 8192)"
else
  fail "samsa user list: $users"
fi
if kcat -b "$BOOT" -X security.protocol=sasl_plaintext -X sasl.mechanisms=SCRAM-SHA-512 -X sasl.username=carol \
     -X "sasl.password=$PASSWORD" -L -m 10 >/dev/null 2>&1; then
  pass "carol logs in with SCRAM-SHA-512 and the password typed in the console"
else
  fail "carol cannot log in with the password typed in the console"
fi

# Delete one ACL (the selected row) and the user.
keys ':'; typed 'acl'; keys Enter
expect "ACLs [2]" 10
keys d
expect "delete the ACL ALLOW User:alice" 5
keys y
expect "deleted ACL ALLOW User:alice" 20
expect "ACLs [1]" 10
keys ':'; typed 'user delete carol'; keys Enter
expect "delete the SCRAM-SHA-512 credential of user carol?" 5
keys y
expect "deleted the SCRAM-SHA-512 credential of user carol" 20
n=$(cli acl list --principal User:alice --output json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
if [ "$n" = 1 ]; then pass "samsa acl list: 1 ACL left"; else fail "samsa acl list: $n ACLs left, not 1"; fi
if cli user list --output json | grep -q carol; then fail "carol still exists"; else pass "samsa user list: carol is gone"; fi
quit_console
if ! grep -qF "set the SCRAM-SHA-512 credential of user carol" "$WORK/console.log"; then
  fail "the console log does not record the user change (wrong log file?)"
elif grep -rqF "$PASSWORD" "$WORK"/console.log*; then
  fail "the password is in the console log"
else
  pass "the password is not in the console log"
fi

# --- B. read-only ---------------------------------------------------------------------------
log "== B. --read-only"
start_console "$SAMSA_BIN console --bootstrap-server $BOOT --command-config $WORK/admin.properties --read-only"
expect "Topics [" 30
keys ':'; typed 'acl'; keys Enter
expect "ACLs [1]" 15
keys ':'; typed 'acl add User:bob Read topic ro'; keys Enter
expect "read-only: add ACL is disabled (started with --read-only)" 5
quit_console
if cli acl list --principal User:bob --output json | grep -q bob; then fail "read-only created an ACL"; else pass "read-only created nothing"; fi

# --- C. alice is refused ------------------------------------------------------------------------
log "== C. alice (not a super user)"
start_console "$SAMSA_BIN console --bootstrap-server $BOOT --command-config $WORK/alice.properties"
expect "Topics [" 30
keys ':'; typed 'acl'; keys Enter
expect "CLUSTER_AUTHORIZATION_FAILED" 15
keys ':'; typed 'acl add User:alice All cluster'; keys Enter
expect "add the ACL ALLOW User:alice All on CLUSTER kafka-cluster" 5
keys y
expect "failed: CLUSTER_AUTHORIZATION_FAILED" 20
quit_console

# --- D. no authorizer ---------------------------------------------------------------------------
log "== D. a broker without an authorizer"
PLAIN_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK/plain"
cat > "$WORK/plain/server.properties" <<EOF
node.id=1
listeners=PLAINTEXT://127.0.0.1:$PLAIN_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PLAIN_PORT
log.dirs=$WORK/plain/data
num.partitions=1
offsets.topic.num.partitions=2
EOF
"$SAMSA_BIN" broker --config "$WORK/plain/server.properties" > "$WORK/plain/broker.log" 2>&1 &
PLAIN_PID=$!
start_console "$SAMSA_BIN console --bootstrap-server 127.0.0.1:$PLAIN_PORT"
expect "Topics [" 60
keys ':'; typed 'acl'; keys Enter
expect "this cluster has no authorizer (SECURITY_DISABLED)" 15
quit_console

if [ "$FAILS" -gt 0 ]; then log "$FAILS check(s) failed"; exit 1; fi
log "all checks passed"
