"""Issue 12 item 1: follower fetchers move records from leaders to followers, on a real
cluster of 3 combined `samsa` processes (Tests/interop/own_cluster.py).

* Records produced to the leader of a replication-factor-3 partition appear byte-identical at
  the same offsets in both followers' partition logs (the segment files are compared).
* The leader's high watermark does not pass what the followers hold: with both followers
  SIGSTOPped, acks=1 records are written (LEO moves) but the HW stays; after SIGCONT it moves.
* A follower killed with kill -9 catches up after its restart.
* A diverged follower truncates: the leader takes acks=1 records its followers never fetched,
  is killed, a new leader is elected and written to; the old leader restarts, gets
  DivergingEpoch and ends with the new leader's log, byte for byte.

Ends like every fault test: every acknowledged acks=all record is read back at its offset.
Replication figures (records/s replicated, catch-up time) go to SAMSA_REPLICATION_FIGURES
(JSON) when set.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from own_cluster import OwnCluster

TOPIC = "rep"
# Records (100 bytes each) written while a follower is down; 1,000,000 measures a ~100 MB catch-up.
CATCH_UP_RECORDS = int(os.environ.get("SAMSA_CATCHUP_RECORDS", "80000"))


def partition_dir(node, topic: str = TOPIC, partition: int = 0) -> Path:
    return node.log_dir / f"{topic}-{partition}"


def log_bytes(node, topic: str = TOPIC, partition: int = 0) -> bytes:
    """Every segment of the partition, oldest first, concatenated."""
    d = partition_dir(node, topic, partition)
    if not d.exists():
        return b""
    return b"".join(p.read_bytes() for p in sorted(d.glob("*.log")))


def metadata(bootstrap: str, topic: str = TOPIC, partition: int = 0):
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10)
    t = md.topics.get(topic)
    if t is None or t.error is not None or partition not in t.partitions:
        return None
    return t.partitions[partition]


def wait_for_leader(cluster: OwnCluster, not_node: int | None = None, timeout: float = 60):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            p = metadata(cluster.bootstrap())
            last = p
            if p is not None and p.leader >= 0 and p.leader != not_node and p.leader in cluster.nodes:
                return p
        except Exception as e:  # noqa: BLE001 - a node may be down
            last = e
        time.sleep(0.2)
    raise AssertionError(f"no leader for {TOPIC}-0 (other than {not_node}) within {timeout}s: {last}")


def produce(bootstrap: str, count: int, acks: str, prefix: str, size: int = 100) -> dict[int, bytes]:
    """Produces `count` records to partition 0; returns {offset: value} of the acknowledged."""
    acked: dict[int, bytes] = {}
    p = Producer({"bootstrap.servers": bootstrap, "acks": acks, "enable.idempotence": False,
                  "linger.ms": 5, "message.timeout.ms": 30000, "topic.metadata.refresh.interval.ms": 1000})

    def on_delivery(err, msg):
        if err is None:
            acked[msg.offset()] = msg.value()

    pad = b"x" * max(0, size - 16)
    for i in range(count):
        while True:
            try:
                p.produce(TOPIC, value=f"{prefix}-{i:08d}".encode() + pad, partition=0, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    assert p.flush(60) == 0, "records still in flight after 60 s"
    return acked


def watermarks(node) -> tuple[int, int]:
    c = Consumer({"bootstrap.servers": node.bootstrap, "group.id": "wm", "enable.auto.commit": False})
    try:
        return c.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=10)
    finally:
        c.close()


def wait_identical(nodes, timeout: float = 60) -> float:
    """Waits until every node's partition log is the same non-empty bytes; returns the wait."""
    t0 = time.time()
    sizes = {}
    while time.time() - t0 < timeout:
        logs = {n.node_id: log_bytes(n) for n in nodes}
        sizes = {k: len(v) for k, v in logs.items()}
        first = next(iter(logs.values()))
        if first and all(v == first for v in logs.values()):
            return time.time() - t0
        time.sleep(0.05)
    raise AssertionError(f"partition logs did not converge within {timeout}s: sizes {sizes}")


def read_back(bootstrap: str, acked: dict[int, bytes], timeout: float = 60):
    """Every acknowledged record at its offset with its value (the checker)."""
    if not acked:
        return
    end = max(acked) + 1
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{time.time()}", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(TOPIC, 0, 0)])
    seen: dict[int, bytes] = {}
    deadline = time.time() + timeout + len(acked) / 5000   # a debug broker serves ~10-20k records/s here
    try:
        while time.time() < deadline and (not seen or max(seen) + 1 < end):
            for m in c.consume(1000, timeout=1):
                if m.error() is None:
                    seen[m.offset()] = m.value()
    finally:
        c.close()
    missing = [o for o in acked if seen.get(o) != acked[o]]
    assert not missing, f"{len(missing)} acknowledged records missing or changed, first {sorted(missing)[:5]}"


