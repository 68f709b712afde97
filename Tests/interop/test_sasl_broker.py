"""SASL on the broker (issue 14 item 2) with real clients: kcat, confluent-kafka, kafka-python,
aiokafka and the samsa CLI (Swift client) authenticate with PLAIN, SCRAM-SHA-256 and
SCRAM-SHA-512 over SASL_PLAINTEXT, and over SASL_SSL; a wrong password fails with the client's
authentication error while other clients keep working; a request before authentication closes
only that connection; SaslAuthenticate before SaslHandshake gets ILLEGAL_SASL_STATE; an unknown
mechanism gets UNSUPPORTED_SASL_MECHANISM with the enabled list; SaslHandshake v0's raw tokens
work; users created with confluent-kafka's AdminClient.alter_user_scram_credentials log in right
after; bad SASL configuration stops start-up with one line naming the key.

One broker (module scope) with three listeners: PLAINTEXT, SASL_PLAINTEXT (PLAIN users from
`listener.name.sasl_plaintext.plain.sasl.jaas.config`, SCRAM-SHA-256/512) and SASL_SSL. Its
first SCRAM users are seeded before the first start by `samsa storage format --add-scram` and
`--add-scram-file` (the single node's bootstrap records, KIP-900). No secret may appear in the broker's log."""

from __future__ import annotations

import asyncio
import socket
import struct
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import (AdminClient, ScramCredentialInfo, ScramMechanism, UserScramCredentialDeletion,
                                   UserScramCredentialUpsertion)

from conftest import SAMSA_BIN, require_samsa
from own_broker import OwnBroker, free_port
from test_tls_broker import make_pki

pytestmark = pytest.mark.samsa_only

JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
        'username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";')
SECRETS = ["admin-secret", "alice-secret", "s256-secret", "s512-secret", "wrong-secret", "created-secret", "cli-user-secret"]
USERS = {"PLAIN": ("alice", "alice-secret"), "SCRAM-SHA-256": ("scram256", "s256-secret"),
         "SCRAM-SHA-512": ("scram512", "s512-secret")}


class SaslBroker:
    def __init__(self, ob: OwnBroker, sasl_port: int, sasl_ssl_port: int, metrics_port: int, ca: Path):
        self.own = ob
        self.plain = ob.bootstrap
        self.sasl = f"127.0.0.1:{sasl_port}"
        self.sasl_ssl = f"127.0.0.1:{sasl_ssl_port}"
        self.metrics = f"http://127.0.0.1:{metrics_port}/metrics"
        self.ca = ca


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory):
    require_samsa("broker", "storage format")
    pki = make_pki(tmp_path_factory.mktemp("pki"))
    tmp = tmp_path_factory.mktemp("saslbroker")
    ob = OwnBroker(tmp)
    sasl_port, sasl_ssl_port, metrics_port = free_port(), free_port(), free_port()
    listeners = (f"PLAINTEXT://127.0.0.1:{ob.port},SASL_PLAINTEXT://127.0.0.1:{sasl_port},"
                 f"SASL_SSL://127.0.0.1:{sasl_ssl_port}")
    props = {
        "node.id": "1",
        "listeners": listeners,
        "advertised.listeners": listeners,
        "log.dirs": str(ob.log_dir),
        "num.partitions": "1",
        "offsets.topic.num.partitions": "2",
        "group.initial.rebalance.delay.ms": "0",
        "metrics.listener": f"http://127.0.0.1:{metrics_port}",
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
        "listener.name.sasl_ssl.plain.sasl.jaas.config": JAAS,
        "connection.failed.authentication.delay.ms": "100",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(pki["server-keystore.pem"]),
    }
    ob.config.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    # One user on the command line (KIP-900's --add-scram), one from a file (--add-scram-file,
    # Samsa's way to keep passwords out of /proc/PID/cmdline): both log in below.
    users_file = ob.config.parent / "scram-users"
    users_file.write_text("# seeded users\n\n  SCRAM-SHA-512=[name=scram512,password=s512-secret,iterations=8192]\n")
    fmt = subprocess.run([SAMSA_BIN, "storage", "format", "-c", str(ob.config),
                          "--add-scram", "SCRAM-SHA-256=[name=scram256,password=s256-secret]",
                          "--add-scram-file", str(users_file)],
                         capture_output=True, timeout=60)
    assert fmt.returncode == 0, fmt.stderr
    assert b"2 SCRAM credential(s)" in fmt.stdout, fmt.stdout
    ob.start()
    yield SaslBroker(ob, sasl_port, sasl_ssl_port, metrics_port, pki["ca.pem"])
    ob.terminate()
    log = ob.run_output()
    ob.stop()
    for secret in SECRETS:
        assert secret not in log, f"{secret} appears in the broker log"


