"""Brokers that authenticate to each other (issue 14 item 1: inter-broker traffic secured).

Three combined KRaft nodes whose only broker listener is SASL_PLAINTEXT (PLAIN), with
`inter.broker.listener.name=SASL_PLAINTEXT` and `sasl.mechanism.inter.broker.protocol=PLAIN`:
the followers' fetchers must log in with the JAAS config's `username` / `password` or nothing
replicates. Every partition of a replication-factor-3 topic must show all 3 replicas in its
ISR after acks=all writes (a follower joins the ISR only by fetching up to the leader's end),
so that proves both followers fetch over SASL. Then a leader is killed (kill -9) and every
acknowledged record is read back from the new leaders; no broker logs a failed authentication.
"""

from __future__ import annotations

import subprocess
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from own_broker import OwnBroker, free_port, samsa_bin

JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
        'username="broker" password="broker-pw" user_broker="broker-pw" user_app="app-pw";')


def client(bootstrap: str, **extra) -> dict:
    return {"bootstrap.servers": bootstrap, "security.protocol": "sasl_plaintext", "sasl.mechanisms": "PLAIN",
            "sasl.username": "app", "sasl.password": "app-pw", **extra}


def test_followers_replicate_over_sasl(tmp_path):
    binary = samsa_bin()
    assert binary, "no samsa binary"
    bports = {i: free_port() for i in (1, 2, 3)}
    cports = {i: free_port() for i in (1, 2, 3)}
    voters = ",".join(f"{i}@127.0.0.1:{cports[i]}" for i in (1, 2, 3))
    cluster_id = subprocess.run([binary, "storage", "random-uuid"], capture_output=True, text=True, check=True).stdout.strip()
    nodes: dict[int, OwnBroker] = {}
    for i in (1, 2, 3):
        listeners = f"SASL_PLAINTEXT://127.0.0.1:{bports[i]},CONTROLLER://127.0.0.1:{cports[i]}"
        n = OwnBroker(tmp_path / f"node{i}", extra={
            "process.roles": "broker,controller", "node.id": str(i), "controller.quorum.voters": voters,
            "controller.listener.names": "CONTROLLER", "listeners": listeners,
            "advertised.listeners": f"SASL_PLAINTEXT://127.0.0.1:{bports[i]}",
            "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "SASL_PLAINTEXT", "sasl.enabled.mechanisms": "PLAIN",
            "sasl.mechanism.inter.broker.protocol": "PLAIN",
            "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
            "controller.quorum.election.timeout.ms": "1000", "broker.heartbeat.interval.ms": "500",
            "broker.session.timeout.ms": "4000", "offsets.topic.replication.factor": "3",
            "default.replication.factor": "3",
        })
        n.port = bports[i]
        n.bootstrap = f"127.0.0.1:{bports[i]}"
        subprocess.run([binary, "storage", "format", "-t", cluster_id, "-c", str(n.config)], check=True,
                       capture_output=True, timeout=60)
        nodes[i] = n
    try:
        for n in nodes.values():
            n.spawn()
        for n in nodes.values():
            assert n.wait_ready_or_exit(90) is None, n.tail()
        bootstrap = ",".join(n.bootstrap for n in nodes.values())
        admin = AdminClient(client(bootstrap))
        deadline = time.time() + 90
        while True:
            try:
                for f in admin.create_topics([NewTopic("secure-repl", 3, 3, config={"min.insync.replicas": "2"})]).values():
                    f.result(timeout=30)
                break
            except Exception as e:  # brokers still registering: retried as an operator would
                if "TOPIC_ALREADY_EXISTS" in str(e):  # an earlier attempt got through
                    break
                if time.time() > deadline:
                    raise
                time.sleep(1)

        acked: dict[int, list[tuple[int, bytes]]] = {0: [], 1: [], 2: []}
        errors: list = []

        def on_delivery(err, msg):
            if err is None:
                acked[msg.partition()].append((msg.offset(), msg.value()))
            else:
                errors.append(err)

        p = Producer(client(bootstrap, acks="all", **{"enable.idempotence": True, "message.timeout.ms": 60000}))
        for i in range(600):
            p.produce("secure-repl", f"v{i}".encode(), partition=i % 3, on_delivery=on_delivery)
        assert p.flush(90) == 0
        assert not errors, errors[:3]
        assert sum(len(v) for v in acked.values()) == 600
        deadline = time.time() + 30
        while True:
            parts = admin.list_topics("secure-repl", timeout=15).topics["secure-repl"].partitions
            if all(len(p.isrs) == 3 for p in parts.values()):
                break
            assert time.time() < deadline, f"followers never joined the ISR: {[(i, p.isrs) for i, p in parts.items()]}"
            time.sleep(0.5)

        # kill -9 the leader of partition 0; its records are on the other two.
        md = admin.list_topics("secure-repl", timeout=15)
        leader = md.topics["secure-repl"].partitions[0].leader
        nodes[leader].kill9()
        survivors = ",".join(n.bootstrap for i, n in nodes.items() if i != leader)
        c = Consumer(client(survivors, **{"group.id": "secure-check", "enable.auto.commit": False}))
        for part in (0, 1, 2):
            want = dict(acked[part])
            got: dict[int, bytes] = {}
            c.assign([TopicPartition("secure-repl", part, 0)])
            deadline = time.time() + 90
            while len(got) < len(want) and time.time() < deadline:
                m = c.poll(1)
                if m is not None and not m.error():
                    got[m.offset()] = m.value()
            missing = [o for o in want if got.get(o) != want[o]]
            if missing:
                print("watermarks", c.get_watermark_offsets(TopicPartition("secure-repl", part), timeout=10))
                print("metadata", {i: (p.leader, p.isrs) for i, p in AdminClient(client(survivors)).list_topics(
                    "secure-repl", timeout=15).topics["secure-repl"].partitions.items()})
            assert not missing, f"partition {part}: {len(missing)} acknowledged records not read back (first {missing[:5]})"
        c.close()
        for i, n in nodes.items():
            if i != leader:
                assert "Failed authentication" not in n.run_output(), f"node {i} refused a login"
    finally:
        for n in nodes.values():
            if n.proc is not None:
                n.stop()
