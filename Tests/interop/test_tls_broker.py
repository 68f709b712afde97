"""TLS listeners on the broker (issue 14 item 1) with real clients: kcat, confluent-kafka,
kafka-python and the samsa CLI (Swift client) produce and consume over SSL; mutual TLS with
`ssl.client.auth=required` refuses a client without a certificate and serves one with a
CA-signed certificate; a plaintext client on the SSL port loses only its own connection;
bad TLS configuration stops start-up with one line naming the key.

A throw-away CA, a server certificate (SAN 127.0.0.1 and localhost) and a client certificate
are made with Debian's openssl in a temp dir. One broker (module scope) has three listeners:
PLAINTEXT, SSL (no client auth) and MTLS (an SSL listener via listener.security.protocol.map,
with `listener.name.mtls.ssl.client.auth=required`), so the per-listener keys are exercised."""

from __future__ import annotations

import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from conftest import SAMSA_BIN, require_samsa
from own_broker import OwnBroker, free_port

pytestmark = pytest.mark.samsa_only


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d: Path) -> dict[str, Path]:
    """CA, server (127.0.0.1/localhost) and client certificates; EC keys keep it fast."""
    d.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=samsa-test-ca", cwd=d)
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"), ("client", "extendedKeyUsage=clientAuth")):
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN=samsa-{name}", cwd=d)
        (d / f"{name}.ext").write_text(ext + "\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)
    # Kafka's PEM key store file: the private key followed by the certificate chain.
    (d / "server-keystore.pem").write_text((d / "server.key").read_text() + (d / "server.pem").read_text())
    # An encrypted PKCS#8 copy of the server key, for ssl.key.password.
    openssl("pkcs8", "-topk8", "-in", "server.key", "-out", "server-enc.key", "-passout", "pass:s3cret", cwd=d)
    # A key that belongs to no certificate here.
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", "other.key", cwd=d)
    return {n: d / n for n in ("ca.pem", "server.pem", "server.key", "server-keystore.pem", "server-enc.key",
                               "client.pem", "client.key", "other.key")}


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


class TLSBroker:
    def __init__(self, ob: OwnBroker, ssl_port: int, mtls_port: int, ca: Path):
        self.own = ob
        self.plain = ob.bootstrap
        self.ssl = f"127.0.0.1:{ssl_port}"
        self.mtls = f"127.0.0.1:{mtls_port}"
        self.ca = ca


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory, pki):
    require_samsa("broker")
    tmp = tmp_path_factory.mktemp("tlsbroker")
    ob = OwnBroker(tmp)
    ssl_port, mtls_port = free_port(), free_port()
    listeners = f"PLAINTEXT://127.0.0.1:{ob.port},SSL://127.0.0.1:{ssl_port},MTLS://127.0.0.1:{mtls_port}"
    props = {
        "node.id": "1",
        "listeners": listeners,
        "advertised.listeners": listeners,
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL",
        "log.dirs": str(ob.log_dir),
        "num.partitions": "1",
        "offsets.topic.num.partitions": "2",
        "group.initial.rebalance.delay.ms": "0",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(pki["server-keystore.pem"]),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(pki["ca.pem"]),
        "listener.name.mtls.ssl.client.auth": "required",
    }
    ob.config.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    ob.start()
    yield TLSBroker(ob, ssl_port, mtls_port, pki["ca.pem"])
    ob.stop()


def ssl_conf(b: TLSBroker, bootstrap: str, **extra) -> dict:
    return {"bootstrap.servers": bootstrap, "security.protocol": "ssl", "ssl.ca.location": str(b.ca), **extra}


def kcat(*args: str, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["kcat", *args], input=input, capture_output=True, timeout=60, check=check)


def test_kcat_produce_consume_over_ssl(tls_broker):
    b = tls_broker
    ssl = ["-X", "security.protocol=ssl", "-X", f"ssl.ca.location={b.ca}"]
    lines = b"".join(f"kcat-{i}\n".encode() for i in range(50))
    kcat("-b", b.ssl, *ssl, "-P", "-t", "tls-kcat", input=lines)
    out = kcat("-b", b.ssl, *ssl, "-C", "-t", "tls-kcat", "-o", "beginning", "-c", "50", "-e").stdout
    assert out.splitlines() == [f"kcat-{i}".encode() for i in range(50)]


