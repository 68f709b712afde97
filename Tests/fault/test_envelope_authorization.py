"""Forwarding with an authorizer on a 3-node cluster (issue 14 item 3): the active controller
runs a forwarded request (Envelope) only when the forwarding broker's own principal may
CLUSTER_ACTION the cluster, as Kafka's `ControllerApis.handleEnvelopeRequest`.

Three combined KRaft nodes, PLAINTEXT everywhere (every principal is User:ANONYMOUS, the
clients' and the brokers' alike), StandardAuthorizer with `allow.everyone.if.no.acl.found`:
* no ACLs yet: everything is allowed, a CreateTopics sent to a broker that is not the
  controller is forwarded and succeeds;
* once the CLUSTER resource has an ACL (ANONYMOUS may ALTER it, which does not imply
  CLUSTER_ACTION), the controller refuses the brokers' envelopes: the same CreateTopics through
  a non-controller broker is not run (the client gets UNKNOWN_SERVER_ERROR for the topic, as
  Kafka's ForwardingManager answers an envelope error; the broker logs why; confluent-kafka's
  AdminClient sees that error, not a transport failure),
  while on the controller's own broker listener, where nothing is forwarded, it succeeds (the
  client may still CREATE the topic: topics have no ACLs);
* after `ALLOW User:ANONYMOUS CLUSTER_ACTION` on the cluster, forwarding works again, without
  a restart.
Raw requests (kafka_wire), so each goes to the broker the test names.
"""

from __future__ import annotations

import json
import subprocess
import time

import kafka_wire
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic
from kafka_wire import Connection, array, i8, i16, i32, string
from own_broker import OwnBroker, free_port, samsa_bin

UNKNOWN_SERVER_ERROR = -1
API_CREATE_TOPICS = 19
API_DESCRIBE_ACLS = 29
API_CREATE_ACLS = 30
CLUSTER, LITERAL, ALLOW, ALTER, CLUSTER_ACTION = 4, 3, 3, 7, 9


def create_topic(bootstrap: str, name: str) -> tuple[int, str | None] | None:
    """CreateTopics v1 (one partition, RF 1); (error_code, message), None if the broker
    closed the connection instead of answering."""
    body = array([string(name) + i32(1) + i16(1) + array([]) + array([])]) + i32(10000) + i8(0)
    with Connection(bootstrap, timeout=40) as c:
        try:
            r = c.request(API_CREATE_TOPICS, 1, body)
        except (kafka_wire.ConnectionClosed, ConnectionResetError):
            return None
        topics = r.array(lambda x: (x.string(), x.i16(), x.string()))
    assert [t[0] for t in topics] == [name], topics
    return topics[0][1], topics[0][2]


def admin_create_error(bootstrap: str, name: str) -> KafkaError | None:
    """confluent-kafka's AdminClient create_topics through `bootstrap` alone: the error it
    reports (None on success). The broker names itself as the controller, so the request goes
    to it (and is forwarded) rather than to the quorum leader."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        admin.create_topics([NewTopic(name, 1, 1)], request_timeout=20)[name].result(timeout=30)
        return None
    except KafkaException as e:
        return e.args[0]


def create_cluster_acl(bootstrap: str, operation: int) -> int:
    """CreateAcls v1: ALLOW User:ANONYMOUS `operation` on the CLUSTER resource; the error code."""
    creation = (i8(CLUSTER) + string("kafka-cluster") + i8(LITERAL) + string("User:ANONYMOUS") + string("*")
                + i8(operation) + i8(ALLOW))
    with Connection(bootstrap) as c:
        r = c.request(API_CREATE_ACLS, 1, array([creation]))
        r.i32()  # throttle
        results = r.array(lambda x: (x.i16(), x.string()))
    assert len(results) == 1, results
    return results[0][0]


def cluster_acl_operations(bootstrap: str) -> set[int]:
    """The operations of the ACLs on the CLUSTER resource, as this broker's image has them."""
    body = i8(CLUSTER) + string(None) + i8(1) + string(None) + string(None) + i8(1) + i8(1)   # ANY pattern/op/permission
    with Connection(bootstrap) as c:
        r = c.request(API_DESCRIBE_ACLS, 1, body)
        r.i32()
        error, _ = r.i16(), r.string()
        assert error == 0, error
        resources = r.array(lambda x: (x.i8(), x.string(), x.i8(),
                                       x.array(lambda y: (y.string(), y.string(), y.i8(), y.i8()))))
    return {acl[2] for res in resources for acl in res[3]}


