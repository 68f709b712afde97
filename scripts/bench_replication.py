#!/usr/bin/env python3
"""Replication benchmarks for BENCHMARKS.md (issue 12 item 9), on 3 combined nodes on this
machine (Tests/fault/replication_harness.ReplCluster: real `samsa broker` processes on
loopback, min.insync.replicas 2).

1. Produce throughput, one producer (../shared/peers/perf_produce.py: confluent-kafka,
   COUNT records of SIZE bytes, linger.ms 5, one partition), alternating runs:
   acks=all at RF 3 vs RF 1, acks=1 at RF 3 vs RF 1. Prints records/s and the ratios the issue
   sets goals for (acks=all RF3/RF1 >= 50%, acks=1 RF3/RF1 >= 90%).
2. Catch-up: a follower of an RF 3 partition is stopped (SIGTERM), CATCHUP_MB of records are
   produced (acks=all, the two others are in the ISR), the follower is restarted, and the time
   from its port listening again to it being back in the partition's ISR is measured.

Usage: scripts/bench_replication.py [--count N] [--size B] [--runs R] [--catchup-mb MB]
(uses .build/debug/samsa or SAMSA_BIN; SAMSA_SHARED for perf_produce.py, default ../shared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests/fault"))
sys.path.insert(0, str(ROOT / "Tests/interop"))

from replication_harness import ReplCluster  # noqa: E402

SHARED = Path(os.environ.get("SAMSA_SHARED", ROOT.parent / "shared"))
PY = sys.executable


def perf(bootstrap: str, topic: str, count: int, size: int, acks: str) -> float:
    out = subprocess.run([PY, str(SHARED / "peers/perf_produce.py"), bootstrap, topic, str(count), str(size),
                          acks, "1", "--json", "--timeout", "600"], capture_output=True, text=True, timeout=700)
    if out.returncode != 0:
        raise SystemExit(f"perf_produce {topic} acks={acks} failed: {out.stdout[-500:]}{out.stderr[-500:]}")
    line = [l for l in out.stdout.splitlines() if l.startswith("{")][-1]
    r = json.loads(line)
    return float(r["records_per_s"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=200000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3, help="throughput runs (0: only the catch-up)")
    ap.add_argument("--catchup-mb", type=int, default=100)
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, {os.uname().sysname} {os.uname().release} {os.uname().machine}")
    with tempfile.TemporaryDirectory(prefix="samsa-bench-repl.") as tmp:
        cluster = ReplCluster(Path(tmp))
        try:
            cluster.start()
            cluster.wait_for_leader()
            boot = cluster.bootstrap()
            rates: dict[tuple[str, int], list[float]] = {}
            for run in range(a.runs):
                for acks in ("all", "1"):
                    for rf in (1, 3):
                        topic = f"bench-{acks}-rf{rf}-{run}"
                        cluster.create_topic(topic, 1, rf=rf)
                        r = perf(boot, topic, a.count, a.size, acks)
                        rates.setdefault((acks, rf), []).append(r)
                        print(f"run {run + 1}: acks={acks} RF {rf}: {r:,.0f} records/s", flush=True)
            if a.runs:
                print(f"\n| acks | RF 1 records/s (median of {a.runs}) | RF 3 records/s | RF 3 / RF 1 |")
                print("|---|---|---|---|")
            for acks in (("all", "1") if a.runs else ()):
                m1 = statistics.median(rates[(acks, 1)])
                m3 = statistics.median(rates[(acks, 3)])
                print(f"| {acks} | {m1:,.0f} | {m3:,.0f} | {m3 / m1:.0%} |")

            # Catch-up of a restarted follower.
            topic = "bench-catchup"
            cluster.create_topic(topic, 1, rf=3)
            deadline = time.time() + 60
            while 0 not in cluster.partitions(topic):  # the broker asked may apply it a moment later
                assert time.time() < deadline, f"{topic} not in Metadata"
                time.sleep(0.2)
            leader, replicas, _ = cluster.partitions(topic)[0]
            follower = next(r for r in replicas if r != leader)
            cluster.nodes[follower].terminate(timeout=60)
            count = a.catchup_mb * 1_000_000 // 1000
            perf(cluster.bootstrap(), topic, count, 1000, "all")
            def held_mb() -> float:
                return sum(f.stat().st_size for f in Path(tmp).rglob(f"{topic}-0/*.log")
                           if f"node{follower}" in str(f) or f"/{follower}/" in str(f)) / 1e6
            before = held_mb()
            started = time.time()
            cluster.restart(follower)   # returns once its client port listens
            t0 = time.time()
            deadline = t0 + 300
            while True:
                isr = cluster.partitions(topic).get(0, (None, None, []))[2]
                if follower in isr:
                    break
                if time.time() > deadline:
                    raise SystemExit(f"follower {follower} not back in the ISR within 300 s: {isr}")
                time.sleep(0.1)
            now = time.time()
            # What the follower holds now (its partition directory), to show it really was behind.
            print(f"follower {follower}: {before:.1f} MB of {topic}-0 before the restart, {held_mb():.1f} MB once back in the ISR")
            print(f"\ncatch-up: follower {follower} back in the ISR {now - t0:.2f} s after it listened again, "
                  f"{now - started:.2f} s after the restart began, {a.catchup_mb} MB behind ({count} records of 1000 B)")
        finally:
            cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