def test_confluent_produce_consume_over_ssl(tls_broker, group_name):
    b = tls_broker
    p = Producer(ssl_conf(b, b.ssl))
    for i in range(100):
        p.produce("tls-confluent", value=f"ck-{i}".encode())
    assert p.flush(30) == 0
    c = Consumer(ssl_conf(b, b.ssl, **{"group.id": group_name, "auto.offset.reset": "earliest"}))
    c.subscribe(["tls-confluent"])
    got = []
    deadline = time.time() + 30
    while len(got) < 100 and time.time() < deadline:
        m = c.poll(1)
        if m is not None and not m.error():
            got.append(m.value().decode())
    c.close()
    assert got == [f"ck-{i}" for i in range(100)]


def test_kafka_python_produce_consume_over_ssl(tls_broker):
    from kafka import KafkaConsumer, KafkaProducer
    b = tls_broker
    common = {"bootstrap_servers": b.ssl, "security_protocol": "SSL", "ssl_cafile": str(b.ca)}
    p = KafkaProducer(**common)
    for i in range(30):
        p.send("tls-kafka-python", f"kp-{i}".encode())
    p.flush(30)
    p.close()
    c = KafkaConsumer("tls-kafka-python", auto_offset_reset="earliest", consumer_timeout_ms=10000, **common)
    got = [m.value.decode() for m in c][:30]
    c.close()
    assert got == [f"kp-{i}" for i in range(30)]


def test_mutual_tls_refuses_a_client_without_certificate(tls_broker):
    b = tls_broker
    admin = AdminClient(ssl_conf(b, b.mtls, **{"socket.timeout.ms": 3000}))
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=5)


def test_mutual_tls_serves_a_ca_signed_client(tls_broker, pki):
    b = tls_broker
    conf = ssl_conf(b, b.mtls, **{"ssl.certificate.location": str(pki["client.pem"]),
                                 "ssl.key.location": str(pki["client.key"])})
    p = Producer(conf)
    p.produce("tls-mtls", value=b"with-cert")
    assert p.flush(30) == 0
    ssl = ["-X", "security.protocol=ssl", "-X", f"ssl.ca.location={b.ca}",
           "-X", f"ssl.certificate.location={pki['client.pem']}", "-X", f"ssl.key.location={pki['client.key']}"]
    out = kcat("-b", b.mtls, *ssl, "-C", "-t", "tls-mtls", "-o", "beginning", "-c", "1", "-e").stdout
    assert out.strip() == b"with-cert"


def api_versions_request() -> bytes:
    client = b"plain"
    body = struct.pack(">hhih", 18, 0, 7, len(client)) + client
    return struct.pack(">i", len(body)) + body


def test_plaintext_client_on_ssl_port_loses_only_its_connection(tls_broker):
    b = tls_broker
    # A concurrent SSL producer keeps working while plaintext clients hit the SSL port.
    stop = threading.Event()
    errors: list = []
    delivered = [0]

    def produce_loop():
        p = Producer(ssl_conf(b, b.ssl))
        i = 0
        while not stop.is_set():
            p.produce("tls-concurrent", value=f"c-{i}".encode(),
                      on_delivery=lambda err, msg: errors.append(err) if err else delivered.__setitem__(0, delivered[0] + 1))
            p.poll(0.01)
            i += 1
        assert p.flush(30) == 0

    t = threading.Thread(target=produce_loop)
    t.start()
    try:
        for _ in range(5):
            with socket.create_connection(("127.0.0.1", int(b.ssl.rsplit(":", 1)[1])), timeout=10) as s:
                s.sendall(api_versions_request())
                # The broker answers with a TLS alert or just closes; never a Kafka response.
                data = b""
                try:
                    while chunk := s.recv(4096):
                        data += chunk
                except ConnectionResetError:
                    pass
                assert not data.startswith(b"\x00\x00"), f"plaintext request was answered: {data[:16]!r}"
    finally:
        stop.set()
        t.join(60)
    assert not errors and delivered[0] > 0
    assert b.own.proc.poll() is None
    log = b.own.run_output()
    assert "TLS failed on listener SSL" in log, log[-2000:]
    # The plaintext listener still works too.
    out = kcat("-b", b.plain, "-L", "-t", "tls-concurrent").stdout
    assert b"tls-concurrent" in out