def wait_everywhere(nodes: dict[int, OwnBroker], operations: set[int], timeout: float = 30):
    deadline = time.time() + timeout
    while True:
        seen = {i: cluster_acl_operations(n.bootstrap) for i, n in nodes.items()}
        if all(s >= operations for s in seen.values()):
            return
        assert time.time() < deadline, f"ACLs not applied everywhere: {seen}"
        time.sleep(0.2)


def quorum_leader(binary: str, bootstrap: str) -> int:
    out = subprocess.run([binary, "cluster", "describe", "--bootstrap-server", bootstrap, "--output", "json"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return json.loads(out)["quorum"]["leaderId"]


def test_a_forwarding_broker_needs_cluster_action(tmp_path):
    binary = samsa_bin()
    assert binary, "no samsa binary"
    bports = {i: free_port() for i in (1, 2, 3)}
    cports = {i: free_port() for i in (1, 2, 3)}
    voters = ",".join(f"{i}@127.0.0.1:{cports[i]}" for i in (1, 2, 3))
    cluster_id = subprocess.run([binary, "storage", "random-uuid"], capture_output=True, text=True, check=True).stdout.strip()
    nodes: dict[int, OwnBroker] = {}
    for i in (1, 2, 3):
        n = OwnBroker(tmp_path / f"node{i}", extra={
            "process.roles": "broker,controller", "node.id": str(i), "controller.quorum.voters": voters,
            "controller.listener.names": "CONTROLLER",
            "listeners": f"PLAINTEXT://127.0.0.1:{bports[i]},CONTROLLER://127.0.0.1:{cports[i]}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{bports[i]}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "true", "super.users": "User:admin",
            "controller.quorum.election.timeout.ms": "1000", "broker.heartbeat.interval.ms": "500",
            "broker.session.timeout.ms": "4000", "request.timeout.ms": "5000",
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
        deadline = time.time() + 60
        while True:   # brokers still registering: retried as an operator would
            try:
                leader = quorum_leader(binary, nodes[1].bootstrap)
                if leader in nodes:
                    break
            except (subprocess.CalledProcessError, KeyError, ValueError):
                pass
            assert time.time() < deadline, "no quorum leader"
            time.sleep(0.5)
        follower = next(i for i in nodes if i != leader)
        via_follower, via_leader = nodes[follower].bootstrap, nodes[leader].bootstrap

        # No ACLs: everyone may do everything, the forwarded request included.
        deadline = time.time() + 60
        while (result := create_topic(via_follower, "open-t")) != (0, None):
            assert time.time() < deadline, f"forwarded CreateTopics never succeeded: {result}"
            time.sleep(0.5)

        # An ACL on the cluster: ANONYMOUS may ALTER it (and so create ACLs), not CLUSTER_ACTION.
        assert create_cluster_acl(via_leader, ALTER) == 0
        wait_everywhere(nodes, {ALTER})
        assert create_topic(via_follower, "refused-t") == (UNKNOWN_SERVER_ERROR, None), \
            "the controller ran a forwarded request for a sender without CLUSTER_ACTION, or the broker closed the connection"
        # librdkafka names the broker's UNKNOWN_SERVER_ERROR (-1) "UNKNOWN"; a closed connection
        # would be _TRANSPORT (-195) after its retries.
        admin_error = admin_create_error(via_follower, "refused-admin-t")
        assert admin_error is not None and admin_error.code() == KafkaError.UNKNOWN, admin_error
        assert "CLUSTER_AUTHORIZATION_FAILED" in nodes[follower].run_output(), nodes[follower].tail()
        # Not forwarded on the controller itself: the client's own rights decide (topics have no ACLs).
        assert create_topic(via_leader, "local-t") == (0, None)

        # The brokers' principal granted CLUSTER_ACTION: forwarding works again, no restart.
        assert create_cluster_acl(via_leader, CLUSTER_ACTION) == 0
        wait_everywhere(nodes, {ALTER, CLUSTER_ACTION})
        assert create_topic(via_follower, "refused-t") == (0, None)
        assert quorum_leader(binary, via_leader) == leader, "the controller moved during the test"
    finally:
        for n in nodes.values():
            if n.proc is not None:
                n.stop()
