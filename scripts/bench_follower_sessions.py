#!/usr/bin/env python3
"""Follower fetch sessions on vs off, side by side: 3 combined nodes (Tests/interop/own_cluster),
one topic of PARTITIONS partitions at replication factor 3, and a light trickle of acks=all
records (RATE/s) for DURATION seconds; the same binary with
`max.incremental.fetch.session.cache.slots` 1000 (followers fetch through sessions) and 0 (every
follower fetch names every partition). Runs alternate (off, on, ...). Per run: the three
processes' CPU seconds (utime+stime from /proc), the follower fetches the leaders answered per
second (`kafka_network_requestmetrics_requests_total{request="FetchFollower"}`), and the
records acknowledged.

Usage: SAMSA_BIN=.build/release/samsa /opt/peers-venv/bin/python scripts/bench_follower_sessions.py
       [--partitions 600] [--duration 30] [--rounds 2] [--rate 20]
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Tests" / "interop"))
from own_broker import free_port  # noqa: E402
from own_cluster import OwnCluster  # noqa: E402
from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def follower_fetches(port: int) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
               if l.startswith("kafka_network_requestmetrics_requests_total{") and 'request="FetchFollower"' in l)


def run(slots: int, partitions: int, duration: float, rate: float) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="samsa-bench-fsf-"))
    c = OwnCluster(tmp / "c", controllers=3, combined=True,
                   extra={"max.incremental.fetch.session.cache.slots": str(slots), "min.insync.replicas": "2"})
    mports = {}
    for i, n in c.nodes.items():
        mports[i] = free_port()
        n.config.write_text(n.config.read_text() + f"metrics.listener=http://127.0.0.1:{mports[i]}\n")
    try:
        c.start()
        c.wait_for_leader()
        admin = AdminClient({"bootstrap.servers": c.bootstrap()})
        admin.create_topics([NewTopic("fsf", partitions, 3)])["fsf"].result(timeout=60)
        time.sleep(5)  # every follower fetcher started and caught up
        p = Producer({"bootstrap.servers": c.bootstrap(), "acks": "all", "linger.ms": 0, "log_level": 2})
        acked = [0]

        def cb(err, _msg):
            if err is None:
                acked[0] += 1
        pids = [n.proc.pid for n in c.nodes.values()]
        cpu0 = sum(cpu_seconds(pid) for pid in pids)
        f0 = sum(follower_fetches(port) for port in mports.values())
        t0 = time.time()
        i = 0
        while time.time() - t0 < duration:
            p.produce("fsf", value=b"x" * 100, partition=i % partitions, on_delivery=cb)
            i += 1
            p.poll(0)
            time.sleep(max(0.0, t0 + i / rate - time.time()))
        p.flush(30)
        elapsed = time.time() - t0
        cpu1 = sum(cpu_seconds(pid) for pid in pids)
        f1 = sum(follower_fetches(port) for port in mports.values())
        return {"slots": slots, "cpu_s": cpu1 - cpu0, "fetches_per_s": (f1 - f0) / elapsed, "acked": acked[0],
                "elapsed": elapsed}
    finally:
        c.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--partitions", type=int, default=600)
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--rate", type=float, default=20)
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, {platform.platform()}; binary {os.environ.get('SAMSA_BIN')}")
    print(f"3 combined nodes, {a.partitions} partitions at RF 3, {a.rate:g} acks=all records/s, {a.duration:g} s per run")
    print(f"{'sessions':9} {'CPU s (3 nodes)':>16} {'follower fetches/s':>19} {'acked':>6}")
    for _ in range(a.rounds):
        for slots in (0, 1000):
            r = run(slots, a.partitions, a.duration, a.rate)
            print(f"{'on' if slots else 'off':9} {r['cpu_s']:16.2f} {r['fetches_per_s']:19.1f} {r['acked']:6d}", flush=True)


if __name__ == "__main__":
    main()