def create_topic(cluster: OwnCluster):
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})
    deadline = time.time() + 60
    while True:
        fut = admin.create_topics([NewTopic(TOPIC, num_partitions=1, replication_factor=3)], request_timeout=15)[TOPIC]
        try:
            fut.result(timeout=20)
            break
        except Exception as e:  # noqa: BLE001
            err = e.args[0] if e.args else None
            if hasattr(err, "name") and err.name() == "TOPIC_ALREADY_EXISTS":
                break
            if time.time() > deadline:
                raise
            time.sleep(0.5)
    p = wait_for_leader(cluster)
    assert sorted(p.replicas) == [1, 2, 3], p.replicas


def test_replication_three_combined_nodes(tmp_path):
    cluster = OwnCluster(tmp_path, controllers=3, combined=True)
    figures: dict[str, float] = {}
    try:
        cluster.start()
        create_topic(cluster)
        nodes = list(cluster.nodes.values())
        leader = cluster.nodes[wait_for_leader(cluster).leader]
        followers = [n for n in nodes if n is not leader]

        # 1. Byte-identical copies at the same offsets on both followers.
        t0 = time.time()
        acked = produce(leader.bootstrap, 20000, "all", "a")
        elapsed = time.time() - t0
        assert len(acked) == 20000
        assert sorted(acked) == list(range(20000)), "offsets are not 0..19999"
        wait_identical(nodes)
        figures["acks_all_rf3_records_per_s"] = round(20000 / elapsed)
        # The leader's HW moves on the followers' next fetch after they appended (the log
        # bytes can be identical a moment before that fetch reports the new LEO).
        deadline = time.time() + 10
        while watermarks(leader) != (0, 20000):
            assert time.time() < deadline, f"HW stuck at {watermarks(leader)} with every follower holding 20000 records"
            time.sleep(0.05)

        # 2. The HW does not pass what the followers hold.
        for f in followers:
            os.kill(f.proc.pid, signal.SIGSTOP)
        try:
            one = produce(leader.bootstrap, 50, "1", "b")
            assert len(one) == 50 and min(one) == 20000
            time.sleep(1.0)
            _, hw = watermarks(leader)
            assert hw == 20000, f"HW {hw} moved past what the stopped followers hold"
            assert len(log_bytes(leader)) > len(log_bytes(followers[0]))
        finally:
            for f in followers:
                os.kill(f.proc.pid, signal.SIGCONT)
        deadline = time.time() + 30
        while watermarks(leader)[1] != 20050:
            assert time.time() < deadline, f"HW stuck at {watermarks(leader)[1]} after the followers resumed"
            time.sleep(0.1)
        wait_identical(nodes)
        acked.update(one)

        # 3. A follower killed with kill -9 catches up after restart (~8 MB behind). acks=1:
        # the dead follower stays in the ISR here (shrinking it is AlterPartition's job).
        lagger = followers[0]
        lagger.kill9()
        acked.update(produce(leader.bootstrap, CATCH_UP_RECORDS, "1", "c"))
        before = len(log_bytes(lagger))
        lagger.spawn()
        t0 = time.time()
        assert lagger.wait_ready_or_exit(60) is None, lagger.tail()
        wait_identical(nodes, timeout=600)
        figures["catch_up_s"] = round(time.time() - t0, 2)
        figures["catch_up_mb"] = round((len(log_bytes(leader)) - before) / 1e6, 1)

        # 4. A diverged follower truncates. The followers miss acks=1 records of the leader;
        # the leader dies; a follower is elected and written to; the old leader comes back.
        old = leader
        for f in followers:
            os.kill(f.proc.pid, signal.SIGSTOP)
        # Let the followers' parked fetches expire (replica.fetch.wait.max.ms = 500) and be
        # answered empty: otherwise the leader's append answers them and the records reach the
        # stopped followers' socket buffers anyway.
        time.sleep(1.0)
        try:
            lost = produce(old.bootstrap, 30, "1", "lost")
            assert len(lost) == 30
        finally:
            old.kill9()
            for f in followers:
                os.kill(f.proc.pid, signal.SIGCONT)
        diverged = log_bytes(old)
        new = cluster.nodes[wait_for_leader(cluster, not_node=old.node_id).leader]
        survivors = [n for n in nodes if n is not old]
        newer = {}
        deadline = time.time() + 60
        while not newer:
            try:
                newer = produce(new.bootstrap, 100, "1", "new")
            except AssertionError:
                assert time.time() < deadline
        wait_identical(survivors)
        assert b"lost-00000000" in diverged, "the old leader should hold records its followers never fetched"
        assert b"lost-00000000" not in log_bytes(new)
        old.spawn()
        assert old.wait_ready_or_exit(60) is None, old.tail()
        wait_identical(nodes, timeout=60)
        assert b"lost-00000000" not in log_bytes(old), "the diverged records survived on the old leader"
        acked.update(newer)

        # The checker: every acknowledged record (acks=all, and the acks=1 ones that were
        # replicated before the leader died) back at its offset, from the current leader.
        read_back(cluster.bootstrap(), {o: v for o, v in acked.items()})
    finally:
        out = os.environ.get("SAMSA_REPLICATION_FIGURES")
        if out:
            Path(out).write_text(json.dumps(figures, indent=2))
        print("replication figures:", figures)
        cluster.stop()
