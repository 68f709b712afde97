"""KRaft configuration and `samsa storage` as an operator meets them (issue 11 items 1 and 2):
a configuration that cannot work stops `samsa broker` with one line naming the key and exit 1;
`samsa storage random-uuid | format | info` behave as kafka-storage.sh; a KRaft node refuses
unformatted or foreign storage with the command to run, and starts once formatted; a single
node (no process.roles) starts on a fresh directory without any manual step.

Each test runs its own short-lived processes on temp dirs and free ports (seconds)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interop"))
from own_broker import OwnBroker, free_port, samsa_bin  # noqa: E402

SAMSA = samsa_bin()
UUID_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")


def samsa(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    assert SAMSA, "no samsa binary: set SAMSA_BIN or run `swift build --product samsa` first"
    return subprocess.run([SAMSA, *args], capture_output=True, text=True, timeout=timeout)


def write_props(path: Path, props: dict[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    return path


def kraft_props(tmp_path: Path, port: int, cport: int) -> dict[str, str]:
    return {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{cport}",
        "controller.listener.names": "CONTROLLER",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "log.dirs": str(tmp_path / "logs"),
        "offsets.topic.num.partitions": "2",
        "group.initial.rebalance.delay.ms": "0",
    }


@pytest.mark.parametrize("props,key", [
    ({"process.roles": "broker,controller", "node.id": "1", "controller.quorum.voters": "1@127.0.0.1:9093",
      "controller.listener.names": "CONTROLLER", "listeners": "PLAINTEXT://127.0.0.1:0"},
     "controller.listener.names"),
    ({"process.roles": "controller", "node.id": "2", "controller.quorum.voters": "1@127.0.0.1:9093",
      "controller.listener.names": "CONTROLLER", "listeners": "CONTROLLER://127.0.0.1:0"},
     "controller.quorum.voters"),
    ({"process.roles": "broker", "controller.quorum.voters": "1@127.0.0.1:9093",
      "controller.listener.names": "CONTROLLER", "listeners": "PLAINTEXT://127.0.0.1:0"},
     "node.id"),
    ({"process.roles": "broker,controller", "node.id": "1", "controller.listener.names": "CONTROLLER",
      "listeners": "PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0"},
     "controller.quorum.voters"),
])
def test_bad_config_prints_one_line_naming_the_key_and_exits_1(tmp_path, props, key):
    props = {**props, "log.dirs": str(tmp_path / "logs")}
    cfg = write_props(tmp_path / "bad.properties", props)
    p = samsa("broker", "--config", str(cfg))
    assert p.returncode == 1, p
    lines = [l for l in (p.stdout + p.stderr).splitlines() if l.strip()]
    assert len(lines) == 1, lines
    assert f"Invalid configuration: {key}: " in lines[0], lines[0]
    assert "Traceback" not in p.stderr and "Fatal error" not in p.stderr
    assert not (tmp_path / "logs").exists(), "nothing is written for a refused configuration"


def test_random_uuid():
    ids = {samsa("storage", "random-uuid").stdout.strip() for _ in range(3)}
    assert len(ids) == 3
    for i in ids:
        assert UUID_RE.match(i) and not i.startswith("-"), i


def test_format_info_and_start_up_rules(tmp_path):
    port, cport = free_port(), free_port()
    cfg = write_props(tmp_path / "server.properties", kraft_props(tmp_path, port, cport))

    # Unformatted: the broker refuses, saying what to run.
    broker = OwnBroker(tmp_path / "run1")
    broker.config = cfg
    broker.port = port
    broker.spawn()
    assert broker.wait_exit(60) == 1, broker.tail()
    out = broker.run_output()
    assert f"samsa storage format -t $(samsa storage random-uuid) -c {cfg}" in out, out
    assert "is not formatted" in out, out

    info = samsa("storage", "info", "-c", str(cfg))
    assert info.returncode == 1, info
    assert "Found problem" in info.stdout, info.stdout

    cluster = samsa("storage", "random-uuid").stdout.strip()
    fmt = samsa("storage", "format", "-t", cluster, "-c", str(cfg))
    assert fmt.returncode == 0, fmt
    assert fmt.stdout.strip() == f"Formatting metadata directory {tmp_path / 'logs'} with metadata.version 4.0-IV3.", fmt.stdout
    meta = (tmp_path / "logs" / "meta.properties").read_text()
    assert "version=1" in meta and "node.id=1" in meta and f"cluster.id={cluster}" in meta and "directory.id=" in meta
    bootstrap = (tmp_path / "logs" / "bootstrap.checkpoint").read_bytes()
    assert b"metadata.version" in bootstrap and bootstrap[16] == 2, "v2 record batches holding the FeatureLevelRecord"

    again = samsa("storage", "format", "-t", cluster, "-c", str(cfg))
    assert again.returncode == 1
    assert again.stderr.strip() == (f"Log directory {tmp_path / 'logs'} is already formatted. "
                                    "Use --ignore-formatted to ignore this directory and format the others."), again.stderr
    ignored = samsa("storage", "format", "-t", cluster, "-c", str(cfg), "--ignore-formatted")
    assert ignored.returncode == 0 and ignored.stdout.strip() == "All of the log directories are already formatted."

    info = samsa("storage", "info", "-c", str(cfg))
    assert info.returncode == 0, info
    assert f"Found metadata: {{cluster.id={cluster}, directory.id=" in info.stdout
    assert "node.id=1, version=1}" in info.stdout

    # Formatted: it starts (a combined node that is the whole quorum) and serves clients.
    broker.spawn()
    assert broker.wait_ready_or_exit(60) is None, broker.tail()
    assert f"of cluster {cluster}" in broker.run_output()
    assert broker.terminate() == 0

    # Storage of another cluster: refused, naming the cluster ids.
    other = samsa("storage", "random-uuid").stdout.strip()
    write_props(tmp_path / "other.properties", {**kraft_props(tmp_path, port, cport), "cluster.id": other})
    broker.config = tmp_path / "other.properties"
    broker.spawn()
    assert broker.wait_exit(60) == 1
    assert f"is formatted for cluster {cluster}, but cluster.id is {other}" in broker.run_output(), broker.run_output()
    broker.stop()


def test_multi_node_topology_is_refused_until_the_quorum_runs(tmp_path):
    port = free_port()
    cfg = write_props(tmp_path / "broker.properties", {
        "process.roles": "broker", "node.id": "4", "controller.quorum.voters": "1@127.0.0.1:9093",
        "controller.listener.names": "CONTROLLER", "listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "log.dirs": str(tmp_path / "logs"),
    })
    cluster = samsa("storage", "random-uuid").stdout.strip()
    assert samsa("storage", "format", "-t", cluster, "-c", str(cfg)).returncode == 0
    p = samsa("broker", "--config", str(cfg))
    assert p.returncode == 1
    assert "process.roles=broker with controller.quorum.voters=1@127.0.0.1:9093" in p.stderr, p.stderr


def test_single_node_needs_no_format(tmp_path):
    broker = OwnBroker(tmp_path)
    try:
        broker.start()
        assert (broker.log_dir / "meta.properties").exists()
        refused = samsa("storage", "format", "-t", samsa("storage", "random-uuid").stdout.strip(), "-c", str(broker.config))
        assert refused.returncode == 1 and "only supported for nodes in KRaft mode" in refused.stderr
    finally:
        broker.stop()
