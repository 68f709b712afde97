"""The principal of a TLS client (issue 14): on an SSL listener with `ssl.client.auth=required`
a connection is `User:<subject DN>` of its client certificate (Java's RFC 2253 form, most
specific RDN first), mapped by `ssl.principal.mapping.rules` (KIP-371), and the authorizer
sees that principal, as with Kafka's DefaultKafkaPrincipalBuilder.

One broker (module scope): PLAINTEXT (User:ANONYMOUS) and an SSL listener with client auth,
Kafka's StandardAuthorizer, `ssl.principal.mapping.rules=RULE:^CN=(.*?),OU=.*$/$1/L,DEFAULT`.
Certificates (openssl, one CA):
* `/O=Acme/OU=eng/CN=Alice` -> DN `CN=Alice,OU=eng,O=Acme` -> the rule -> `User:alice`, who has
  ACLs on one topic and one group;
* `/O=Acme/OU=eng/CN=Bob` -> `User:bob`, who has none;
* `/C=US/O=Acme/CN=admin` -> no OU, so DEFAULT -> `User:CN=admin,O=Acme,C=US`, the super user
  (it creates the topics and the ACLs, so the DN form itself is checked).
Without certificate principals every one of them would be User:ANONYMOUS and nothing here works."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType, AdminClient,
                                   NewTopic, ResourcePatternType, ResourceType)

from conftest import require_samsa
from own_broker import OwnBroker, free_port

pytestmark = pytest.mark.samsa_only

RULES = "RULE:^CN=(.*?),OU=.*$/$1/L,DEFAULT"
ADMIN = "User:CN=admin,O=Acme,C=US"
SUBJECTS = {"alice": "/O=Acme/OU=eng/CN=Alice", "bob": "/O=Acme/OU=eng/CN=Bob", "admin": "/C=US/O=Acme/CN=admin"}


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d: Path) -> None:
    """ca.pem, server-keystore.pem (127.0.0.1), and <name>.pem / <name>.key per client."""
    d.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=principal-test-ca", cwd=d)
    certs = {"server": ("/CN=samsa-server", "subjectAltName=IP:127.0.0.1,DNS:localhost")}
    certs.update({name: (subj, "extendedKeyUsage=clientAuth") for name, subj in SUBJECTS.items()})
    for name, (subj, ext) in certs.items():
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subj, cwd=d)
        (d / f"{name}.ext").write_text(ext + "\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)
    (d / "server-keystore.pem").write_text((d / "server.key").read_text() + (d / "server.pem").read_text())


class PrincipalBroker:
    def __init__(self, ob: OwnBroker, ssl_port: int, pki: Path):
        self.own = ob
        self.plain = ob.bootstrap
        self.ssl = f"127.0.0.1:{ssl_port}"
        self.pki = pki

    def conf(self, who: str, **extra) -> dict:
        """Client config presenting `who`'s certificate on the SSL listener."""
        return {"bootstrap.servers": self.ssl, "security.protocol": "ssl", "ssl.ca.location": str(self.pki / "ca.pem"),
                "ssl.certificate.location": str(self.pki / f"{who}.pem"), "ssl.key.location": str(self.pki / f"{who}.key"),
                **extra}


def broker_props(ob: OwnBroker, ssl_port: int, pki: Path, rules: str) -> dict[str, str]:
    listeners = f"PLAINTEXT://127.0.0.1:{ob.port},SSL://127.0.0.1:{ssl_port}"
    return {
        "node.id": "1", "listeners": listeners, "advertised.listeners": listeners,
        "log.dirs": str(ob.log_dir), "num.partitions": "1", "offsets.topic.num.partitions": "2",
        "group.initial.rebalance.delay.ms": "0", "auto.create.topics.enable": "false",
        "ssl.keystore.type": "PEM", "ssl.keystore.location": str(pki / "server-keystore.pem"),
        "ssl.truststore.type": "PEM", "ssl.truststore.location": str(pki / "ca.pem"),
        "ssl.client.auth": "required",
        "ssl.principal.mapping.rules": rules,
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": ADMIN,
    }


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("principal-pki")
    make_pki(d)
    return d


@pytest.fixture(scope="module")
def broker(tmp_path_factory, pki):
    require_samsa("broker")
    ob = OwnBroker(tmp_path_factory.mktemp("principalbroker"))
    ssl_port = free_port()
    ob.config.write_text("".join(f"{k}={v}\n" for k, v in broker_props(ob, ssl_port, pki, RULES).items()))
    ob.start()
    yield PrincipalBroker(ob, ssl_port, pki)
    ob.stop()