def conf(b: SaslBroker, mechanism: str, bootstrap: str | None = None, user: str | None = None,
         password: str | None = None, **extra) -> dict:
    u, p = USERS[mechanism]
    c = {"bootstrap.servers": bootstrap or b.sasl, "security.protocol": "sasl_plaintext",
         "sasl.mechanisms": mechanism, "sasl.username": user or u, "sasl.password": password or p, **extra}
    if (bootstrap or b.sasl) == b.sasl_ssl:
        c["security.protocol"] = "sasl_ssl"
        c["ssl.ca.location"] = str(b.ca)
    return c


def kcat(*args: str, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["kcat", *args], input=input, capture_output=True, timeout=60, check=check)


def kcat_sasl(b: SaslBroker, mechanism: str, bootstrap: str | None = None) -> list[str]:
    u, p = USERS[mechanism]
    args = ["-b", bootstrap or b.sasl, "-X", f"sasl.mechanisms={mechanism}", "-X", f"sasl.username={u}",
            "-X", f"sasl.password={p}"]
    if bootstrap == b.sasl_ssl:
        return args + ["-X", "security.protocol=sasl_ssl", "-X", f"ssl.ca.location={b.ca}"]
    return args + ["-X", "security.protocol=sasl_plaintext"]


def consume_all(c: Consumer, n: int, timeout: float = 30) -> list[str]:
    got: list[str] = []
    deadline = time.time() + timeout
    while len(got) < n and time.time() < deadline:
        m = c.poll(1)
        if m is not None and not m.error():
            got.append(m.value().decode())
    c.close()
    return got


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_kcat_produce_consume(sasl_broker, mechanism):
    b = sasl_broker
    topic = f"sasl-kcat-{mechanism.lower()}"
    lines = b"".join(f"{mechanism}-{i}\n".encode() for i in range(20))
    kcat(*kcat_sasl(b, mechanism), "-P", "-t", topic, input=lines)
    out = kcat(*kcat_sasl(b, mechanism), "-C", "-t", topic, "-o", "beginning", "-c", "20", "-e").stdout
    assert out.splitlines() == [f"{mechanism}-{i}".encode() for i in range(20)]


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_confluent_produce_consume(sasl_broker, group_name, mechanism):
    b = sasl_broker
    topic = f"sasl-confluent-{mechanism.lower()}"
    p = Producer(conf(b, mechanism))
    for i in range(50):
        p.produce(topic, value=f"ck-{i}".encode())
    assert p.flush(30) == 0
    c = Consumer(conf(b, mechanism, **{"group.id": group_name, "auto.offset.reset": "earliest"}))
    c.subscribe([topic])
    assert consume_all(c, 50) == [f"ck-{i}" for i in range(50)]


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_kafka_python_produce_consume(sasl_broker, mechanism):
    from kafka import KafkaConsumer, KafkaProducer
    b = sasl_broker
    u, pw = USERS[mechanism]
    common = {"bootstrap_servers": b.sasl, "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": mechanism,
              "sasl_plain_username": u, "sasl_plain_password": pw}
    topic = f"sasl-kafka-python-{mechanism.lower()}"
    p = KafkaProducer(**common)
    for i in range(20):
        p.send(topic, f"kp-{i}".encode())
    p.flush(30)
    p.close()
    c = KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=10000, **common)
    got = [m.value.decode() for m in c][:20]
    c.close()
    assert got == [f"kp-{i}" for i in range(20)]


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_aiokafka_produce_consume(sasl_broker, mechanism):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    b = sasl_broker
    u, pw = USERS[mechanism]
    common = {"bootstrap_servers": b.sasl, "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": mechanism,
              "sasl_plain_username": u, "sasl_plain_password": pw}
    topic = f"sasl-aiokafka-{mechanism.lower()}"

    async def run() -> list[str]:
        p = AIOKafkaProducer(**common)
        await p.start()
        try:
            for i in range(20):
                await p.send_and_wait(topic, f"ak-{i}".encode())
        finally:
            await p.stop()
        c = AIOKafkaConsumer(topic, auto_offset_reset="earliest", **common)
        await c.start()
        got: list[str] = []
        try:
            deadline = time.time() + 30
            while len(got) < 20 and time.time() < deadline:
                batch = await c.getmany(timeout_ms=1000)
                for msgs in batch.values():
                    got += [m.value.decode() for m in msgs]
        finally:
            await c.stop()
        return got

    assert asyncio.run(run()) == [f"ak-{i}" for i in range(20)]


