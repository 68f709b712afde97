"""confluent-kafka (librdkafka 2.16): admin (topics, configs, groups), the idempotent producer,
and a 3-member consumer group that rebalances and resumes from committed offsets.
Issue 4 item 5."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import (Consumer, ConsumerGroupTopicPartitions, KafkaError, KafkaException, Producer,
                             TopicPartition)
from confluent_kafka.admin import (AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic,
                                   ResourceType)

import kafka_wire
from helpers import admin, create_topic, eventually, high_watermark, read_all, wait_for_partitions

# Short session timeouts keep rebalances (and Tansu's held first JoinGroup) quick.
GROUP_CONF = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
              "enable.auto.commit": False, "auto.offset.reset": "earliest",
              "partition.assignment.strategy": "range"}


def _list_topic_names(a) -> set[str]:
    return set(a.list_topics(timeout=10).topics)


def test_admin_create_describe_delete_topics(broker, topic_name):
    a = admin(broker)
    fs = a.create_topics([NewTopic(topic_name, num_partitions=4, replication_factor=1)],
                         operation_timeout=30)
    fs[topic_name].result(timeout=60)
    wait_for_partitions(broker, topic_name, 4)
    desc = a.list_topics(topic=topic_name, timeout=10).topics[topic_name]
    assert sorted(desc.partitions) == [0, 1, 2, 3]
    broker_ids = set(a.list_topics(timeout=10).brokers)
    for p in desc.partitions.values():
        assert p.leader in broker_ids and p.replicas == [p.leader] and p.isrs == [p.leader]

    # Creating it again is TOPIC_ALREADY_EXISTS (36).
    again = a.create_topics([NewTopic(topic_name, num_partitions=1, replication_factor=1)])
    with pytest.raises(KafkaException) as exc:
        again[topic_name].result(timeout=30)
    assert exc.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS

    # validate_only creates nothing (Tansu 0.6.0 ignores the flag and creates the topic).
    dry = f"{topic_name}-dry"
    a.create_topics([NewTopic(dry, num_partitions=2, replication_factor=1)],
                    validate_only=True)[dry].result(timeout=30)
    if broker.is_samsa:
        time.sleep(0.5)
        assert dry not in _list_topic_names(a)

    a.delete_topics([topic_name], operation_timeout=30)[topic_name].result(timeout=60)
    deadline = time.time() + 30
    while topic_name in _list_topic_names(a) and time.time() < deadline:
        time.sleep(0.2)
    assert topic_name not in _list_topic_names(a)


@pytest.mark.tansu_quirk("DescribeConfigs returns no topic configs")
def test_admin_topic_configs(broker, topic_name):
    a = admin(broker)
    a.create_topics([NewTopic(topic_name, num_partitions=1, replication_factor=1,
                              config={"retention.ms": "3600000"})])[topic_name].result(timeout=60)
    res = ConfigResource(ResourceType.TOPIC, topic_name)
    configs = eventually(lambda: a.describe_configs([res])[res].result(timeout=30))
    assert configs["retention.ms"].value == "3600000"
    assert not configs["retention.ms"].is_default
    assert configs["cleanup.policy"].value == "delete" and configs["cleanup.policy"].is_default

    alter = ConfigResource(ResourceType.TOPIC, topic_name, incremental_configs=[
        ConfigEntry("retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.SET)])
    a.incremental_alter_configs([alter])[alter].result(timeout=30)

    def altered():
        configs = a.describe_configs([res])[res].result(timeout=30)
        assert configs["retention.ms"].value == "7200000"
        assert configs["cleanup.policy"].value == "compact"
    eventually(altered)

    # An unknown config key is rejected and changes nothing.
    bad = ConfigResource(ResourceType.TOPIC, topic_name, incremental_configs=[
        ConfigEntry("no.such.config", "1", incremental_operation=AlterConfigOpType.SET)])
    with pytest.raises(KafkaException):
        a.incremental_alter_configs([bad])[bad].result(timeout=30)
    assert a.describe_configs([res])[res].result(timeout=30)["retention.ms"].value == "7200000"

    # Broker configs are described too, with Kafka's key names.
    node = str(next(iter(a.list_topics(timeout=10).brokers)))
    bres = ConfigResource(ResourceType.BROKER, node)
    bconf = a.describe_configs([bres])[bres].result(timeout=30)
    assert "message.max.bytes" in bconf and int(bconf["message.max.bytes"].value) > 0


def test_idempotent_producer_exactly_once_in_order(broker, topic_name):
    partitions, count = 3, 3000
    create_topic(broker, topic_name, partitions=partitions)
    p = Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": True,
                  "acks": "all", "linger.ms": 5, "max.in.flight.requests.per.connection": 5})
    acked: dict[int, tuple[int, int]] = {}
    errors = []

    def on_delivery(err, msg):
        if err:
            errors.append(err)
        else:
            acked[int(msg.value().split(b"-")[1])] = (msg.partition(), msg.offset())

    for i in range(count):
        p.produce(topic_name, key=f"k{i % 97}".encode(), value=f"v-{i:06d}".encode(), on_delivery=on_delivery)
        p.poll(0)
    assert p.flush(60) == 0
    assert not errors, errors[:5]
    assert len(acked) == count

    by_partition = read_all(broker, topic_name, partitions, count)
    for part, msgs in by_partition.items():
        seqs = [int(m.value().split(b"-")[1]) for m in msgs]
        assert [m.offset() for m in msgs] == list(range(len(msgs)))
        assert seqs == sorted(seqs), f"partition {part} out of order"
        for m, s in zip(msgs, seqs):
            assert acked[s] == (part, m.offset()), "delivery report disagrees with the log"
    # The log really holds idempotent batches: a producer id and sequence numbers.
    for part in range(partitions):
        n = len(by_partition.get(part, []))
        batches = kafka_wire.fetch_all(broker.bootstrap, topic_name, part, n)
        assert batches and all(b.producer_id >= 0 and b.base_sequence >= 0 for b in batches)
        expected_seq = 0
        for b in batches:
            assert b.base_sequence == expected_seq, f"partition {part}: sequence gap at {b.base_offset}"
            expected_seq += b.record_count


def _committed(broker, group: str, topic: str, partitions: int) -> dict[int, int]:
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        tps = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=30)
        return {tp.partition: tp.offset for tp in tps}
    finally:
        c.close()


def test_consumer_group_of_three_rebalances_and_resumes(broker, topic_name, group_name):
    partitions, per_partition = 6, 100
    create_topic(broker, topic_name, partitions=partitions)
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5})
    for part in range(partitions):
        for i in range(per_partition):
            p.produce(topic_name, value=f"{part}:{i}".encode(), partition=part)
    assert p.flush(60) == 0

    consumers = [Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group_name,
                           "client.id": f"member-{n}", **GROUP_CONF}) for n in range(3)]
    for c in consumers:
        c.subscribe([topic_name])
    processed: dict[tuple[int, int], str] = {}   # (partition, offset) -> member that processed it
    first_after_rebalance: dict[int, int] = {}
    leaver = consumers[2]
    stop_at = 50  # the leaver processes (and commits) its partitions up to this offset

    def poll_round(active, phase):
        for idx, c in enumerate(consumers):
            if c not in active:
                continue
            m = c.poll(0.05)
            if m is None:
                continue
            assert not m.error(), m.error()
            key = (m.partition(), m.offset())
            if c is leaver and m.offset() >= stop_at:
                continue  # fetched but not processed: must be re-delivered after the rebalance
            if phase == 2 and m.partition() not in first_after_rebalance:
                first_after_rebalance[m.partition()] = m.offset()
            assert key not in processed, f"{key} processed twice ({processed[key]} and member-{idx})"
            assert m.value() == f"{m.partition()}:{m.offset()}".encode()
            processed[key] = f"member-{idx}"
            c.commit(message=m, asynchronous=False)

    # Phase 1: three members share the six partitions, two each (range assignor).
    deadline = time.time() + 90
    while time.time() < deadline:
        poll_round(consumers, 1)
        assignments = [sorted(tp.partition for tp in c.assignment()) for c in consumers]
        if all(len(a) == 2 for a in assignments) and sorted(sum(assignments, [])) == list(range(6)):
            leaver_parts = assignments[2]
            if all((lp, stop_at - 1) in processed for lp in leaver_parts):
                break
    else:
        raise AssertionError(f"group never settled: {[c.assignment() for c in consumers]}")
    committed = _committed(broker, group_name, topic_name, partitions)
    for lp in leaver_parts:
        assert committed[lp] == stop_at, f"partition {lp}: committed {committed[lp]}"
        # lag = high watermark - committed offset, exactly.
        assert high_watermark(broker, topic_name, lp) - committed[lp] == per_partition - stop_at

    # Phase 2: one member leaves; the other two take over its partitions from its commits.
    leaver.close()
    first_after_rebalance.clear()
    remaining = consumers[:2]
    deadline = time.time() + 120
    while len(processed) < partitions * per_partition and time.time() < deadline:
        poll_round(remaining, 2)
    assert len(processed) == partitions * per_partition, \
        f"processed {len(processed)} of {partitions * per_partition}"
    for lp in leaver_parts:
        assert first_after_rebalance.get(lp) == stop_at, \
            f"partition {lp} resumed at {first_after_rebalance.get(lp)}, committed {stop_at}"
    final = [sorted(tp.partition for tp in c.assignment()) for c in remaining]
    assert sorted(sum(final, [])) == list(range(6)), final
    for c in remaining:
        c.close()
    committed = _committed(broker, group_name, topic_name, partitions)
    for part in range(partitions):
        assert committed[part] == per_partition
        assert high_watermark(broker, topic_name, part) - committed[part] == 0


def test_admin_consumer_groups(broker, topic_name, group_name):
    partitions = 2
    create_topic(broker, topic_name, partitions=partitions)
    p = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(40):
        p.produce(topic_name, value=f"m{i}".encode(), partition=i % partitions)
    assert p.flush(30) == 0
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group_name,
                  "client.id": "admin-groups-member", **GROUP_CONF})
    c.subscribe([topic_name])
    got = 0
    deadline = time.time() + 60
    while got < 30 and time.time() < deadline:
        m = c.poll(0.2)
        if m is not None and not m.error():
            got += 1
            if got == 30:
                c.commit(message=m, asynchronous=False)
    assert got == 30
    # Commit exactly offset 10 on partition 0 and 15 on partition 1: the lag is then known.
    c.commit(offsets=[TopicPartition(topic_name, 0, 10), TopicPartition(topic_name, 1, 15)],
             asynchronous=False)

    a = admin(broker)
    listed = {g.group_id: g for g in a.list_consumer_groups(request_timeout=30).result(timeout=30).valid}
    assert group_name in listed
    if broker.is_samsa:  # Tansu's ListGroups returns no state (peers README)
        assert str(listed[group_name].state).endswith("STABLE")
        desc = a.describe_consumer_groups([group_name])[group_name].result(timeout=30)
        assert str(desc.state).endswith("STABLE")
        assert desc.partition_assignor == "range"
        (member,) = desc.members
        assert member.client_id == "admin-groups-member"
        assert sorted(tp.partition for tp in member.assignment.topic_partitions) == [0, 1]

    offsets = a.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group_name)])[group_name].result(timeout=30)
    committed = {tp.partition: tp.offset for tp in offsets.topic_partitions if tp.topic == topic_name}
    assert committed == {0: 10, 1: 15}
    lag = {part: high_watermark(broker, topic_name, part) - committed[part] for part in range(partitions)}
    assert lag == {0: 10, 1: 5}

    # A group with a live member cannot be deleted; once it is empty it can.
    if broker.is_samsa:
        with pytest.raises(KafkaException) as exc:
            a.delete_consumer_groups([group_name])[group_name].result(timeout=30)
        assert exc.value.args[0].code() == KafkaError.NON_EMPTY_GROUP
    c.close()
    a.delete_consumer_groups([group_name], request_timeout=30)[group_name].result(timeout=30)
    listed = {g.group_id for g in a.list_consumer_groups(request_timeout=30).result(timeout=30).valid}
    assert group_name not in listed
