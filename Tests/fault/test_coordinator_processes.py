"""Issue 12 item 4: consumer groups and idempotent producers on a multi-node cluster.

3 combined KRaft nodes as separate `samsa` processes (Tests/interop/own_cluster.py):

* an idempotent confluent-kafka producer (enable.idempotence=True) bootstrapped through each
  node in turn gets its producer id (InitProducerId on a broker that is not the active
  controller needs a block from AllocateProducerIds) and every record lands exactly once;
* two consumers in one group commit offsets; the group's coordinator (the leader of the
  group's `__consumer_offsets` partition, from DescribeGroups) is killed with kill -9; the
  group continues on a coordinator and the offsets committed before the kill survive; in the
  end every produced record was consumed and the committed offsets are the partitions' ends.

SAMSA_OFFSETS_RF sets offsets.topic.replication.factor and the data topic's replication
factor (default 3: another replica of the group's offsets partition takes the group over
without a restart, with the offsets its log replicated; with 1 the killed node is restarted
and reloads its groups from its own log).
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from own_broker import samsa_bin
from own_cluster import OwnCluster
from test_quorum_processes import create_topic

RF = int(os.environ.get("SAMSA_OFFSETS_RF", "3"))
TOPIC = "orders"
PARTITIONS = 6
GROUP = "coord-group"


def produce_idempotent(bootstrap: str, tag: str, count: int) -> dict[tuple[int, int], bytes]:
    """Produces `count` records with enable.idempotence through `bootstrap`; returns
    {(partition, offset): value} of every acknowledged one (all of them, or the test fails)."""
    acked: dict[tuple[int, int], bytes] = {}
    errors: list[str] = []
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                  "topic.metadata.refresh.interval.ms": 1000})

    def on_delivery(err, msg):
        if err is None:
            acked[(msg.partition(), msg.offset())] = msg.value()
        else:
            errors.append(str(err))

    for i in range(count):
        p.produce(TOPIC, key=str(i).encode(), value=f"{tag}-{i}".encode(), on_delivery=on_delivery)
        p.poll(0)
    assert p.flush(60) == 0, "records still in flight after 60 s"
    assert not errors, f"idempotent produce through {bootstrap} failed: {errors[:3]}"
    assert len(acked) == count
    return acked


def read_all(bootstrap: str) -> dict[tuple[int, int], bytes]:
    got: dict[tuple[int, int], bytes] = {}
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader", "enable.auto.commit": False})
    c.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
    ends = {p: c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1] for p in range(PARTITIONS)}
    deadline = time.time() + 60
    try:
        while time.time() < deadline and any(sum(1 for k in got if k[0] == p) < ends[p] for p in ends):
            m = c.poll(0.5)
            if m is not None and m.error() is None:
                got[(m.partition(), m.offset())] = m.value()
    finally:
        c.close()
    return got


def group_consumer(bootstrap: str, name: str) -> Consumer:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP, "client.id": name,
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "session.timeout.ms": 10000, "heartbeat.interval.ms": 500,
                  "topic.metadata.refresh.interval.ms": 1000, "retry.backoff.ms": 100})
    c.subscribe([TOPIC])
    return c


def committed(bootstrap: str) -> dict[int, int]:
    """The group's committed offsets, through a consumer that does not join the group."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP, "enable.auto.commit": False})
    try:
        for _ in range(60):
            try:
                tps = c.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)], timeout=10)
                return {tp.partition: tp.offset for tp in tps}
            except KafkaException:
                time.sleep(0.5)   # the coordinator is moving
        raise AssertionError("no committed offsets from any coordinator within 30 s")
    finally:
        c.close()


def coordinator_of(admin: AdminClient) -> int:
    for _ in range(60):
        try:
            desc = admin.describe_consumer_groups([GROUP], request_timeout=10)[GROUP].result()
            return desc.coordinator.id
        except KafkaException:
            time.sleep(0.5)
    raise AssertionError("DescribeGroups found no coordinator")


def consume(consumers: list[Consumer], seen: dict[tuple[int, int], bytes], until, timeout: float, commit: bool):
    """Polls every consumer until `until(seen)` or `timeout`; commits synchronously after each
    record when `commit` (errors while the coordinator moves are retried later)."""
    deadline = time.time() + timeout
    while time.time() < deadline and not until(seen):
        for c in consumers:
            m = c.poll(0.2)
            if m is None or m.error() is not None:
                continue
            seen[(m.partition(), m.offset())] = m.value()
            if commit:
                try:
                    c.commit(message=m, asynchronous=False)
                except KafkaException:
                    pass


