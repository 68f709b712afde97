"""Followers replicate through incremental fetch sessions (KIP-227), and survive losing them.

3 combined nodes, each with its metrics endpoint; a replication-factor-3 topic of 6 partitions:
* once replicating, every node's FetchSessionCache holds one session per follower (2) with the
  partitions it leads, twice (the followers' fetchers use sessions, as Kafka's do);
* a leader is killed with kill -9 while acks=all records flow (its followers' fetchers lose
  the connection, so their next fetch is full), restarted, and made the preferred leader again
  (ElectLeaders): its fresh cache holds exactly one new session per follower with the
  partitions it leads, and no partition stays under-replicated (the other leaders may keep the
  dead incarnation's session until it is evicted, as Kafka's cache does);
* every acks=all record acknowledged before and after is read back at its offset.
"""

from __future__ import annotations

import time
import urllib.request

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka import ElectionType

from own_broker import free_port
from own_cluster import OwnCluster

TOPIC, PARTS = "fsess", 6


def gauges(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith(("kafka_server_fetchsessioncache_", "kafka_server_replicamanager_")) and " " in line:
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def wait_for(what, check, timeout=60):
    deadline, last = time.time() + timeout, None
    while time.time() < deadline:
        try:
            last = check()
            if last is True:
                return
        except Exception as e:  # noqa: BLE001 - retried until the bound
            last = e
        time.sleep(0.3)
    raise AssertionError(f"{what} not reached within {timeout}s; last: {last}")


def test_followers_use_sessions_and_reopen_them_after_a_leader_restart(tmp_path):
    c = OwnCluster(tmp_path / "cluster", controllers=3, combined=True,
                   extra={"default.replication.factor": "3", "min.insync.replicas": "2"})
    mports = {}
    for i, n in c.nodes.items():
        mports[i] = free_port()
        n.config.write_text(n.config.read_text() + f"metrics.listener=http://127.0.0.1:{mports[i]}\n")
    acked: dict[tuple[int, int], bytes] = {}
    try:
        c.start()
        c.wait_for_leader()
        admin = AdminClient({"bootstrap.servers": c.bootstrap()})
        admin.create_topics([NewTopic(TOPIC, PARTS, 3)])[TOPIC].result(timeout=30)

        def produce(n: int, tag: str):
            p = Producer({"bootstrap.servers": c.bootstrap(), "acks": "all", "enable.idempotence": True, "log_level": 2})

            def cb(err, msg):
                if err is None:
                    acked[(msg.partition(), msg.offset())] = msg.value()
            for i in range(n):
                p.produce(TOPIC, value=f"{tag}-{i}".encode(), partition=i % PARTS, on_delivery=cb)
                p.poll(0)
            assert p.flush(60) == 0

        def leaders() -> dict[int, int]:
            md = admin.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions
            return {pid: m.leader for pid, m in md.items()}

        def sessions_match(exact: set[int]) -> bool | str:
            """Every leader holds a session per follower with its led partitions (exactly, on
            the nodes in `exact`; at least, elsewhere), and nothing is under-replicated."""
            led = {i: 0 for i in c.nodes}
            for leader in leaders().values():
                led[leader] += 1
            for i, port in mports.items():
                g = gauges(port)
                n = g.get("kafka_server_fetchsessioncache_numincrementalfetchsessions", -1)
                cached = g.get("kafka_server_fetchsessioncache_numincrementalfetchpartitionscached", -1)
                want_n, want_cached = (2 if led[i] else 0), 2 * led[i]
                ok = (n == want_n and cached == want_cached) if i in exact else (n >= want_n and cached >= want_cached)
                if not ok:
                    return f"node {i} leads {led[i]}: {n} sessions, {cached} partitions cached"
                if g.get("kafka_server_replicamanager_underreplicatedpartitions") != 0:
                    return f"node {i}: under-replicated {g}"
            return True

        produce(600, "a")
        wait_for("one session per follower on every leader", lambda: sessions_match(set(c.nodes)))

        victim = leaders()[0]
        c.nodes[victim].kill9()
        produce(600, "b")  # failover: acks=all through the new leaders meanwhile
        c.nodes[victim].spawn()
        assert c.nodes[victim].wait_ready_or_exit(60) is None, c.nodes[victim].tail()
        wait_for("the ISR full again", lambda: sessions_match(set()), timeout=90)
        # Preferred leaders again: the restarted node leads what it led before the kill.
        result = admin.elect_leaders(ElectionType.PREFERRED, [TopicPartition(TOPIC, p) for p in range(PARTS)]).result(timeout=30)
        for tp, err in result.items():
            # ELECTION_NOT_NEEDED: already led by its preferred replica.
            assert err is None or err.name() == "ELECTION_NOT_NEEDED", f"{tp}: {err}"
        wait_for("the restarted node leads again", lambda: victim in leaders().values() or "not yet")
        produce(600, "c")
        wait_for("new sessions on the restarted leader, the ISR full", lambda: sessions_match({victim}), timeout=90)

        # Every acknowledged record at its offset.
        cons = Consumer({"bootstrap.servers": c.bootstrap(), "group.id": "fsess-check", "enable.auto.commit": False,
                         "auto.offset.reset": "earliest", "log_level": 2})
        cons.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTS)])
        got: dict[tuple[int, int], bytes] = {}
        deadline = time.time() + 60
        while time.time() < deadline and not all(k in got for k in acked):
            m = cons.poll(0.5)
            if m is not None and m.error() is None:
                got[(m.partition(), m.offset())] = m.value()
        cons.close()
        missing = [k for k, v in acked.items() if got.get(k) != v]
        assert not missing, f"{len(missing)} acknowledged records not read back at their offsets, e.g. {missing[:5]}"
        assert len(acked) == 1800
    finally:
        c.stop()