def test_samsa_cli_produce_consume_with_command_config(tls_broker, tmp_path):
    require_samsa("produce", "consume")
    b = tls_broker
    props = tmp_path / "client.properties"
    props.write_text(f"bootstrap.servers={b.ssl}\nsecurity.protocol=SSL\nssl.ca.location={b.ca}\n")
    lines = "".join(f"cli-{i}\n" for i in range(20)).encode()
    subprocess.run([SAMSA_BIN, "produce", "--command-config", str(props), "--topic", "tls-cli"],
                   input=lines, check=True, capture_output=True, timeout=60)
    out = subprocess.run([SAMSA_BIN, "consume", "--command-config", str(props), "--topic", "tls-cli",
                          "--from-beginning", "--max-messages", "20", "--timeout-ms", "10000"],
                         check=True, capture_output=True, timeout=60).stdout
    assert out.decode().splitlines() == [f"cli-{i}" for i in range(20)]


def test_inline_pem_with_encrypted_key(tmp_path, pki):
    """KIP-651's inline keys, written as Kafka's docs show (one value over `\\` continuation
    lines), with an encrypted PKCS#8 key and ssl.key.password."""
    require_samsa("broker")
    ob = OwnBroker(tmp_path)
    port = ob.port

    def inline(path: Path) -> str:
        return " \\\n  ".join(path.read_text().strip().splitlines())

    text = (f"node.id=1\nlisteners=SSL://127.0.0.1:{port}\nadvertised.listeners=SSL://127.0.0.1:{port}\n"
            f"log.dirs={ob.log_dir}\noffsets.topic.num.partitions=2\n"
            "ssl.keystore.type=PEM\n"
            f"ssl.keystore.certificate.chain={inline(pki['server.pem'])}\n"
            f"ssl.keystore.key={inline(pki['server-enc.key'])}\n"
            "ssl.key.password=s3cret\n")
    ob.config.write_text(text)
    ob.start()
    try:
        ssl = ["-X", "security.protocol=ssl", "-X", f"ssl.ca.location={pki['ca.pem']}"]
        kcat("-b", f"127.0.0.1:{port}", *ssl, "-P", "-t", "tls-inline", input=b"inline\n")
        out = kcat("-b", f"127.0.0.1:{port}", *ssl, "-C", "-t", "tls-inline", "-o", "beginning", "-c", "1", "-e").stdout
        assert out.strip() == b"inline"
        assert "s3cret" not in ob.run_output()
    finally:
        ob.stop()


def handshake(port: int, ca: Path) -> str:
    """A TLS handshake with the broker's port, verifying against `ca` only: "ok" or why not."""
    import ssl
    ctx = ssl.create_default_context(cafile=str(ca))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, ctx.wrap_socket(raw, server_hostname="127.0.0.1"):
            return "ok"
    except ssl.SSLError as e:
        return f"{type(e).__name__}: {e}"