def test_sasl_ssl_with_scram_and_plain(sasl_broker, group_name):
    b = sasl_broker
    p = Producer(conf(b, "SCRAM-SHA-512", bootstrap=b.sasl_ssl))
    for i in range(30):
        p.produce("sasl-ssl", value=f"ss-{i}".encode())
    assert p.flush(30) == 0
    c = Consumer(conf(b, "SCRAM-SHA-512", bootstrap=b.sasl_ssl, **{"group.id": group_name, "auto.offset.reset": "earliest"}))
    c.subscribe(["sasl-ssl"])
    assert consume_all(c, 30) == [f"ss-{i}" for i in range(30)]
    out = kcat(*kcat_sasl(b, "PLAIN", bootstrap=b.sasl_ssl), "-C", "-t", "sasl-ssl", "-o", "beginning", "-c", "30", "-e").stdout
    assert out.splitlines() == [f"ss-{i}".encode() for i in range(30)]


def auth_errors(client, seen: list, timeout: float = 10) -> list:
    """librdkafka hands errors to error_cb only from poll(): serve it until one arrives."""
    deadline = time.time() + timeout
    while not seen and time.time() < deadline:
        client.poll(0.2)
    return seen


def failed_authentications(b: SaslBroker) -> dict[str, float]:
    text = urllib.request.urlopen(b.metrics, timeout=10).read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("kafka_server_socket_server_metrics_failed_authentication_total{"):
            listener = line.split('listener="', 1)[1].split('"', 1)[0]
            out[listener] = float(line.rsplit(" ", 1)[1])
    return out


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256"])
def test_wrong_password_fails_while_others_keep_working(sasl_broker, mechanism):
    b = sasl_broker
    before = failed_authentications(b).get("SASL_PLAINTEXT", 0)
    stop = threading.Event()
    errors: list = []
    delivered = [0]

    def produce_loop():
        p = Producer(conf(b, "SCRAM-SHA-512"))
        i = 0
        while not stop.is_set():
            p.produce("sasl-concurrent", value=f"c-{i}".encode(),
                      on_delivery=lambda err, msg: errors.append(err) if err else delivered.__setitem__(0, delivered[0] + 1))
            p.poll(0.01)
            i += 1
        assert p.flush(30) == 0

    t = threading.Thread(target=produce_loop)
    t.start()
    try:
        # confluent-kafka: the authentication error, not a timeout.
        seen: list[KafkaError] = []
        admin = AdminClient(conf(b, mechanism, password="wrong-secret", error_cb=seen.append))
        with pytest.raises(KafkaException):
            admin.list_topics(timeout=5)
        assert any(e.code() == KafkaError._AUTHENTICATION for e in auth_errors(admin, seen)), seen
        assert any("Authentication failed" in e.str() for e in seen), [e.str() for e in seen]
        # kafka-python: SaslAuthenticationFailedError carries Kafka's message.
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError as PyKafkaError
        with pytest.raises(PyKafkaError):
            KafkaAdminClient(bootstrap_servers=b.sasl, security_protocol="SASL_PLAINTEXT", sasl_mechanism=mechanism,
                             sasl_plain_username=USERS[mechanism][0], sasl_plain_password="wrong-secret",
                             request_timeout_ms=5000, api_version_auto_timeout_ms=5000)
        # An unknown user fails the same way.
        seen.clear()
        admin = AdminClient(conf(b, mechanism, user="nobody", password="wrong-secret", error_cb=seen.append))
        with pytest.raises(KafkaException):
            admin.list_topics(timeout=5)
        assert any(e.code() == KafkaError._AUTHENTICATION for e in auth_errors(admin, seen)), seen
    finally:
        stop.set()
        t.join(60)
    assert not errors and delivered[0] > 0
    assert b.own.proc.poll() is None
    assert failed_authentications(b).get("SASL_PLAINTEXT", 0) >= before + 2
    log = b.own.run_output()
    assert "Failed authentication with 127.0.0.1" in log, log[-3000:]


