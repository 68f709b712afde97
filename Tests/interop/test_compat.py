"""Kafka compatibility found by librdkafka's own test suite, checked with confluent-kafka
(librdkafka 2.16): keys on compacted topics, authorized operations, Kafka's dynamic broker
config set; and the internal-topic guardrail. Issue 9 items 9, 11, 12, 13."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer, TopicCollection
from confluent_kafka.admin import (AclOperation, AlterConfigOpType, ConfigEntry, ConfigResource,
                                   ConfigSource, ResourceType)

import kafka_wire
from helpers import admin, create_topic, eventually
from kafka_wire import Connection, array, i8, string


def _produce_one(broker, topic: str, key: bytes | None):
    """Produces one record in a batch of its own; returns the delivery error (None = ok)."""
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0, "message.timeout.ms": 20000,
                  "enable.idempotence": False})
    results = []
    p.produce(topic, key=key, value=b"value", on_delivery=lambda err, msg: results.append(err))
    assert p.flush(30) == 0, "delivery report not received"
    return results[0]


@pytest.mark.samsa_only
def test_compacted_topic_rejects_records_without_key(broker, topic_name):
    create_topic(broker, topic_name, config={"cleanup.policy": "compact"})
    assert _produce_one(broker, topic_name, b"k") is None
    err = _produce_one(broker, topic_name, None)
    assert err is not None and err.code() == KafkaError.INVALID_RECORD, err


@pytest.mark.samsa_only
def test_topic_altered_to_compacted_rejects_records_without_key(broker, topic_name):
    create_topic(broker, topic_name)
    assert _produce_one(broker, topic_name, None) is None, "delete policy: a key is optional"
    a = admin(broker)
    res = ConfigResource(ResourceType.TOPIC, topic_name, incremental_configs=[
        ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.SET)])
    a.incremental_alter_configs([res])[res].result(timeout=30)
    # On a cluster the leader applies the ConfigRecord from the metadata log a moment after the
    # controller answered (as in Kafka): until then a keyless record is still accepted.
    deadline = time.time() + 15
    err = _produce_one(broker, topic_name, None)
    while err is None and time.time() < deadline:
        time.sleep(0.2)
        err = _produce_one(broker, topic_name, None)
    assert err is not None and err.code() == KafkaError.INVALID_RECORD, err


TOPIC_OPS = {AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE, AclOperation.DESCRIBE,
             AclOperation.DELETE, AclOperation.ALTER, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS}
CLUSTER_OPS = {AclOperation.CREATE, AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.CLUSTER_ACTION,
               AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE}


@pytest.mark.samsa_only
def test_describe_cluster_and_topics_with_authorized_operations(broker, topic_name):
    # With no authorizer Kafka grants, and reports, every operation of the resource type.
    create_topic(broker, topic_name)
    a = admin(broker)
    cluster = a.describe_cluster(include_authorized_operations=True, request_timeout=30).result(timeout=30)
    assert cluster.authorized_operations is not None, "the broker left the cluster operations out"
    assert set(cluster.authorized_operations) == CLUSTER_OPS
    topics = a.describe_topics(TopicCollection([topic_name]), include_authorized_operations=True,
                               request_timeout=30)
    desc = topics[topic_name].result(timeout=30)
    assert desc.authorized_operations is not None, "the broker left the topic operations out"
    assert set(desc.authorized_operations) == TOPIC_OPS
    # Not asked for: not given.
    plain = a.describe_cluster(request_timeout=30).result(timeout=30)
    assert not plain.authorized_operations


@pytest.mark.samsa_only
def test_describe_consumer_group_with_authorized_operations(broker, topic_name, group_name):
    from confluent_kafka import Consumer
    create_topic(broker, topic_name)
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group_name, "session.timeout.ms": 6000,
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        c.subscribe([topic_name])
        deadline = time.time() + 30
        while not c.assignment() and time.time() < deadline:
            c.poll(0.2)
        assert c.assignment(), "the consumer never joined"
        a = admin(broker)
        desc = a.describe_consumer_groups([group_name], include_authorized_operations=True,
                                          request_timeout=30)[group_name].result(timeout=30)
        # Kafka 4.x's GROUP operations, all granted without an authorizer.
        assert set(desc.authorized_operations or []) == {
            AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DELETE,
            AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS}
    finally:
        c.close()


@pytest.mark.samsa_only
def test_incremental_alter_configs_takes_kafkas_dynamic_broker_configs(broker):
    a = admin(broker)
    node = str(next(iter(a.list_topics(timeout=10).brokers)))
    keys = {"sasl.kerberos.min.time.before.relogin": "120000", "num.replica.fetchers": "2",
            "listener.name.plaintext.max.connections": "5000"}
    res = ConfigResource(ResourceType.BROKER, node, incremental_configs=[
        ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in keys.items()])
    try:
        a.incremental_alter_configs([res])[res].result(timeout=30)

        def described_as_set():
            described = a.describe_configs([ConfigResource(ResourceType.BROKER, node)])
            conf = next(iter(described.values())).result(timeout=30)
            for k, v in keys.items():
                assert conf[k].value == v, k
                assert conf[k].source == ConfigSource.DYNAMIC_BROKER_CONFIG.value, k
                assert not conf[k].is_read_only, k
        eventually(described_as_set)

        # A key Kafka treats as read-only: INVALID_REQUEST, as Kafka answers.
        bad = ConfigResource(ResourceType.BROKER, node, incremental_configs=[
            ConfigEntry("log.dirs", "/tmp/elsewhere", incremental_operation=AlterConfigOpType.SET)])
        with pytest.raises(KafkaException) as exc:
            a.incremental_alter_configs([bad])[bad].result(timeout=30)
        assert exc.value.args[0].code() == KafkaError.INVALID_REQUEST
    finally:
        undo = ConfigResource(ResourceType.BROKER, node, incremental_configs=[
            ConfigEntry(k, None, incremental_operation=AlterConfigOpType.DELETE) for k in keys])
        a.incremental_alter_configs([undo])[undo].result(timeout=30)


API_ALTER_CONFIGS = 33
API_INCREMENTAL_ALTER_CONFIGS = 44


def _bootstrap_node_and_another(broker) -> tuple[int, str]:
    """The node id of the bootstrap broker itself (raw connections go there, not where a
    client would route them), and another broker's id (one that does not exist on a single
    broker: Kafka refuses any id but its own the same way)."""
    host, port = broker.bootstrap.rsplit(":", 1)
    with Connection(broker.bootstrap) as c:
        brokers = c.metadata([])["brokers"]
    me = next(node for node, h, p, _ in brokers if p == int(port) and h in (host, "localhost", "127.0.0.1"))
    others = sorted(node for node, *_ in brokers if node != me)
    return me, str(others[0] if others else me + 1)


def _config_results(r: kafka_wire.Reader) -> list[tuple[int, str | None, int, str]]:
    r.i32()  # throttle_time_ms
    return r.array(lambda x: (x.i16(), x.string(), x.i8(), x.string()))


@pytest.mark.samsa_only
def test_broker_config_for_another_broker_is_refused_by_the_receiving_broker(broker):
    # Real admin clients send a BROKER resource to the broker it names, so this takes raw
    # requests to the bootstrap broker. Kafka's broker answers another id itself
    # (ConfigAdminManager.preprocess, INVALID_REQUEST) instead of forwarding it to the
    # controller, which accepts any broker id; the other resources of the request still go on.
    me, other = _bootstrap_node_and_another(broker)
    expected = f"Unexpected broker id, expected {me}, but received {other}"
    delete_op = array([string("num.replica.fetchers") + i8(1) + string(None)])   # DELETE: a no-op if it went through
    body = array([i8(4) + string(other) + delete_op, i8(4) + string(str(me)) + delete_op]) + i8(0)
    with Connection(broker.bootstrap) as c:
        results = _config_results(c.request(API_INCREMENTAL_ALTER_CONFIGS, 0, body))
        assert results == [(42, expected, 4, other), (0, None, 4, str(me))], results
        legacy = array([i8(4) + string(other) + array([string("num.replica.fetchers") + string("2")])]) + i8(1)
        results = _config_results(c.request(API_ALTER_CONFIGS, 0, legacy))
        assert results == [(42, expected, 4, other)], results
        bad = array([i8(4) + string("two") + delete_op]) + i8(0)
        results = _config_results(c.request(API_INCREMENTAL_ALTER_CONFIGS, 0, bad))
        assert results == [(42, "Node id must be an integer, but it is: two", 4, "two")], results


@pytest.mark.samsa_only
def test_internal_topic_is_not_deleted(broker):
    a = admin(broker)
    assert "__consumer_offsets" in a.list_topics(timeout=10).topics
    fs = a.delete_topics(["__consumer_offsets"], operation_timeout=30)
    with pytest.raises(KafkaException) as exc:
        fs["__consumer_offsets"].result(timeout=30)
    assert exc.value.args[0].code() == KafkaError.TOPIC_EXCEPTION   # INVALID_TOPIC_EXCEPTION (17)
    assert "__consumer_offsets" in a.list_topics(timeout=10).topics


@pytest.mark.samsa_only
def test_timestamp_too_far_ahead_is_invalid_timestamp(broker, topic_name):
    # message.timestamp.after.max.ms defaults to one hour (Kafka 4.x); a record two hours ahead
    # is refused as Kafka's LogValidator refuses it.
    create_topic(broker, topic_name)
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0, "message.timeout.ms": 20000,
                  "enable.idempotence": False})
    results = []
    ahead = int(time.time() * 1000) + 2 * 3600 * 1000
    p.produce(topic_name, key=b"k", value=b"v", timestamp=ahead, on_delivery=lambda err, msg: results.append(err))
    assert p.flush(30) == 0
    # A batch of its own: Kafka rejects a whole batch with one bad record.
    p.produce(topic_name, key=b"k", value=b"v", on_delivery=lambda err, msg: results.append(err))
    assert p.flush(30) == 0
    assert results[0] is not None and results[0].code() == KafkaError.INVALID_TIMESTAMP, results
    assert results[1] is None, results
