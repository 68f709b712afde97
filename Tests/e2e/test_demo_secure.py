"""`samsa demo --secure` as a user meets it (issue 14 item 4): the demo cluster starts with
SASL_SSL client listeners, a throw-away CA in <dir>/secure, the StandardAuthorizer and two
SCRAM users; with only the files the demo wrote (admin.properties, reader.properties, ca.pem):

- kcat as admin lists the metadata and consumes demo.orders (the demo load produces it as admin);
- kcat as demo-reader consumes demo.orders; producing as demo-reader is refused with
  TOPIC_AUTHORIZATION_FAILED (confluent-kafka reports the error code);
- a plaintext client gets no metadata from the SASL_SSL port;
- with 3 nodes, the CONTROLLER ports speak TLS and want a client certificate: a handshake
  without one is refused, one with the demo's broker certificate completes;
- the SCRAM users were seeded from <dir>/secure/scram-users (0600), not a command line: no
  running process's command line holds a password;
- no password is on the demo's screen output or in its logs; the properties files are 0600;
- SIGINT stops the demo: no node process is left and <dir>/cluster and <dir>/secure are gone.

One node, the default three (combined broker+controller KRaft nodes replicating over
SASL_SSL as admin), and 2 brokers with 3 dedicated controllers (`--controllers 3`: the
controllers have only their SSL CONTROLLER listener)."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interop"))
from own_broker import samsa_bin  # noqa: E402

SAMSA = samsa_bin()


def read_props(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def kcat(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(["kcat", *args], capture_output=True, text=True, timeout=timeout)


def processes_under(path: Path) -> list[int]:
    """Pids whose command line names `path` (the demo's nodes run with --config <dir>/...)."""
    pids = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) == os.getpid():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(path) in cmd:
            pids.append(int(p.name))
    return pids


class Demo:
    def __init__(self, tmp: Path, brokers: int, controllers: int = 0):
        self.dir = tmp / "demo"
        self.out_path = tmp / "demo.out"
        self.out = open(self.out_path, "w")
        self.proc = subprocess.Popen(
            [SAMSA, "demo", "--secure", "--brokers", str(brokers), "--controllers", str(controllers), "--no-console",
             "--rate", "20", "--dir", str(self.dir)],
            stdout=self.out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp)

    def output(self) -> str:
        return self.out_path.read_text(errors="replace")

    def wait_ready(self, timeout: float) -> str:
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = self.output()
            if "Running until Ctrl-C" in text:
                return text
            if self.proc.poll() is not None:
                pytest.fail(f"samsa demo --secure exited {self.proc.returncode}:\n{text}")
            time.sleep(0.3)
        pytest.fail(f"samsa demo --secure not ready within {timeout} s:\n{self.output()}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        return self.proc.returncode


def controller_ports(demo_dir: Path) -> list[int]:
    """The CONTROLLER listener port of every node, from its server.properties."""
    ports = []
    for f in sorted(demo_dir.glob("cluster/broker-*/server.properties")):
        listeners = read_props(f)["listeners"]
        ports += [int(l.rsplit(":", 1)[1]) for l in listeners.split(",") if l.startswith("CONTROLLER://")]
    assert ports, "no CONTROLLER listener in the nodes' server.properties"
    return ports


def check_controller_tls(port: int, sec: Path) -> None:
    """The port is TLS with client certificates required (listener.name.controller.ssl.*)."""
    ctx = ssl.create_default_context(cafile=str(sec / "ca.pem"))
    ctx.check_hostname = False
    # Without a client certificate: refused (TLS 1.3 reports it on the first read).
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            with ctx.wrap_socket(raw) as tls:
                tls.settimeout(10)
                tls.sendall(b"\x00\x00\x00\x0b\x00\x12\x00\x00\x00\x00\x00\x01\x00\x01x")
                if not tls.recv(4):
                    raise ConnectionError("closed")
    # With the demo's broker certificate: the handshake completes against the demo CA.
    ctx.load_cert_chain(str(sec / "broker.pem"), str(sec / "broker.key"))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw) as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


