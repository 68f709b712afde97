"""ElectLeaders (43), AlterPartitionReassignments (45) and ListPartitionReassignments (46) from
real admin clients: confluent-kafka's AdminClient.elect_leaders (librdkafka) and kafka-python's
KafkaAdminClient (elect_leaders, alter/list_partition_reassignments), answered with Kafka's
per-partition errors. Runs against the single broker and the 3-node pass alike (a topic of
replication factor 1 needs no election; a reassignment to a broker that does not exist is
refused)."""

from __future__ import annotations

import pytest
from confluent_kafka import ElectionType, TopicPartition as CTopicPartition
from kafka import TopicPartition as KTopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import (ElectionNotNeededError, InvalidReplicationAssignmentError, NoReassignmentInProgressError,
                          UnknownTopicOrPartitionError)

from helpers import admin, create_topic, wait_for_partitions

pytestmark = pytest.mark.samsa_only


def test_confluent_elect_leaders_per_partition_errors(broker, topic_name):
    create_topic(broker, topic_name, partitions=2)
    wait_for_partitions(broker, topic_name, 2)
    client = admin(broker)  # kept alive until the result: a destroyed handle fails the future
    fut = client.elect_leaders(ElectionType.PREFERRED,
                                      [CTopicPartition(topic_name, 0), CTopicPartition(topic_name, 7)])
    result = fut.result(timeout=40)
    by_partition = {tp.partition: err for tp, err in result.items()}
    assert by_partition[0] is not None and by_partition[0].name() == "ELECTION_NOT_NEEDED", by_partition
    assert by_partition[7] is not None and by_partition[7].name() == "UNKNOWN_TOPIC_OR_PART", by_partition


def test_kafka_python_elect_and_reassignment_errors(broker, topic_name):
    create_topic(broker, topic_name, partitions=1)
    wait_for_partitions(broker, topic_name, 1)
    client = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=30000)
    try:
        response = client.elect_leaders(0, {topic_name: [0]}, raise_errors=False)
        codes = [p.error_code for t in response.replica_election_results for p in t.partition_result]
        assert codes == [ElectionNotNeededError.errno], response

        result = client.alter_partition_reassignments({
            KTopicPartition(topic_name, 0): [999],
        })
        assert result[KTopicPartition(topic_name, 0)] is InvalidReplicationAssignmentError, result
        cancelled = client.alter_partition_reassignments({KTopicPartition(topic_name, 0): None})
        assert cancelled[KTopicPartition(topic_name, 0)] is NoReassignmentInProgressError, cancelled
        missing = client.alter_partition_reassignments({KTopicPartition(topic_name, 3): [1]})
        assert missing[KTopicPartition(topic_name, 3)] is UnknownTopicOrPartitionError, missing
        assert client.list_partition_reassignments() == {}
        assert client.list_partition_reassignments([KTopicPartition(topic_name, 0)]) == {}
    finally:
        client.close()
