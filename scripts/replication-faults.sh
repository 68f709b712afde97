#!/usr/bin/env bash
# Long form of the replication fault tests (issue 12 items 7, 9), figures for BENCHMARKS.md.
#
# Runs Tests/fault/test_replication_faults.py::test_kill9_partition_leader_repeatedly with KILLS
# kill -9s of a partition leader (3 combined nodes, RF 3, min.insync.replicas 2, acks=all and
# idempotent producers from confluent-kafka and `samsa produce`, the checker at the end), with
# Kafka's default broker.session.timeout.ms (9000) unless SESSION_MS says otherwise, then prints
# p50/p99/max of
#   kill_to_ack_s   kill -9 of the leader -> the acknowledgement of the first acks=all produce
#                   to that partition sent after the kill (confluent-kafka, request.timeout.ms
#                   10000, topic.metadata.refresh.interval.ms 1000)
#   isr_rejoin_s    the killed node listening again -> every partition's ISR back to 3
# With ALL=1 it then runs the whole fault file (SIGSTOP, rolling and full restarts) once.
# LAYOUT=dedicated runs it on 3 controller-only nodes + 3 brokers (Kafka's production layout:
# a killed partition leader is never the active controller) instead of 3 combined nodes.
#
# Usage: scripts/replication-faults.sh [KILLS]   (default 50; uses .build/debug/samsa or SAMSA_BIN)
set -euo pipefail
cd "$(dirname "$0")/.."
KILLS=${1:-50}
PY=${PY:-/opt/peers-venv/bin/python}
OUT=$(mktemp /tmp/samsa-repl-timings.XXXXXX.json)
export SAMSA_REPL_SESSION_MS=${SESSION_MS:-9000}
export SAMSA_REPL_LAYOUT=${LAYOUT:-combined}
echo "replication-faults: $KILLS kills, $SAMSA_REPL_LAYOUT nodes, broker.session.timeout.ms=$SAMSA_REPL_SESSION_MS, timings in $OUT"
echo "machine: $(nproc) cores, $(uname -srm), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
rc=0
SAMSA_REPL_KILLS=$KILLS SAMSA_REPL_TIMINGS=$OUT "$PY" -m pytest -q -s -p no:cacheprovider --timeout=$(( 600 + KILLS * 60 )) \
  "Tests/fault/test_replication_faults.py::test_kill9_partition_leader_repeatedly" 2>&1 | grep -v '^%' || rc=$?
"$PY" - "$OUT" <<'PYEOF'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
for run in runs:
    for key in ("kill_to_ack_s", "isr_rejoin_s"):
        xs = run.get(key) or []
        if xs:
            print(f"{run['test']} rf={run['rf']} {key:14} n={len(xs):3}  p50={pct(xs,50):6.2f}s  "
                  f"p99={pct(xs,99):6.2f}s  max={max(xs):6.2f}s")
PYEOF
if [ "${ALL:-0}" = 1 ]; then
  "$PY" -m pytest -q -p no:cacheprovider Tests/fault/test_replication_faults.py Tests/fault/test_failover_clients.py || rc=1
fi
exit "$rc"