def test_renewed_key_store_file_is_used_without_a_restart(tmp_path, pki):
    """Certificate reload (issue 14 item 1): the key store file is replaced in place by one
    signed by another CA. A half-written file (the key alone) is refused and the old
    certificate keeps serving; the complete file is picked up within seconds: new connections
    verify against the new CA only, a connection opened before keeps working, confluent-kafka
    produces and consumes over the new certificate, and the broker process never restarted."""
    require_samsa("broker")
    new = make_pki(tmp_path / "pki2")
    ob = OwnBroker(tmp_path / "broker")
    port = ob.port
    keystore = tmp_path / "keystore.pem"
    keystore.write_text(pki["server-keystore.pem"].read_text())
    ob.config.write_text(f"node.id=1\nlisteners=SSL://127.0.0.1:{port}\nadvertised.listeners=SSL://127.0.0.1:{port}\n"
                         f"log.dirs={ob.log_dir}\noffsets.topic.num.partitions=2\n"
                         f"ssl.keystore.type=PEM\nssl.keystore.location={keystore}\n")
    ob.start()
    try:
        old_ca, new_ca = pki["ca.pem"], new["ca.pem"]
        assert handshake(port, old_ca) == "ok"
        pid = ob.proc.pid
        before = Producer({"bootstrap.servers": f"127.0.0.1:{port}", "security.protocol": "ssl", "ssl.ca.location": str(old_ca)})
        before.produce("tls-reload", value=b"before")
        assert before.flush(30) == 0

        # Half-written: the new key without its certificate. Refused; the old one serves.
        keystore.write_text(new["server.key"].read_text())
        deadline = time.time() + 20
        while "cannot be used" not in ob.run_output() and time.time() < deadline:
            time.sleep(0.5)
        assert "its TLS files changed but cannot be used, keeping the previous ones" in ob.run_output()
        assert handshake(port, old_ca) == "ok"

        # Complete: new key and certificate.
        keystore.write_text(new["server-keystore.pem"].read_text())
        deadline = time.time() + 20
        while handshake(port, new_ca) != "ok" and time.time() < deadline:
            time.sleep(0.5)
        assert handshake(port, new_ca) == "ok", "the renewed certificate was not picked up in 20 s"
        assert handshake(port, old_ca) != "ok", "new connections still get the old certificate"
        assert "reloaded its TLS key store and trust store" in ob.run_output()
        assert ob.proc.pid == pid and ob.proc.poll() is None

        # The producer's connection from before still works; a new client trusts the new CA.
        before.produce("tls-reload", value=b"same-connection")
        assert before.flush(30) == 0
        after = Producer({"bootstrap.servers": f"127.0.0.1:{port}", "security.protocol": "ssl", "ssl.ca.location": str(new_ca)})
        after.produce("tls-reload", value=b"after")
        assert after.flush(30) == 0
        c = Consumer({"bootstrap.servers": f"127.0.0.1:{port}", "security.protocol": "ssl", "ssl.ca.location": str(new_ca),
                      "group.id": "tls-reload", "auto.offset.reset": "earliest"})
        c.assign([TopicPartition("tls-reload", 0, 0)])
        got = []
        deadline = time.time() + 30
        while len(got) < 3 and time.time() < deadline:
            m = c.poll(1)
            if m is not None and not m.error():
                got.append(m.value())
        c.close()
        assert got == [b"before", b"same-connection", b"after"]
    finally:
        ob.stop()


@pytest.mark.parametrize("case", ["missing-file", "key-mismatch", "unknown-protocol", "jks", "wrong-password"])
def test_bad_tls_config_stops_startup_naming_the_key(tmp_path, pki, case):
    require_samsa("broker")
    ob = OwnBroker(tmp_path)
    port = ob.port
    props = {"ssl.keystore.type": "PEM", "ssl.keystore.location": str(pki["server-keystore.pem"])}
    key = {
        "missing-file": "ssl.keystore.location",
        "key-mismatch": "ssl.keystore.key",
        "unknown-protocol": "ssl.enabled.protocols",
        "jks": "ssl.keystore.type",
        "wrong-password": "ssl.keystore.key",
    }[case]
    if case == "missing-file":
        props["ssl.keystore.location"] = str(tmp_path / "nope.pem")
    elif case == "key-mismatch":
        del props["ssl.keystore.location"]
        props["ssl.keystore.certificate.chain"] = pki["server.pem"].read_text().replace("\n", " ")
        props["ssl.keystore.key"] = pki["other.key"].read_text().replace("\n", " ")
    elif case == "unknown-protocol":
        props["ssl.enabled.protocols"] = "TLSv1.2,TLSv1.4"
    elif case == "jks":
        props["ssl.keystore.type"] = "JKS"
    elif case == "wrong-password":
        del props["ssl.keystore.location"]
        props["ssl.keystore.certificate.chain"] = pki["server.pem"].read_text().replace("\n", " ")
        props["ssl.keystore.key"] = pki["server-enc.key"].read_text().replace("\n", " ")
        props["ssl.key.password"] = "wrong-one"
    text = (f"node.id=1\nlisteners=SSL://127.0.0.1:{port}\nlog.dirs={ob.log_dir}\n"
            + "".join(f"{k}={v}\n" for k, v in props.items()))
    ob.config.write_text(text)
    ob.spawn()
    try:
        assert ob.wait_ready_or_exit(60) == 1
        out = ob.run_output()
        fatal = [line for line in out.splitlines() if "critical" in line.lower()]
        assert len(fatal) == 1 and key in fatal[0], out
        assert "wrong-one" not in out and "PRIVATE KEY" not in out
    finally:
        ob.stop()
