"""Issue 12 item 2: ISR shrink and expansion and acks=all with min.insync.replicas on a real
cluster of separate `samsa` processes (3 controllers + 3 brokers, Tests/interop/own_cluster.py).

A topic with replication factor 3 and min.insync.replicas=2; replica.lag.time.max.ms=3000 and
a broker session timeout of 60 s, so the ISR changes here are the leader's own (AlterPartition
after the lag time), not the controller fencing a silent broker.

* One follower SIGSTOPped: the leader proposes it out of the ISR after replica.lag.time.max.ms
  (the ISR in Metadata drops to 2) and acks=all writes keep succeeding.
* SIGCONT: it catches up and the leader proposes it back (ISR 3 again).
* Both followers SIGSTOPped (and the leader's LEO moved by acks=1 writes: a silent follower
  at the leader's LEO stays caught up, as in Kafka): the ISR drops to the leader alone and
  acks=all gets NOT_ENOUGH_REPLICAS (nothing written); after SIGCONT they rejoin.

Ends like every fault test: every acknowledged acks=all record is read back at its offset.
"""

from __future__ import annotations

import os
import signal
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from own_cluster import OwnCluster

TOPIC = "isr"
LAG_MS = 3000


def partition_md(bootstrap: str):
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(TOPIC, timeout=10)
    t = md.topics.get(TOPIC)
    if t is None or t.error is not None or 0 not in t.partitions:
        return None
    return t.partitions[0]


def wait_isr(cluster: OwnCluster, via, want: set[int], timeout: float) -> float:
    """Waits until broker `via`'s Metadata shows ISR == `want`; returns the time taken."""
    t0 = time.time()
    last = None
    while time.time() - t0 < timeout:
        try:
            p = partition_md(via.bootstrap)
            last = p and (p.leader, p.isrs)
            if p is not None and set(p.isrs) == want:
                return time.time() - t0
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last = e
        time.sleep(0.2)
    raise AssertionError(f"ISR did not become {sorted(want)} within {timeout}s; last (leader, isr): {last}")


def produce(bootstrap: str, count: int, prefix: str, retries: bool = True, timeout_ms: int = 30000, acks: str = "all"):
    """acks=all (by default) to partition 0; returns ({offset: value} acknowledged, [error names])."""
    acked: dict[int, bytes] = {}
    errors: list[str] = []
    conf = {"bootstrap.servers": bootstrap, "acks": acks, "enable.idempotence": False, "linger.ms": 2,
            "message.timeout.ms": timeout_ms, "request.timeout.ms": timeout_ms,
            "topic.metadata.refresh.interval.ms": 1000}
    if not retries:
        conf["retries"] = 0
    p = Producer(conf)

    def on_delivery(err, msg):
        if err is None:
            acked[msg.offset()] = msg.value()
        else:
            errors.append(err.name())

    for i in range(count):
        p.produce(TOPIC, value=f"{prefix}-{i:06d}".encode(), partition=0, on_delivery=on_delivery)
        p.poll(0)
    assert p.flush(timeout_ms / 1000 + 30) == 0, "records still in flight"
    return acked, errors


def read_back(bootstrap: str, acked: dict[int, bytes], timeout: float = 60):
    """The checker: every acknowledged record at its offset with its value."""
    end = max(acked) + 1
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{time.time()}", "enable.auto.commit": False})
    c.assign([TopicPartition(TOPIC, 0, 0)])
    seen: dict[int, bytes] = {}
    deadline = time.time() + timeout
    try:
        while time.time() < deadline and (not seen or max(seen) + 1 < end):
            for m in c.consume(1000, timeout=1):
                if m.error() is None:
                    seen[m.offset()] = m.value()
    finally:
        c.close()
    missing = [o for o in acked if seen.get(o) != acked[o]]
    assert not missing, f"{len(missing)} acknowledged records missing or changed, first {sorted(missing)[:5]}"