def frame(api_key: int, version: int, correlation: int, body: bytes, client: bytes = b"raw") -> bytes:
    header = struct.pack(">hhih", api_key, version, correlation, len(client)) + client
    return struct.pack(">i", len(header) + len(body)) + header + body


def read_frame(s: socket.socket) -> bytes | None:
    def exact(n: int) -> bytes | None:
        data = b""
        while len(data) < n:
            try:
                chunk = s.recv(n - len(data))
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            data += chunk
        return data
    size = exact(4)
    if size is None:
        return None
    return exact(struct.unpack(">i", size)[0])


def string(s: str) -> bytes:
    return struct.pack(">h", len(s)) + s.encode()


def connect(b: SaslBroker) -> socket.socket:
    host, port = b.sasl.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def test_request_before_authentication_closes_only_that_connection(sasl_broker):
    b = sasl_broker
    other = Producer(conf(b, "PLAIN"))
    other.produce("sasl-early", value=b"before")
    assert other.flush(30) == 0
    with connect(b) as s:
        s.sendall(frame(3, 0, 1, struct.pack(">i", 0)))   # Metadata v0, all topics
        assert read_frame(s) is None, "the broker answered a request before authentication"
    # ApiVersions is allowed before authentication.
    with connect(b) as s:
        s.sendall(frame(18, 0, 2, b""))
        resp = read_frame(s)
        assert resp is not None and struct.unpack(">ih", resp[:6]) == (2, 0)
    other.produce("sasl-early", value=b"after")
    assert other.flush(30) == 0
    assert "Unexpected Kafka request of type METADATA during SASL handshake" in b.own.run_output()


def test_authenticate_before_handshake_and_unknown_mechanism(sasl_broker):
    b = sasl_broker
    with connect(b) as s:
        s.sendall(frame(36, 1, 5, struct.pack(">i", 3) + b"abc"))   # SaslAuthenticate v1
        resp = read_frame(s)
        assert resp is not None
        corr, code = struct.unpack(">ih", resp[:6])
        assert (corr, code) == (5, 34), resp   # ILLEGAL_SASL_STATE
        assert read_frame(s) is None, "the connection stays open after ILLEGAL_SASL_STATE"
    with connect(b) as s:
        s.sendall(frame(17, 1, 6, string("GSSAPI")))
        resp = read_frame(s)
        assert resp is not None
        corr, code, n = struct.unpack(">ihi", resp[:10])
        assert (corr, code, n) == (6, 33, 3)   # UNSUPPORTED_SASL_MECHANISM and the enabled list
        assert b"PLAIN" in resp and b"SCRAM-SHA-256" in resp and b"SCRAM-SHA-512" in resp
        assert read_frame(s) is None