@pytest.mark.timeout(600)
def test_groups_and_idempotent_producers_survive_a_coordinator_kill(tmp_path):
    cluster = OwnCluster(tmp_path, controllers=3, combined=True, extra={
        "offsets.topic.num.partitions": "6",
        "offsets.topic.replication.factor": str(RF),
        "group.initial.rebalance.delay.ms": "0",
    })
    consumers: list[Consumer] = []
    try:
        cluster.start()
        cluster.wait_for_leader()
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap(), "topic.metadata.refresh.interval.ms": 1000})
        if RF == 1:
            create_topic(admin, TOPIC, PARTITIONS, 60)
        else:
            admin.create_topics([NewTopic(TOPIC, PARTITIONS, RF)])[TOPIC].result(30)

        # An idempotent producer through every node: each InitProducerId is answered from that
        # node's block; ids never repeat, every record is written once.
        acked: dict[tuple[int, int], bytes] = {}
        for b in cluster.brokers:
            acked.update(produce_idempotent(b.bootstrap, f"via{b.node_id}", 200))
        assert len(acked) == 200 * len(cluster.brokers)
        stored = read_all(cluster.bootstrap())
        assert set(stored.values()) == set(acked.values()), "every acknowledged record once, no duplicates"
        assert len(stored) == len(acked)

        # Two group members consume half and commit.
        consumers = [group_consumer(cluster.bootstrap(), "c1"), group_consumer(cluster.bootstrap(), "c2")]
        seen: dict[tuple[int, int], bytes] = {}
        consume(consumers, seen, lambda s: len(s) >= len(acked) // 2, 120, commit=True)
        assert len(seen) >= len(acked) // 2, f"the group consumed only {len(seen)} records"
        before = committed(cluster.bootstrap())
        assert sum(max(o, 0) for o in before.values()) > 0, f"nothing committed: {before}"

        victim_id = coordinator_of(admin)
        victim = cluster.nodes[victim_id]
        victim.kill9()
        others = [b for b in cluster.brokers if b.node_id != victim_id]
        if RF == 1:
            # The only replica of its offsets partitions is on the killed node: it comes back
            # and reloads its groups from its log.
            victim.spawn()
            assert victim.wait_ready_or_exit(60) is None, f"node {victim_id} did not come back: {victim.tail()}"

        # The group goes on and reaches the end of every partition.
        consume(consumers, seen, lambda s: set(acked) <= set(s), 240, commit=True)
        missing = set(acked) - set(seen)
        assert not missing, f"{len(missing)} records never consumed after the coordinator kill, e.g. {sorted(missing)[:5]}"
        for c in consumers:
            try:
                c.commit(asynchronous=False)
            except KafkaException as e:
                # _NO_OFFSET: this member's last records were committed one by one already.
                assert e.args[0].code() == KafkaError._NO_OFFSET, e

        bootstrap = ",".join(b.bootstrap for b in others) if RF > 1 else cluster.bootstrap()
        after = committed(bootstrap)
        for p, offset in before.items():
            assert after[p] >= offset, f"partition {p}: committed offset went back from {offset} to {after[p]}"
        ends = {p: sum(1 for k in acked if k[0] == p) for p in range(PARTITIONS)}
        assert after == ends, f"committed offsets {after} are not the ends {ends}"
        new_coordinator = coordinator_of(AdminClient({"bootstrap.servers": bootstrap}))
        if RF > 1:
            assert new_coordinator != victim_id, "another replica took the group over"
    finally:
        for c in consumers:
            try:
                c.close()
            except Exception:  # noqa: BLE001 - closing after a failure
                pass
        cluster.stop()


@pytest.mark.timeout(300)
def test_swift_group_consumer_is_the_first_group_of_a_fresh_cluster(tmp_path):
    """`samsa consume --group` as the first group client of a new 3-node cluster: its
    FindCoordinator makes the cluster create `__consumer_offsets` and is answered
    COORDINATOR_NOT_AVAILABLE until the topic exists and has leaders. The Swift consumer exited
    on that first retriable error (CI's 3-node interop pass: "find coordinator for g:
    COORDINATOR_NOT_AVAILABLE"); Kafka's consumers retry it. Checker: the consumer exits 0
    having read every acknowledged record, and its group committed the partitions' ends."""
    cluster = OwnCluster(tmp_path, controllers=3, combined=True, extra={
        "offsets.topic.num.partitions": "6",
        "offsets.topic.replication.factor": "3",
        "group.initial.rebalance.delay.ms": "0",
    })
    try:
        cluster.start()
        cluster.wait_for_leader()
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap(), "topic.metadata.refresh.interval.ms": 1000})
        admin.create_topics([NewTopic(TOPIC, PARTITIONS, 3)])[TOPIC].result(30)
        acked = produce_idempotent(cluster.bootstrap(), "first", 300)
        assert "__consumer_offsets" not in admin.list_topics(timeout=10).topics, "a group was used before the test"
        out = subprocess.run(
            [samsa_bin(), "consume", "--topic", TOPIC, "--group", "first-group", "--max-messages", str(len(acked)),
             "--timeout-ms", "60000", "--format", "%p %o %s\\n", "--bootstrap-server", cluster.bootstrap(),
             "-X", "auto.offset.reset=earliest"],
            capture_output=True, text=True, timeout=180)
        assert out.returncode == 0, f"samsa consume --group failed on a fresh cluster: {out.stderr}"
        got = {}
        for line in out.stdout.splitlines():
            p, o, v = line.split(" ", 2)
            got[(int(p), int(o))] = v.encode()
        assert got == acked, f"read {len(got)} of {len(acked)} acknowledged records"
        ends: dict[int, int] = {}
        for p, o in acked:
            ends[p] = max(ends.get(p, 0), o + 1)
        c = Consumer({"bootstrap.servers": cluster.bootstrap(), "group.id": "first-group", "enable.auto.commit": False})
        try:
            tps = c.committed([TopicPartition(TOPIC, p) for p in ends], timeout=30)
        finally:
            c.close()
        assert {tp.partition: tp.offset for tp in tps} == ends
    finally:
        cluster.stop()
