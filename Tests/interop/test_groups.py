"""Group coordinator behaviour beyond the basic group tests in test_confluent.py /
test_kafka_python.py / test_aiokafka.py: static membership, cooperative rebalancing, session
expiry of a crashed member, Debian kcat's balanced consumer, OffsetDelete, ListGroups'
states filter, offsets of deleted topics, and the `__consumer_offsets` record formats.

These check Samsa's coordinator against real clients; they are `samsa_only` because Tansu's
coordinator differs in documented ways (peers README: first join held ~session/2, empty
DescribeGroups fields, no group states).
"""

from __future__ import annotations

import struct
import subprocess
import sys
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from kafka import KafkaAdminClient
from kafka import TopicPartition as KPTopicPartition
from kafka.errors import GroupSubscribedToTopicError, NoError

from helpers import admin, create_topic, kcat

BASE = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500, "enable.auto.commit": False,
        "auto.offset.reset": "earliest"}


def _produce(broker, topic: str, partitions: int, per_partition: int) -> None:
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5})
    for part in range(partitions):
        for i in range(per_partition):
            p.produce(topic, value=f"{part}:{i}".encode(), partition=part)
    assert p.flush(60) == 0


def _poll_until(consumers, done, timeout=60.0, on_message=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for c in consumers:
            m = c.poll(0.05)
            if m is not None and not m.error() and on_message:
                on_message(c, m)
        if done():
            return
    raise AssertionError(f"timed out; assignments {[sorted(tp.partition for tp in c.assignment()) for c in consumers]}")


def _describe(broker, group):
    a = admin(broker)  # the future fails with _DESTROY if the client is collected first
    return a.describe_consumer_groups([group])[group].result(timeout=30)


@pytest.mark.samsa_only
def test_static_member_restart_keeps_its_partitions_without_rebalance(broker, topic_name, group_name):
    create_topic(broker, topic_name, partitions=4)

    def member(instance):
        c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group_name,
                      "group.instance.id": instance, "partition.assignment.strategy": "range",
                      **{**BASE, "session.timeout.ms": 30000}})
        c.subscribe([topic_name])
        return c

    a, b = member("pod-a"), member("pod-b")
    _poll_until([a, b], lambda: len(a.assignment()) == 2 and len(b.assignment()) == 2)
    before = {m.group_instance_id: m.member_id for m in _describe(broker, group_name).members}
    b_partitions = sorted(tp.partition for tp in b.assignment())
    a_partitions = sorted(tp.partition for tp in a.assignment())
    b.close()  # a static member sends no LeaveGroup: the coordinator keeps its slot
    b2 = member("pod-b")
    _poll_until([a, b2], lambda: len(b2.assignment()) == 2, timeout=20)
    assert sorted(tp.partition for tp in b2.assignment()) == b_partitions
    assert sorted(tp.partition for tp in a.assignment()) == a_partitions
    after = {m.group_instance_id: m.member_id for m in _describe(broker, group_name).members}
    assert after["pod-a"] == before["pod-a"], "the other member was not disturbed"
    assert after["pod-b"] != before["pod-b"], "the restarted instance got a new member id"
    a.close()
    b2.close()


VICTIM = """
import sys, time
from confluent_kafka import Consumer
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2], "session.timeout.ms": 6000,
              "heartbeat.interval.ms": 500, "partition.assignment.strategy": "range",
              "auto.offset.reset": "earliest", "enable.auto.commit": False})
c.subscribe([sys.argv[3]])
while True:
    c.poll(0.1)
    if c.assignment():
        print("assigned", flush=True)
"""