def test_handshake_v0_raw_tokens(sasl_broker):
    """Kafka's pre-KIP-152 framing: after SaslHandshake v0 the token goes without a header."""
    b = sasl_broker
    with connect(b) as s:
        s.sendall(frame(17, 0, 1, string("PLAIN")))
        resp = read_frame(s)
        assert resp is not None and struct.unpack(">ih", resp[:6]) == (1, 0)
        token = b"\0alice\0alice-secret"
        s.sendall(struct.pack(">i", len(token)) + token)
        assert read_frame(s) == b"", "PLAIN's raw answer is an empty token"
        s.sendall(frame(3, 0, 2, struct.pack(">i", 0)))
        resp = read_frame(s)
        assert resp is not None and struct.unpack(">i", resp[:4])[0] == 2, "authenticated: Metadata is answered"
    with connect(b) as s:
        s.sendall(frame(17, 0, 1, string("PLAIN")))
        read_frame(s)
        token = b"\0alice\0wrong-secret"
        s.sendall(struct.pack(">i", len(token)) + token)
        assert read_frame(s) is None, "a failed raw login closes the connection"


def test_admin_created_scram_users_log_in_right_after(sasl_broker, group_name):
    b = sasl_broker
    admin = AdminClient(conf(b, "PLAIN", user="admin", password="admin-secret"))
    futures = admin.alter_user_scram_credentials([
        UserScramCredentialUpsertion("created", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), b"created-secret"),
        UserScramCredentialUpsertion("created", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), b"created-secret"),
    ])
    for f in futures.values():
        f.result(timeout=30)
    described = admin.describe_user_scram_credentials(["created"])   # a list of users: one future per user
    infos = described["created"].result(timeout=30).scram_credential_infos
    assert sorted((i.mechanism, i.iterations) for i in infos) == [(ScramMechanism.SCRAM_SHA_256, 4096),
                                                                   (ScramMechanism.SCRAM_SHA_512, 8192)]
    for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
        p = Producer(conf(b, mechanism, user="created", password="created-secret"))
        p.produce("sasl-created", value=mechanism.encode())
        assert p.flush(30) == 0
    # Too few iterations: UNACCEPTABLE_CREDENTIAL.
    bad = admin.alter_user_scram_credentials([
        UserScramCredentialUpsertion("weak", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 100), b"weak-secret")])
    with pytest.raises(KafkaException) as e:
        bad["weak"].result(timeout=30)
    assert "Too few iterations" in str(e.value) or "UNACCEPTABLE_CREDENTIAL" in str(e.value), str(e.value)
    # Deleted: the user can no longer log in.
    for f in admin.alter_user_scram_credentials([UserScramCredentialDeletion("created", ScramMechanism.SCRAM_SHA_256)]).values():
        f.result(timeout=30)
    seen: list[KafkaError] = []
    gone = AdminClient(conf(b, "SCRAM-SHA-256", user="created", password="created-secret", error_cb=seen.append))
    with pytest.raises(KafkaException):
        gone.list_topics(timeout=5)
    assert any(e.code() == KafkaError._AUTHENTICATION for e in auth_errors(gone, seen)), seen


