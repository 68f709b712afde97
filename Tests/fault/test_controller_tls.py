"""TLS on the controller listener (issue 14: "inter-broker and controller traffic can be secured
too"): `listener.security.protocol.map=CONTROLLER:SSL`, as in Kafka.

Three combined KRaft nodes whose controller listener is SSL with client certificates required
(`listener.name.controller.ssl.*`: a PEM key store, the CA as trust store). The Raft transport
between the controllers and each broker's channel to the active controller connect with the
same listener's settings (trust store to verify the controller, host name checked against the
certificate's IP SAN, key store as the client certificate). The test checks:
* the controller ports speak TLS (a Python TLS client with a certificate completes a handshake;
  before this change the listener was plaintext whatever the protocol map said);
* the quorum elects a leader (DescribeQuorum through `samsa cluster describe`), all three
  brokers register, a replication-factor-3 topic is created and confluent-kafka produces with
  acks=all and consumes through it;
* a broker whose trust store holds another CA cannot join: its log says the controller's
  certificate failed verification, and it never appears among the registered brokers;
* an SSL controller listener without a key store stops start-up naming ssl.keystore.location.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from own_broker import free_port, samsa_bin
from own_cluster import ClusterNode, OwnCluster


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d: Path) -> None:
    """ca.pem + node-keystore.pem (key and certificate for 127.0.0.1), and rogue-ca.pem."""
    d.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "rogue-ca"):
        openssl("req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2", "-subj", f"/CN={ca}", cwd=d)
    openssl("req", *ec, "-keyout", "node.key", "-out", "node.csr", "-subj", "/CN=samsa-node", cwd=d)
    (d / "node.ext").write_text("basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                "authorityKeyIdentifier=keyid,issuer\n")
    openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "node.pem", "-days", "2", "-extfile", "node.ext", cwd=d)
    (d / "node-keystore.pem").write_text((d / "node.key").read_text() + (d / "node.pem").read_text())


def controller_ssl(pki: Path, truststore: str = "ca.pem") -> dict[str, str]:
    return {
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:SSL",
        "listener.name.controller.ssl.keystore.type": "PEM",
        "listener.name.controller.ssl.keystore.location": str(pki / "node-keystore.pem"),
        "listener.name.controller.ssl.truststore.type": "PEM",
        "listener.name.controller.ssl.truststore.location": str(pki / truststore),
        "listener.name.controller.ssl.client.auth": "required",
        "offsets.topic.replication.factor": "3",
    }


def wait_for(what: str, check, timeout: float = 60):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - retried until the bound
            last = e
        time.sleep(0.2)
    raise AssertionError(f"{what} not reached within {timeout}s; last: {last}")


def test_ssl_controller_listener_without_key_store_stops_start_up(tmp_path):
    # Two voters (the second is never started): a sole combined voter serves no controller listener.
    port = free_port()
    node = ClusterNode(tmp_path, 1, "broker,controller", f"1@127.0.0.1:{port},2@127.0.0.1:{free_port()}", port,
                       extra={"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:SSL",
                              "ssl.keystore.type": "PEM"})
    out = subprocess.run([samsa_bin(), "storage", "random-uuid"], capture_output=True, text=True, check=True, timeout=30)
    node.format(out.stdout.strip())
    try:
        node.spawn()
        code = node.wait_exit(60)
        assert code not in (None, 0), node.tail()
        assert "ssl.keystore.location" in node.run_output(), node.tail()
    finally:
        node.stop()


def test_quorum_and_brokers_over_ssl_controller_listener(tmp_path):
    pki = tmp_path / "pki"
    make_pki(pki)
    cluster = OwnCluster(tmp_path / "cluster", controllers=3, combined=True, extra=controller_ssl(pki))
    rogue = None
    try:
        cluster.start()
        # The controller listener speaks TLS with the configured certificate.
        ctx = ssl.create_default_context(cafile=str(pki / "ca.pem"))
        ctx.load_cert_chain(str(pki / "node.pem"), str(pki / "node.key"))
        ctx.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)
        for n in cluster.nodes.values():
            with socket.create_connection(("127.0.0.1", n.controller_port), timeout=10) as raw:
                with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                    assert tls.getpeercert()["subject"] == ((("commonName", "samsa-node"),),)

        leader, epoch = cluster.wait_for_leader(timeout=60)
        assert leader in (1, 2, 3) and epoch >= 1
        bootstrap = cluster.bootstrap()
        admin = AdminClient({"bootstrap.servers": bootstrap})
        wait_for("three registered brokers", lambda: sorted(admin.list_topics(timeout=10).brokers) == [1, 2, 3])

        def create():
            try:
                admin.create_topics([NewTopic("over-tls", 1, 3)], request_timeout=10)["over-tls"].result(timeout=20)
            except Exception as e:  # noqa: BLE001
                if "TOPIC_ALREADY_EXISTS" not in str(e):
                    raise
            return True
        wait_for("topic over-tls created", create)

        p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": False})
        acked = []
        for i in range(20):
            p.produce("over-tls", value=f"v{i}".encode(),
                      on_delivery=lambda err, msg: acked.append(msg.value()) if err is None else None)
        assert p.flush(60) == 0
        assert len(acked) == 20
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": "tls-g", "auto.offset.reset": "earliest"})
        c.subscribe(["over-tls"])
        got = []
        deadline = time.time() + 60
        while len(got) < 20 and time.time() < deadline:
            m = c.poll(1)
            if m is not None and m.error() is None:
                got.append(m.value())
        c.close()
        assert sorted(got) == sorted(acked)

        # A broker that does not trust the controllers' CA cannot join, and says why.
        voters = ",".join(f"{i}@127.0.0.1:{n.controller_port}" for i, n in cluster.nodes.items())
        rogue = ClusterNode(tmp_path / "cluster", 4, "broker", voters, None,
                            extra=controller_ssl(pki, truststore="rogue-ca.pem"))
        rogue.format(cluster.cluster_id)
        rogue.spawn()
        wait_for("the untrusting broker logs the verification failure",
                 lambda: "CERTIFICATE_VERIFY_FAILED" in rogue.run_output())
        assert 4 not in admin.list_topics(timeout=10).brokers
    finally:
        if rogue is not None:
            rogue.stop()
        cluster.stop()
