"""A broker that cannot reach an active controller answers a forwarded admin request with the
request's own error (Kafka's ForwardingManager), not a dropped connection: 3 dedicated
controllers and one broker with `request.timeout.ms=3000`; the quorum leader and one more
controller are killed, so no controller can answer; confluent-kafka's AdminClient sends
CreateTopics to the broker and gets REQUEST_TIMED_OUT for the topic after ~3 s (before, the
connection was closed after the broker's fixed 30 s and librdkafka reported a transport error).
librdkafka hides REQUEST_TIMED_OUT from CreateTopics when `operation_timeout` is 0 (its
default), treating it as "creation in progress", as it would against Kafka; the test sets one.
"""

from __future__ import annotations

import time

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from own_cluster import OwnCluster


def test_create_topics_without_a_controller_times_out_with_request_timed_out(tmp_path):
    c = OwnCluster(tmp_path / "cluster", controllers=3, brokers=1, extra={"request.timeout.ms": "3000"})
    try:
        c.start()
        leader, _ = c.wait_for_leader()
        admin = AdminClient({"bootstrap.servers": c.bootstrap(), "log_level": 2})
        # The cluster works: a topic is created through the broker.
        admin.create_topics([NewTopic("before", 1, 1)], request_timeout=20)["before"].result(timeout=30)
        # CreateTopics answers once the controller has committed the topic; the broker learns of
        # it when its metadata log replica catches up (as in Kafka), so wait for that before the
        # quorum goes: a broker cut off earlier never sees the topic (CI run of 0b6e1df).
        deadline = time.time() + 20
        while "before" not in admin.list_topics(timeout=10).topics:
            assert time.time() < deadline, "the broker never saw the topic it created"
            time.sleep(0.1)
        # No majority left: the leader and one follower die.
        other = next(i for i in c.voter_ids if i != leader)
        c.nodes[leader].kill9()
        c.nodes[other].kill9()
        t0 = time.time()
        # operation_timeout > 0: with 0 (its default) librdkafka hides REQUEST_TIMED_OUT from
        # CreateTopics, as "creation in progress" (rd_kafka_CreateTopicsResponse_parse), so the
        # application would see success against Kafka too.
        fut = admin.create_topics([NewTopic("after", 1, 1)], request_timeout=25, operation_timeout=10)["after"]
        try:
            fut.result(timeout=40)
            logs = "\n".join(f"--- node {i}\n" + n.tail() for i, n in c.nodes.items())
            raise AssertionError(f"CreateTopics succeeded without a controller quorum (leader {leader}, killed {other})\n{logs}")
        except KafkaException as e:
            err = e.args[0]
            took = time.time() - t0
            assert err.name() == "REQUEST_TIMED_OUT", f"{err.name()}: {err.str()} after {took:.1f}s"
            assert 2.5 <= took < 20, f"answered after {took:.1f}s (request.timeout.ms is 3000)"
        # The broker is still up and still answers other requests.
        md = admin.list_topics(timeout=10)
        assert "before" in md.topics
    finally:
        c.stop()