def test_follower_leaves_and_rejoins_the_isr_and_min_isr_guards_acks_all(tmp_path):
    cluster = OwnCluster(tmp_path, controllers=3, brokers=3, extra={
        "replica.lag.time.max.ms": str(LAG_MS),
        "broker.session.timeout.ms": "60000",
    })
    stopped = []
    try:
        cluster.start()
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})
        deadline = time.time() + 60
        while True:
            fut = admin.create_topics([NewTopic(TOPIC, num_partitions=1, replication_factor=3,
                                                config={"min.insync.replicas": "2"})], request_timeout=15)[TOPIC]
            try:
                fut.result(timeout=20)
                break
            except Exception as e:  # noqa: BLE001 - brokers may still be registering
                if "TOPIC_ALREADY_EXISTS" in str(e):
                    break
                assert time.time() < deadline, f"create topic: {e}"
                time.sleep(0.5)
        brokers = {b.node_id: b for b in cluster.brokers}
        any_broker = next(iter(brokers.values()))
        p = None
        for _ in range(100):
            p = partition_md(any_broker.bootstrap)
            if p is not None and p.leader in brokers:
                break
            time.sleep(0.2)
        assert p is not None and p.leader in brokers, f"no leader: {p}"
        leader = brokers[p.leader]
        followers = [b for i, b in brokers.items() if i != leader.node_id]
        all_ids = set(brokers)
        wait_isr(cluster, leader, all_ids, 30)

        acked, errors = produce(leader.bootstrap, 200, "all3")
        assert len(acked) == 200 and not errors, errors

        # One follower stops: it leaves the ISR after the lag time, acks=all continues.
        f1 = followers[0]
        os.kill(f1.proc.pid, signal.SIGSTOP)
        stopped.append(f1)
        t0 = time.time()
        more, errors = produce(leader.bootstrap, 100, "two")
        stall = time.time() - t0
        assert len(more) == 100 and not errors, errors
        acked.update(more)
        shrink = wait_isr(cluster, leader, all_ids - {f1.node_id}, 20)
        print(f"acks=all stalled {stall:.1f}s until the shrink; ISR without {f1.node_id} seen after {shrink:.1f}s more")
        assert stall >= LAG_MS / 1000 * 0.8, f"acks=all did not wait for the stopped ISR member ({stall:.1f}s)"

        # It comes back: it catches up and rejoins.
        os.kill(f1.proc.pid, signal.SIGCONT)
        stopped.remove(f1)
        rejoin = wait_isr(cluster, leader, all_ids, 30)
        print(f"follower {f1.node_id} back in the ISR {rejoin:.1f}s after SIGCONT")
        more, errors = produce(leader.bootstrap, 50, "back")
        assert len(more) == 50 and not errors, errors
        acked.update(more)

        # Both followers stop: ISR = leader alone < min.insync.replicas -> NOT_ENOUGH_REPLICAS.
        for f in followers:
            os.kill(f.proc.pid, signal.SIGSTOP)
            stopped.append(f)
        # A follower whose LEO equals the leader's counts as caught up however long it is
        # silent (Kafka's isCaughtUp): the leader's LEO must move for the lag to show. acks=1
        # writes do not wait for the ISR (and stay invisible while the HW is frozen below min ISR).
        ones, errors = produce(leader.bootstrap, 3, "acks1", acks="1")
        assert len(ones) == 3 and not errors, errors
        wait_isr(cluster, leader, {leader.node_id}, 30)
        refused, errors = produce(leader.bootstrap, 5, "refused", retries=False, timeout_ms=10000)
        assert not refused, f"acks=all accepted with the ISR below min.insync.replicas: {refused}"
        assert errors and all(e == "NOT_ENOUGH_REPLICAS" for e in errors), errors

        for f in followers:
            os.kill(f.proc.pid, signal.SIGCONT)
        stopped = []
        wait_isr(cluster, leader, all_ids, 30)
        more, errors = produce(leader.bootstrap, 50, "after")
        assert len(more) == 50 and not errors, errors
        acked.update(more)
        read_back(leader.bootstrap, acked)
    finally:
        for f in stopped:
            try:
                os.kill(f.proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        cluster.stop()
