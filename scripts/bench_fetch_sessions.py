#!/usr/bin/env python3
"""Fetch sessions (KIP-227) on vs off, side by side, one client: kafka-python 3.0's consumer
(which opens an incremental session when the broker offers one) assigned to every partition of
a topic with a light trickle of records, for DURATION seconds per run, against the same samsa
binary with `max.incremental.fetch.session.cache.slots` 1000 (sessions) and 0 (every fetch
full). Runs alternate (off, on, off, on, ...) so drift hits both. Per run it prints the
consumer's network bytes in and out per fetch (kafka-python's own `consumer-metrics`), fetches
per second, the broker's CPU seconds (utime+stime from /proc) and the records consumed.

Usage: SAMSA_BIN=.build/release/samsa scripts/bench_fetch_sessions.py [--partitions 500]
       [--duration 20] [--rounds 2]   (run with the peers venv: /opt/peers-venv/bin/python)
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Tests" / "interop"))
from own_broker import OwnBroker  # noqa: E402
from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import KafkaAdminClient, NewTopic  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(slots: int, partitions: int, duration: float, rate: float) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="samsa-bench-fs-"))
    broker = OwnBroker(tmp, extra={"max.incremental.fetch.session.cache.slots": str(slots)})
    broker.start()
    try:
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        admin.create_topics([NewTopic("fs", num_partitions=partitions, replication_factor=1)])
        admin.close()
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks=1, linger_ms=0)
        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest",
                                 enable_auto_commit=False, metrics_num_samples=2,
                                 metrics_sample_window_ms=int(duration * 1000))
        consumer.assign([TopicPartition("fs", p) for p in range(partitions)])
        consumer.poll(timeout_ms=2000)  # warm-up: metadata, first full fetch
        stop = threading.Event()
        sent = [0]

        def produce():
            i = 0
            while not stop.is_set():
                producer.send("fs", value=b"x" * 100, partition=i % partitions)
                i += 1
                sent[0] += 1
                time.sleep(1 / rate)

        t = threading.Thread(target=produce, daemon=True)
        t.start()
        cpu0, t0 = cpu_seconds(broker.proc.pid), time.time()
        got = 0
        while time.time() - t0 < duration:
            for msgs in consumer.poll(timeout_ms=200).values():
                got += len(msgs)
        elapsed = time.time() - t0
        cpu1 = cpu_seconds(broker.proc.pid)
        m = consumer.metrics()
        stop.set()
        t.join()
        # kafka-python keeps rates, not totals: its windows (metrics_sample_window_ms below)
        # span the run; the connection to node 1 carries the fetches.
        node = m["consumer-node-metrics.node-1"]
        fetch_rate = m["consumer-fetch-manager-metrics"]["fetch-rate"]
        responses = max(1e-9, node["response-rate"])
        consumer.close()
        producer.close()
        return {"slots": slots, "fetch_rate": fetch_rate,
                "in_per_fetch": node["incoming-byte-rate"] / responses, "out_per_fetch": node["request-size-avg"],
                "broker_cpu_s": cpu1 - cpu0, "records": got, "elapsed": elapsed}
    finally:
        broker.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--partitions", type=int, default=500)
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--rate", type=float, default=50, help="records/s produced meanwhile")
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, {platform.platform()}; binary {os.environ.get('SAMSA_BIN')}")
    print(f"kafka-python consumer on {a.partitions} partitions, {a.rate:g} records/s trickle, {a.duration:g} s per run")
    print(f"{'sessions':9} {'fetches/s':>9} {'B in/fetch':>11} {'B out/fetch':>12} {'broker CPU s':>13} {'records':>8}")
    for _ in range(a.rounds):
        for slots in (0, 1000):
            r = run(slots, a.partitions, a.duration, a.rate)
            print(f"{'on' if slots else 'off':9} {r['fetch_rate']:9.1f} {r['in_per_fetch']:11.0f} {r['out_per_fetch']:12.0f} "
                  f"{r['broker_cpu_s']:13.2f} {r['records']:8d}", flush=True)


if __name__ == "__main__":
    main()