def test_samsa_user_cli_creates_users_that_log_in(sasl_broker, tmp_path):
    """`samsa user add|list|delete` (the Swift client's AlterUserScramCredentials: salt and
    PBKDF2 computed client side) creates a user confluent-kafka logs in as; the password comes
    from a file or stdin, never argv."""
    require_samsa("user add")
    b = sasl_broker
    pw = tmp_path / "pw"
    pw.write_text("cli-user-secret\n")

    def samsa(*args, input=None):
        p = subprocess.run([SAMSA_BIN, "user", *args, "--bootstrap-server", b.plain], input=input,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, (p.stdout, p.stderr)
        return p.stdout

    samsa("add", "cliuser", "--mechanism", "SCRAM-SHA-512", "--password-file", str(pw))
    samsa("add", "cliuser", "--mechanism", "SCRAM-SHA-256", "--iterations", "4096", input="cli-user-secret\n")
    import json
    listed = {u["user"]: u for u in json.loads(samsa("list", "--output", "json"))}
    assert sorted((c["mechanism"], c["iterations"]) for c in listed["cliuser"]["credentials"]) == [
        ("SCRAM-SHA-256", 4096), ("SCRAM-SHA-512", 8192)]
    for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
        p = Producer(conf(b, mechanism, user="cliuser", password="cli-user-secret"))
        p.produce("sasl-cli-user", value=mechanism.encode())
        assert p.flush(30) == 0
    samsa("delete", "cliuser", "--mechanism", "SCRAM-SHA-512")
    samsa("delete", "cliuser", "--mechanism", "SCRAM-SHA-256")
    assert "cliuser" not in {u["user"] for u in json.loads(samsa("list", "--output", "json"))}


def test_samsa_cli_produce_consume_with_command_config(sasl_broker, tmp_path):
    require_samsa("produce", "consume")
    b = sasl_broker
    for mechanism in ("PLAIN", "SCRAM-SHA-256"):
        u, pw = USERS[mechanism]
        props = tmp_path / f"client-{mechanism}.properties"
        props.write_text(f"bootstrap.servers={b.sasl}\nsecurity.protocol=SASL_PLAINTEXT\nsasl.mechanism={mechanism}\n"
                         f"sasl.username={u}\nsasl.password={pw}\n")
        topic = f"sasl-cli-{mechanism.lower()}"
        lines = "".join(f"cli-{i}\n" for i in range(20)).encode()
        subprocess.run([SAMSA_BIN, "produce", "--command-config", str(props), "--topic", topic],
                       input=lines, check=True, capture_output=True, timeout=60)
        out = subprocess.run([SAMSA_BIN, "consume", "--command-config", str(props), "--topic", topic,
                              "--from-beginning", "--max-messages", "20", "--timeout-ms", "10000"],
                             check=True, capture_output=True, timeout=60).stdout
        assert out.decode().splitlines() == [f"cli-{i}" for i in range(20)]
    props = tmp_path / "wrong.properties"
    props.write_text(f"bootstrap.servers={b.sasl}\nsecurity.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
                     "sasl.username=alice\nsasl.password=wrong-secret\n")
    r = subprocess.run([SAMSA_BIN, "produce", "--command-config", str(props), "--topic", "sasl-cli-wrong"],
                       input=b"x\n", capture_output=True, timeout=60)
    assert r.returncode != 0
    assert b"SASL_AUTHENTICATION_FAILED" in r.stderr or b"Authentication failed" in r.stderr, r.stderr


@pytest.mark.parametrize("case", ["gssapi-default", "no-plain-users", "bad-jaas"])
def test_bad_sasl_config_stops_startup_naming_the_key(tmp_path, case):
    require_samsa("broker")
    ob = OwnBroker(tmp_path)
    port = ob.port
    props = {"listeners": f"SASL_PLAINTEXT://127.0.0.1:{port}", "log.dirs": str(ob.log_dir)}
    key = {"gssapi-default": "sasl.enabled.mechanisms",
           "no-plain-users": "listener.name.sasl_plaintext.plain.sasl.jaas.config",
           "bad-jaas": "listener.name.sasl_plaintext.plain.sasl.jaas.config"}[case]
    if case != "gssapi-default":
        props["sasl.enabled.mechanisms"] = "PLAIN"
    if case == "bad-jaas":
        props[key] = 'org.apache.kafka.common.security.plain.PlainLoginModule required user_a="wrong-secret"'
    ob.config.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    ob.spawn()
    try:
        assert ob.wait_ready_or_exit(60) == 1
        out = ob.run_output()
        fatal = [line for line in out.splitlines() if "critical" in line.lower()]
        assert len(fatal) == 1 and key in fatal[0], out
        assert "wrong-secret" not in out
    finally:
        ob.stop()