@pytest.mark.samsa_only
def test_killed_member_expires_after_session_timeout_and_partitions_move(broker, topic_name, group_name):
    create_topic(broker, topic_name, partitions=2)
    victim = subprocess.Popen([sys.executable, "-c", VICTIM, broker.bootstrap, group_name, topic_name],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        survivor = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group_name,
                             "partition.assignment.strategy": "range", **BASE})
        survivor.subscribe([topic_name])
        _poll_until([survivor], lambda: len(survivor.assignment()) == 1, timeout=60)
        assert victim.stdout.readline().startswith(b"assigned")
    finally:
        victim.kill()  # SIGKILL: no LeaveGroup, only the session timeout can remove it
        victim.wait(10)
    killed_at = time.time()
    _poll_until([survivor], lambda: len(survivor.assignment()) == 2, timeout=60)
    waited = time.time() - killed_at
    assert 4.0 <= waited < 30, f"partitions moved after {waited:.1f}s; session.timeout.ms is 6 s"
    survivor.close()


@pytest.mark.samsa_only
def test_cooperative_sticky_rebalance_keeps_every_record(broker, topic_name, group_name):
    partitions, per_partition = 6, 50
    create_topic(broker, topic_name, partitions=partitions)
    _produce(broker, topic_name, partitions, per_partition)
    conf = {"bootstrap.servers": broker.bootstrap, "group.id": group_name,
            "partition.assignment.strategy": "cooperative-sticky", **BASE}
    seen: dict[tuple[int, int], int] = {}

    def record(c, m):
        assert m.value() == f"{m.partition()}:{m.offset()}".encode()
        seen[(m.partition(), m.offset())] = seen.get((m.partition(), m.offset()), 0) + 1
        time.sleep(0.002)

    first = Consumer(conf)
    first.subscribe([topic_name])
    _poll_until([first], lambda: len(seen) >= 60, on_message=record)
    second = Consumer(conf)
    second.subscribe([topic_name])
    _poll_until([first, second], lambda: len(seen) == partitions * per_partition and
                len(first.assignment()) == 3 and len(second.assignment()) == 3, timeout=90, on_message=record)
    both = sorted(tp.partition for tp in first.assignment()) + sorted(tp.partition for tp in second.assignment())
    assert sorted(both) == list(range(partitions)), both
    first.close()
    second.close()


@pytest.mark.samsa_only
def test_debian_kcat_balanced_consumer_resumes_from_its_commits(broker, topic_name, group_name):
    create_topic(broker, topic_name, partitions=2)
    kcat(broker, "-P", "-t", topic_name, "-p", "0", input=b"".join(b"a%d\n" % i for i in range(30)))
    kcat(broker, "-P", "-t", topic_name, "-p", "1", input=b"".join(b"b%d\n" % i for i in range(20)))
    first = kcat(broker, "-G", group_name, topic_name, "-q", "-e", "-X", "auto.offset.reset=earliest",
                 timeout=60).stdout.split()
    assert sorted(first) == sorted([b"a%d" % i for i in range(30)] + [b"b%d" % i for i in range(20)])
    kcat(broker, "-P", "-t", topic_name, "-p", "1", input=b"late\n")
    second = kcat(broker, "-G", group_name, topic_name, "-q", "-e", timeout=60).stdout.split()
    assert second == [b"late"], "the second run starts from the first run's committed offsets"
    a = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    offsets = a.list_group_offsets({group_name: None})[group_name]
    assert {tp.partition: o.offset for tp, o in offsets.items()} == {0: 30, 1: 21}
    a.close()


@pytest.mark.samsa_only
def test_offset_delete_and_list_groups_states_filter(broker, topic_name, group_name):
    create_topic(broker, topic_name, partitions=1)
    _produce(broker, topic_name, 1, 5)
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group_name, **BASE})
    c.subscribe([topic_name])
    _poll_until([c], lambda: bool(c.assignment()))
    c.commit(offsets=[TopicPartition(topic_name, 0, 3)], asynchronous=False)
    a = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    stable = {g["group_id"] for g in a.list_groups(states_filter=["Stable"])}
    empty = {g["group_id"] for g in a.list_groups(states_filter=["Empty"])}
    assert group_name in stable and group_name not in empty
    tp = KPTopicPartition(topic_name, 0)
    assert a.delete_group_offsets(group_name, [tp])[tp] is GroupSubscribedToTopicError
    c.close()
    assert group_name in {g["group_id"] for g in a.list_groups(states_filter=["empty"])}
    assert a.delete_group_offsets(group_name, [tp])[tp] is NoError
    assert a.list_group_offsets({group_name: None})[group_name] == {} or \
        all(o.offset == -1 for o in a.list_group_offsets({group_name: None})[group_name].values())
    a.close()


