"""ACLs on the broker (issue 14 item 3) with real clients: confluent-kafka's AdminClient creates,
describes and deletes ACLs as the super user; a SASL/PLAIN principal allowed one topic (a
PREFIXED pattern) and one group produces and consumes there, is refused another topic
(TOPIC_AUTHORIZATION_FAILED) and another group (GROUP_AUTHORIZATION_FAILED), does not see the
topic it may not describe in Metadata, cannot create ACLs (CLUSTER_AUTHORIZATION_FAILED); an
ACL added while a client is connected takes effect without reconnecting; kafka-python's admin
lists the ACLs too.

One broker (module scope), SASL_PLAINTEXT only, `authorizer.class.name` = Kafka's
StandardAuthorizer, `super.users=User:admin`."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType, AdminClient,
                                   NewTopic, ResourcePatternType, ResourceType)

from conftest import require_samsa
from own_broker import OwnBroker

pytestmark = pytest.mark.samsa_only

JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
        'username="admin" password="admin-pw" user_admin="admin-pw" user_alice="alice-pw" user_bob="bob-pw";')


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    require_samsa("broker")
    ob = OwnBroker(tmp_path_factory.mktemp("aclbroker"))
    listeners = f"SASL_PLAINTEXT://127.0.0.1:{ob.port}"
    props = {
        "node.id": "1", "listeners": listeners, "advertised.listeners": listeners,
        "log.dirs": str(ob.log_dir), "num.partitions": "1", "offsets.topic.num.partitions": "2",
        "group.initial.rebalance.delay.ms": "0", "auto.create.topics.enable": "false",
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": "User:admin",
    }
    ob.config.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    ob.start()
    yield ob
    ob.stop()


def conf(b: OwnBroker, user: str, **extra) -> dict:
    return {"bootstrap.servers": b.bootstrap, "security.protocol": "sasl_plaintext", "sasl.mechanisms": "PLAIN",
            "sasl.username": user, "sasl.password": f"{user}-pw", **extra}


def admin(b: OwnBroker, user: str = "admin") -> AdminClient:
    return AdminClient(conf(b, user))


def produce_one(p: Producer, topic: str, value: str, timeout: float = 20) -> KafkaError | None:
    """The delivery error of one message (None when acknowledged)."""
    result: list = []
    try:
        p.produce(topic, value.encode(), on_delivery=lambda err, msg: result.append(err))
    except KafkaException as e:  # librdkafka refuses at once while it caches the topic's error
        return e.args[0]
    deadline = time.time() + timeout
    while not result and time.time() < deadline:
        p.poll(0.2)
    assert result, f"no delivery report for {topic} within {timeout}s"
    return result[0]


@pytest.fixture(scope="module")
def setup(broker):
    a = admin(broker)
    for f in a.create_topics([NewTopic("acl-open-1", 1, 1), NewTopic("acl-secret", 1, 1)]).values():
        f.result(timeout=30)
    bindings = [
        AclBinding(ResourceType.TOPIC, "acl-open", ResourcePatternType.PREFIXED, "User:alice", "*",
                   AclOperation.WRITE, AclPermissionType.ALLOW),
        AclBinding(ResourceType.TOPIC, "acl-open", ResourcePatternType.PREFIXED, "User:alice", "*",
                   AclOperation.READ, AclPermissionType.ALLOW),
        AclBinding(ResourceType.GROUP, "g-alice", ResourcePatternType.LITERAL, "User:alice", "*",
                   AclOperation.READ, AclPermissionType.ALLOW),
    ]
    for f in a.create_acls(bindings).values():
        assert f.result(timeout=30) is None
    return a


def test_admin_describes_what_it_created(broker, setup):
    found = setup.describe_acls(AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                                                 AclOperation.ANY, AclPermissionType.ANY)).result(timeout=30)
    assert {(b.restype, b.name, b.resource_pattern_type, b.principal, b.operation) for b in found} >= {
        (ResourceType.TOPIC, "acl-open", ResourcePatternType.PREFIXED, "User:alice", AclOperation.WRITE),
        (ResourceType.GROUP, "g-alice", ResourcePatternType.LITERAL, "User:alice", AclOperation.READ)}
    # MATCH finds the PREFIXED binding that covers a concrete topic name.
    match = setup.describe_acls(AclBindingFilter(ResourceType.TOPIC, "acl-open-1", ResourcePatternType.MATCH, None,
                                                 None, AclOperation.ANY, AclPermissionType.ANY)).result(timeout=30)
    assert {b.name for b in match} == {"acl-open"}


def test_allowed_topic_and_group_work_others_are_refused(broker, setup):
    p = Producer(conf(broker, "alice", **{"message.timeout.ms": 15000}))
    assert produce_one(p, "acl-open-1", "hello") is None
    err = produce_one(p, "acl-secret", "nope")
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err

    md = AdminClient(conf(broker, "alice")).list_topics(timeout=15)
    assert "acl-open-1" in md.topics and "acl-secret" not in md.topics, sorted(md.topics)

    c = Consumer(conf(broker, "alice", **{"group.id": "g-alice", "auto.offset.reset": "earliest"}))
    c.subscribe(["acl-open-1"])
    got = None
    deadline = time.time() + 30
    while got is None and time.time() < deadline:
        m = c.poll(1)
        if m is not None and not m.error():
            got = m.value()
    c.close()
    assert got == b"hello"

    denied = Consumer(conf(broker, "alice", **{"group.id": "g-other", "auto.offset.reset": "earliest"}))
    denied.subscribe(["acl-open-1"])
    error = None
    deadline = time.time() + 30
    while error is None and time.time() < deadline:
        m = denied.poll(1)
        if m is not None and m.error():
            error = m.error()
    denied.close()
    assert error is not None and error.code() == KafkaError.GROUP_AUTHORIZATION_FAILED, error


def test_a_principal_without_cluster_alter_cannot_create_acls(broker, setup):
    b = AclBinding(ResourceType.TOPIC, "acl-secret", ResourcePatternType.LITERAL, "User:bob", "*",
                   AclOperation.READ, AclPermissionType.ALLOW)
    bob = admin(broker, "bob")  # kept alive: its futures fail with _DESTROY if it is collected first
    with pytest.raises(KafkaException) as e:
        for f in bob.create_acls([b]).values():
            f.result(timeout=30)
    assert e.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED


def test_an_acl_takes_effect_without_reconnecting(broker, setup):
    # librdkafka caches a topic's authorization error until its next metadata refresh.
    p = Producer(conf(broker, "bob", **{"message.timeout.ms": 10000, "topic.metadata.refresh.interval.ms": 1000}))
    err = produce_one(p, "acl-secret", "before")
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err
    grant = AclBinding(ResourceType.TOPIC, "acl-secret", ResourcePatternType.LITERAL, "User:bob", "*",
                       AclOperation.WRITE, AclPermissionType.ALLOW)
    for f in setup.create_acls([grant]).values():
        f.result(timeout=30)
    # The same producer (same connection) is allowed now; librdkafka retries the topic's metadata.
    deadline = time.time() + 30
    err = produce_one(p, "acl-secret", "after")
    while err is not None and time.time() < deadline:
        time.sleep(1)
        err = produce_one(p, "acl-secret", "after")
    assert err is None, err
    # And deleting it takes the right away again.
    deleted = setup.delete_acls([AclBindingFilter(ResourceType.TOPIC, "acl-secret", ResourcePatternType.LITERAL,
                                                  "User:bob", None, AclOperation.ANY, AclPermissionType.ANY)])
    for f in deleted.values():
        assert len(f.result(timeout=30)) == 1
    deadline = time.time() + 30
    err = produce_one(p, "acl-secret", "revoked")
    while err is None and time.time() < deadline:
        time.sleep(1)
        err = produce_one(p, "acl-secret", "revoked")
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err


def test_kafka_python_admin_lists_acls(broker, setup):
    from kafka.admin import (ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, KafkaAdminClient,
                             ResourcePatternFilter)
    from kafka.admin import ResourceType as KPResourceType
    kp = KafkaAdminClient(bootstrap_servers=broker.bootstrap, security_protocol="SASL_PLAINTEXT",
                          sasl_mechanism="PLAIN", sasl_plain_username="admin", sasl_plain_password="admin-pw")
    try:
        acls, error = kp.describe_acls(ACLFilter(principal=None, host="*", operation=ACLOperation.ANY,
                                                 permission_type=ACLPermissionType.ANY,
                                                 resource_pattern=ResourcePatternFilter(KPResourceType.GROUP, "g-alice",
                                                                                        ACLResourcePatternType.LITERAL)))
        assert [a.principal for a in acls] == ["User:alice"], (acls, error)
    finally:
        kp.close()


def test_samsa_acl_cli_adds_lists_and_removes(broker, setup, tmp_path):
    """The Swift client's ACL admin through `samsa acl` (kafka-acls.sh's flags) over SASL."""
    import json
    import subprocess

    from conftest import SAMSA_BIN
    require_samsa("acl list")
    props = tmp_path / "admin.properties"
    props.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
                     "sasl.username=admin\nsasl.password=admin-pw\n")

    def samsa(*args, check=True):
        p = subprocess.run([SAMSA_BIN, "acl", *args, "--bootstrap-server", broker.bootstrap,
                            "--command-config", str(props)], capture_output=True, text=True, timeout=60)
        assert not check or p.returncode == 0, (p.stdout, p.stderr)
        return p

    out = samsa("add", "--allow-principal", "User:carol", "--operation", "Read", "--operation", "Describe",
                "--group", "team-", "--resource-pattern-type", "prefixed").stdout
    assert out.count("Added:") == 2, out
    rows = json.loads(samsa("list", "--principal", "User:carol", "--output", "json").stdout)
    assert {(r["resourceType"], r["resourceName"], r["patternType"], r["operation"]) for r in rows} == {
        ("GROUP", "team-", "PREFIXED", "Read"), ("GROUP", "team-", "PREFIXED", "Describe")}
    # confluent-kafka sees what the Swift client created.
    seen = setup.describe_acls(AclBindingFilter(ResourceType.GROUP, "team-", ResourcePatternType.PREFIXED, "User:carol",
                                                None, AclOperation.ANY, AclPermissionType.ANY)).result(timeout=30)
    assert len(seen) == 2
    removed = samsa("remove", "--group", "team-", "--resource-pattern-type", "prefixed", "--all").stdout
    assert removed.count("Removed:") == 2, removed
    assert json.loads(samsa("list", "--principal", "User:carol", "--output", "json").stdout) == []
    # Bad input: a principal without a type is refused by the CLI, nothing is sent.
    bad = samsa("add", "--allow-principal", "carol", "--operation", "Read", "--topic", "t", check=False)
    assert bad.returncode != 0 and "Type:name" in (bad.stderr + bad.stdout)
