#!/usr/bin/env bash
# Controller failover figures for BENCHMARKS.md (issue 11 item 10): runs the multi-process
# quorum test (Tests/fault/test_quorum_processes.py: 3 controllers + 2 brokers, then 3 combined
# nodes) with KILLS kill -9s of the active controller each, and prints p50/p99/max of
#   new_leader_s         kill -9 -> a new leader reported by DescribeQuorum (polled by
#                        `samsa cluster describe`, ~0.1-0.3 s per poll, included)
#   create_after_kill_s  kill -9 -> the next CreateTopics acknowledged (confluent-kafka
#                        AdminClient, retried on errors, topic.metadata.refresh.interval.ms=1000)
# Usage: scripts/quorum-failover.sh [KILLS]   (default 20; uses .build/debug/samsa or SAMSA_BIN)
set -euo pipefail
cd "$(dirname "$0")/.."
KILLS=${1:-20}
PY=${PY:-/opt/peers-venv/bin/python}
OUT=$(mktemp /tmp/samsa-quorum-timings.XXXXXX.json)
SAMSA_QUORUM_KILLS=$KILLS SAMSA_QUORUM_TIMINGS=$OUT "$PY" -m pytest -q -p no:cacheprovider Tests/fault/test_quorum_processes.py
"$PY" - "$OUT" <<'PYEOF'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
names = ["3 controllers + 2 brokers", "3 combined nodes"]
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
for name, run in zip(names, runs):
    for key in ("new_leader_s", "create_after_kill_s"):
        xs = run[key]
        print(f"{name:28} {key:22} n={len(xs):3}  p50={pct(xs,50):6.2f}s  p99={pct(xs,99):6.2f}s  max={max(xs):6.2f}s")
PYEOF