@pytest.mark.samsa_only
def test_deleting_a_topic_drops_its_committed_offsets(broker, topic_name, group_name):
    create_topic(broker, topic_name, partitions=1)
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group_name})
    c.commit(offsets=[TopicPartition(topic_name, 0, 42)], asynchronous=False)
    assert c.committed([TopicPartition(topic_name, 0)], timeout=30)[0].offset == 42
    a = admin(broker)
    a.delete_topics([topic_name])[topic_name].result(timeout=30)
    create_topic(broker, topic_name, partitions=1)
    deadline = time.time() + 10
    while time.time() < deadline:
        if c.committed([TopicPartition(topic_name, 0)], timeout=30)[0].offset < 0:
            break
        time.sleep(0.2)
    assert c.committed([TopicPartition(topic_name, 0)], timeout=30)[0].offset < 0, \
        "a re-created topic must not inherit the old topic's committed offset"
    c.close()


@pytest.mark.samsa_only
def test_consumer_offsets_topic_holds_kafka_record_formats(broker, topic_name, group_name):
    """Tools that read __consumer_offsets (Burrow, kafka-consumer-groups --describe of old)
    decode Kafka's key/value schemas: OffsetCommitKey v1 + OffsetCommitValue v3 and
    GroupMetadataKey v2 + GroupMetadataValue v3."""
    create_topic(broker, topic_name, partitions=1)
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group_name, **BASE})
    c.subscribe([topic_name])
    _poll_until([c], lambda: bool(c.assignment()))
    c.commit(offsets=[TopicPartition(topic_name, 0, 7)], asynchronous=False)
    c.close()

    reader = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group_name + "-reader",
                       "enable.auto.commit": False})
    md = reader.list_topics("__consumer_offsets", timeout=30)
    parts = list(md.topics["__consumer_offsets"].partitions)
    reader.assign([TopicPartition("__consumer_offsets", p, 0) for p in parts])

    def string(b, o):
        n = struct.unpack_from(">h", b, o)[0]
        return (None, o + 2) if n < 0 else (b[o + 2:o + 2 + n].decode(), o + 2 + n)

    commits, metadata = [], []
    idle_since = time.time()
    while time.time() - idle_since < 3:
        m = reader.poll(0.5)
        if m is None or m.error():
            continue
        idle_since = time.time()
        key, value = m.key(), m.value()
        version = struct.unpack_from(">h", key, 0)[0]
        if version == 1:
            group, o = string(key, 2)
            topic, o = string(key, o)
            partition = struct.unpack_from(">i", key, o)[0]
            if group == group_name and value is not None:
                v, offset, epoch = struct.unpack_from(">hqi", value, 0)
                meta, o2 = string(value, 14)
                commit_ts = struct.unpack_from(">q", value, o2)[0]
                assert o2 + 8 == len(value)
                commits.append((topic, partition, v, offset, meta, commit_ts))
        elif version == 2:
            group, _ = string(key, 2)
            if group == group_name and value is not None:
                v = struct.unpack_from(">h", value, 0)[0]
                protocol_type, o = string(value, 2)
                generation = struct.unpack_from(">i", value, o)[0]
                protocol, o = string(value, o + 4)
                leader, o = string(value, o)
                metadata.append((v, protocol_type, generation, protocol, leader))
    reader.close()
    assert (topic_name, 0, 3, 7, "") in [c[:5] for c in commits], commits
    assert abs(commits[-1][5] / 1000 - time.time()) < 600, "commit timestamp is epoch milliseconds"
    assert metadata, "group metadata records are written"
    assert all(m[0] == 3 and m[1] == "consumer" for m in metadata), metadata
    assert metadata[-1][2] >= 1
