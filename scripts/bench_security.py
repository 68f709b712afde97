#!/usr/bin/env python3
"""TLS and SASL cost on the broker (issue 14 item 6), one broker, one run, side by side.

One `samsa broker` with five listeners on loopback: PLAINTEXT, SSL, SASL_PLAINTEXT (PLAIN and
SCRAM-SHA-256/512), SASL_SSL. For each listener, in rounds that alternate the listeners (so a
noisy machine hurts each alike):
1. produce COUNT records of SIZE bytes (confluent-kafka, acks=1, linger.ms 5, one partition,
   a topic per listener) until every delivery report is back: records/s;
2. consume them back with a fresh consumer (assign, from the beginning): records/s;
and, per mechanism, the connection set-up rate: CONNS sequential new confluent-kafka clients
each connecting (TCP, TLS handshake, ApiVersions, SaslHandshake/SaslAuthenticate) and
fetching Metadata, per second; the client's own start-up is in every variant alike.
Prints the medians and each as a ratio of PLAINTEXT, and a JSON line.

Usage: scripts/bench_security.py [--count N] [--size B] [--rounds R] [--conns C]
(uses .build/debug/samsa or SAMSA_BIN; openssl makes a throw-away CA).
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
sys.path.insert(0, str(ROOT / "Tests/interop"))
os.environ.setdefault("SAMSA_BIN", str(ROOT / ".build/debug/samsa"))

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from own_broker import OwnBroker, free_port  # noqa: E402
from test_tls_broker import make_pki  # noqa: E402

JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
        'username="bench" password="bench-pw" user_bench="bench-pw";')


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=200_000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--conns", type=int, default=200)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="samsa-bench-sec-"))
    pki = make_pki(tmp / "pki")
    ob = OwnBroker(tmp / "broker")
    ports = {n: free_port() for n in ("SSL", "SASL_PLAINTEXT", "SASL_SSL")}
    listeners = ",".join([f"PLAINTEXT://127.0.0.1:{ob.port}"] + [f"{n}://127.0.0.1:{p}" for n, p in ports.items()])
    props = {
        "node.id": "1", "listeners": listeners, "advertised.listeners": listeners, "log.dirs": str(ob.log_dir),
        "num.partitions": "1", "offsets.topic.num.partitions": "1", "group.initial.rebalance.delay.ms": "0",
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
        "listener.name.sasl_ssl.plain.sasl.jaas.config": JAAS,
        "ssl.keystore.type": "PEM", "ssl.keystore.location": str(pki["server-keystore.pem"]),
    }
    ob.config.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    subprocess.run([os.environ["SAMSA_BIN"], "storage", "format", "-c", str(ob.config),
                    "--add-scram", "SCRAM-SHA-256=[name=bench,password=bench-pw]",
                    "--add-scram", "SCRAM-SHA-512=[name=bench,password=bench-pw]"], check=True, capture_output=True)
    ob.start()
    ca = str(pki["ca.pem"])
    variants = {
        "PLAINTEXT": {"bootstrap.servers": ob.bootstrap},
        "SSL": {"bootstrap.servers": f"127.0.0.1:{ports['SSL']}", "security.protocol": "ssl", "ssl.ca.location": ca},
        "SASL_PLAINTEXT/SCRAM-SHA-256": {"bootstrap.servers": f"127.0.0.1:{ports['SASL_PLAINTEXT']}",
                                         "security.protocol": "sasl_plaintext", "sasl.mechanisms": "SCRAM-SHA-256",
                                         "sasl.username": "bench", "sasl.password": "bench-pw"},
        "SASL_SSL/SCRAM-SHA-512": {"bootstrap.servers": f"127.0.0.1:{ports['SASL_SSL']}", "security.protocol": "sasl_ssl",
                                   "ssl.ca.location": ca, "sasl.mechanisms": "SCRAM-SHA-512",
                                   "sasl.username": "bench", "sasl.password": "bench-pw"},
    }
    try:
        admin = AdminClient({"bootstrap.servers": ob.bootstrap})
        topics = {name: f"sec-{i}" for i, name in enumerate(variants)}
        for f in admin.create_topics([NewTopic(t, 1, 1) for t in topics.values()]).values():
            f.result(timeout=30)
        value = b"x" * args.size
        produce: dict[str, list[float]] = {n: [] for n in variants}
        consume: dict[str, list[float]] = {n: [] for n in variants}
        for r in range(args.rounds):
            for name, conf in variants.items():
                topic = f"{topics[name]}-r{r}"
                for f in admin.create_topics([NewTopic(topic, 1, 1)]).values():
                    f.result(timeout=30)
                p = Producer({**conf, "acks": "1", "linger.ms": 5, "batch.size": 1_000_000,
                              "queue.buffering.max.messages": 1_000_000})
                done = [0]
                t0 = time.perf_counter()
                for _ in range(args.count):
                    while True:
                        try:
                            p.produce(topic, value, on_delivery=lambda e, m: done.__setitem__(0, done[0] + (e is None)))
                            break
                        except BufferError:
                            p.poll(0.01)
                p.flush(120)
                produce[name].append(args.count / (time.perf_counter() - t0))
                assert done[0] == args.count, f"{name}: {done[0]}/{args.count} delivered"
                c = Consumer({**conf, "group.id": f"bench-{name}-{r}", "enable.auto.commit": False,
                              "fetch.max.bytes": 52_428_800})
                c.assign([TopicPartition(topic, 0, 0)])
                got = 0
                t0 = time.perf_counter()
                while got < args.count:
                    batch = c.consume(10_000, 5)
                    got += sum(1 for m in batch if not m.error())
                consume[name].append(args.count / (time.perf_counter() - t0))
                c.close()
                print(f"round {r} {name}: produce {produce[name][-1]:,.0f}/s consume {consume[name][-1]:,.0f}/s", flush=True)

        conns: dict[str, float] = {}
        plain_sasl = {"bootstrap.servers": f"127.0.0.1:{ports['SASL_PLAINTEXT']}", "security.protocol": "sasl_plaintext",
                      "sasl.mechanisms": "PLAIN", "sasl.username": "bench", "sasl.password": "bench-pw"}
        for name, conf in [("PLAINTEXT", variants["PLAINTEXT"]), ("SSL", variants["SSL"]),
                           ("SASL_PLAINTEXT/PLAIN", plain_sasl)] + [(n, variants[n]) for n in list(variants)[2:]]:
            t0 = time.perf_counter()
            for _ in range(args.conns):
                md = AdminClient(conf).list_topics(timeout=10)
                assert md.brokers, f"{name}: no metadata"
            conns[name] = args.conns / (time.perf_counter() - t0)
            print(f"connections {name}: {conns[name]:,.1f}/s", flush=True)
    finally:
        ob.stop()

    base_p, base_c = statistics.median(produce["PLAINTEXT"]), statistics.median(consume["PLAINTEXT"])
    print(f"\n{'listener':32} {'produce/s':>12} {'ratio':>6} {'consume/s':>12} {'ratio':>6}")
    result = {"count": args.count, "size": args.size, "rounds": args.rounds, "throughput": {}, "connections_per_s": conns}
    for name in variants:
        mp, mc = statistics.median(produce[name]), statistics.median(consume[name])
        result["throughput"][name] = {"produce": round(mp), "consume": round(mc),
                                      "produce_ratio": round(mp / base_p, 3), "consume_ratio": round(mc / base_c, 3)}
        print(f"{name:32} {mp:12,.0f} {mp / base_p:6.2f} {mc:12,.0f} {mc / base_c:6.2f}")
    base_conn = conns["PLAINTEXT"]
    print(f"\n{'connection set-up':32} {'per s':>12} {'ratio':>6}")
    for name, rate in conns.items():
        print(f"{name:32} {rate:12,.0f} {rate / base_conn:6.2f}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