@pytest.mark.parametrize("brokers,controllers", [(1, 0), (3, 0), (2, 3)])
def test_demo_secure(tmp_path, brokers, controllers):
    assert SAMSA, "no samsa binary: set SAMSA_BIN or swift build first"
    demo = Demo(tmp_path, brokers, controllers)
    try:
        text = demo.wait_ready(60 if brokers == 1 else 90)
        sec = demo.dir / "secure"
        admin_file, reader_file = sec / "admin.properties", sec / "reader.properties"
        admin, reader = read_props(admin_file), read_props(reader_file)
        passwords = [admin["sasl.password"], reader["sasl.password"]]
        assert admin["sasl.username"] == "admin" and reader["sasl.username"] == "demo-reader"
        assert admin["security.protocol"] == "SASL_SSL" and admin["sasl.mechanism"] == "SCRAM-SHA-512"
        for f in (admin_file, reader_file, sec / "scram-users", sec / "broker.key", sec / "broker-keystore.pem"):
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
        # The start-up lines say how to connect, naming the files, not the passwords.
        assert str(admin_file) in text and str(reader_file) in text and "kcat" in text
        bootstrap = text.split("(bootstrap ", 1)[1].split(")", 1)[0]
        first = bootstrap.split(",")[0]
        assert len(bootstrap.split(",")) == brokers

        # Admin: metadata (every broker, the demo topics) and the demo load's records. kcat waits
        # for 5 records (no -e: right after start-up the load may not have produced 5 yet).
        md = kcat("-b", first, "-F", str(admin_file), "-L", "-m", "15")
        assert md.returncode == 0, md.stderr
        assert md.stdout.count("  broker ") == brokers, md.stdout
        for t in ("demo.orders", "demo.clicks", "demo.payments"):
            assert f'topic "{t}"' in md.stdout, md.stdout
        got = kcat("-b", first, "-F", str(admin_file), "-C", "-t", "demo.orders", "-o", "beginning", "-c", "5", timeout=45)
        assert got.returncode == 0, got.stderr
        assert len(got.stdout.splitlines()) == 5 and '"order"' in got.stdout, got.stdout

        # demo-reader: reads demo.orders...
        got = kcat("-b", first, "-F", str(reader_file), "-C", "-t", "demo.orders", "-o", "beginning", "-c", "5", timeout=45)
        assert got.returncode == 0, got.stderr
        assert len(got.stdout.splitlines()) == 5 and '"order"' in got.stdout, got.stdout
        # ...but may not write it.
        errors = []
        p = Producer({**reader, "bootstrap.servers": first, "message.timeout.ms": 15000})
        p.produce("demo.orders", value=b"reader-write", on_delivery=lambda err, _msg: errors.append(err))
        p.flush(30)
        assert len(errors) == 1 and errors[0] is not None, errors
        assert errors[0].name() == "TOPIC_AUTHORIZATION_FAILED", errors[0]

        # A plaintext client gets nothing from the SASL_SSL port.
        with pytest.raises(KafkaException):
            AdminClient({"bootstrap.servers": first, "socket.timeout.ms": 3000}).list_topics(timeout=5)

        if brokers > 1 or controllers:
            for port in controller_ports(demo.dir):
                check_controller_tls(port, sec)

        # No password on a command line (format read them from scram-users), on screen or in a log.
        for pid in processes_under(demo.dir):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            for pw in passwords:
                assert pw not in cmd, f"a password is on process {pid}'s command line"
        logs = [demo.out_path, demo.dir / "console.log", *demo.dir.glob("cluster/broker-*/broker.log")]
        for f in logs:
            content = f.read_text(errors="replace") if f.exists() else ""
            for pw in passwords:
                assert pw not in content, f"a password appears in {f}"
    finally:
        rc = demo.stop()
    print(demo.output())
    assert rc == 0, demo.output()
    assert processes_under(demo.dir) == [], "a demo node is still running"
    assert not (demo.dir / "cluster").exists()
    assert not (demo.dir / "secure").exists()
    assert f"Deleted {demo.dir / 'cluster'} and {demo.dir / 'secure'}" in demo.output()