@pytest.fixture(scope="module")
def setup(broker):
    """As the super user (its certificate's DN): two topics, alice's ACLs on one and on her group."""
    a = AdminClient(broker.conf("admin"))
    for f in a.create_topics([NewTopic("principal-alice", 1, 1), NewTopic("principal-other", 1, 1)]).values():
        f.result(timeout=30)
    bindings = [AclBinding(ResourceType.TOPIC, "principal-alice", ResourcePatternType.LITERAL, "User:alice", "*",
                           op, AclPermissionType.ALLOW) for op in (AclOperation.WRITE, AclOperation.READ)]
    bindings.append(AclBinding(ResourceType.GROUP, "alice-", ResourcePatternType.PREFIXED, "User:alice", "*",
                               AclOperation.READ, AclPermissionType.ALLOW))
    for f in a.create_acls(bindings).values():
        assert f.result(timeout=30) is None
    return a


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


def test_super_user_is_named_by_its_certificate_dn(broker, setup):
    found = setup.describe_acls(AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                                                 AclOperation.ANY, AclPermissionType.ANY)).result(timeout=30)
    assert {(b.name, b.principal, b.operation) for b in found} == {
        ("principal-alice", "User:alice", AclOperation.WRITE), ("principal-alice", "User:alice", AclOperation.READ),
        ("alice-", "User:alice", AclOperation.READ)}


def test_mapped_certificate_principal_produces_and_consumes_its_topic(broker, setup):
    p = Producer(broker.conf("alice", **{"message.timeout.ms": 15000}))
    assert produce_one(p, "principal-alice", "from-alice") is None
    c = Consumer(broker.conf("alice", **{"group.id": "alice-g", "auto.offset.reset": "earliest"}))
    c.subscribe(["principal-alice"])
    got = None
    deadline = time.time() + 30
    while got is None and time.time() < deadline:
        m = c.poll(1)
        if m is not None and not m.error():
            got = m.value()
    c.close()
    assert got == b"from-alice"


def test_mapped_certificate_principal_is_refused_another_topic(broker, setup):
    p = Producer(broker.conf("alice", **{"message.timeout.ms": 15000}))
    err = produce_one(p, "principal-other", "nope")
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err


def test_certificate_mapped_to_someone_else_is_denied(broker, setup):
    p = Producer(broker.conf("bob", **{"message.timeout.ms": 15000}))
    err = produce_one(p, "principal-alice", "from-bob")
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err
    # ... and the same topic on the PLAINTEXT listener is User:ANONYMOUS's, denied too.
    anon = Producer({"bootstrap.servers": broker.plain, "message.timeout.ms": 15000})
    err = produce_one(anon, "principal-alice", "anonymous")
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err


def test_bad_mapping_rule_stops_startup_naming_the_key(tmp_path, pki):
    require_samsa("broker")
    ob = OwnBroker(tmp_path)
    props = broker_props(ob, free_port(), pki, "RULE:^CN=(.*?),OU=.*$/$1/L/U,DEFAULT")
    ob.config.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    ob.spawn()
    try:
        assert ob.wait_ready_or_exit(60) == 1
        fatal = [line for line in ob.run_output().splitlines() if "critical" in line.lower()]
        assert len(fatal) == 1 and "ssl.principal.mapping.rules" in fatal[0] and "Invalid rule" in fatal[0], ob.run_output()
    finally:
        ob.stop()


def test_certificate_no_rule_maps_is_disconnected(tmp_path, pki):
    """Without DEFAULT, a certificate no rule matches gets no principal: Kafka closes the
    connection (its principal builder throws), and so does Samsa, with one warning naming the key."""
    require_samsa("broker")
    ob = OwnBroker(tmp_path)
    ssl_port = free_port()
    ob.config.write_text("".join(f"{k}={v}\n" for k, v in
                                 broker_props(ob, ssl_port, pki, "RULE:^CN=(.*?),OU=eng,.*$/$1/L").items()))
    ob.start()
    try:
        b = PrincipalBroker(ob, ssl_port, pki)
        # alice still maps (to alice) and is answered (no ACL is needed to list topics).
        assert AdminClient(b.conf("alice")).list_topics(timeout=15) is not None
        with pytest.raises(KafkaException):
            AdminClient(b.conf("admin", **{"socket.timeout.ms": 3000})).list_topics(timeout=5)
        out = ob.run_output()
        assert "no rule of ssl.principal.mapping.rules applies to the client certificate's subject CN=admin,O=Acme,C=US" in out, out
    finally:
        ob.stop()
