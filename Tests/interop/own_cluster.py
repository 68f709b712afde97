"""A multi-process KRaft cluster owned by one test: N controllers + M brokers (or N combined
nodes) as separate `samsa broker` processes on loopback, each with its own server.properties
(Kafka's keys: process.roles, node.id, controller.quorum.voters, controller.listener.names,
listeners), storage formatted with `samsa storage format` as an operator would, and helpers to
find the active controller (DescribeQuorum through `samsa cluster describe --output json`),
kill -9 / restart nodes, and read each broker's view of the topics.

Used by Tests/fault/test_quorum_processes.py; shared with later cluster tests.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from own_broker import OwnBroker, free_port, samsa_bin


class ClusterNode(OwnBroker):
    """One node: `roles` is "controller", "broker" or "broker,controller"."""

    def __init__(self, root: Path, node_id: int, roles: str, voters: str, controller_port: int | None,
                 extra: dict[str, str] | None = None):
        self.node_id = node_id
        self.roles = roles
        self.controller_port = controller_port
        node_dir = root / f"node{node_id}"
        node_dir.mkdir(parents=True, exist_ok=True)
        props: dict[str, str] = {
            "process.roles": roles,
            "node.id": str(node_id),
            "controller.quorum.voters": voters,
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            # Short timeouts so failover tests take seconds (Kafka's defaults are 1 s / 2 s /
            # 9 s; the test states what it measures with them).
            "controller.quorum.election.timeout.ms": "1000",
            "controller.quorum.fetch.timeout.ms": "2000",
            "broker.heartbeat.interval.ms": "500",
            "broker.session.timeout.ms": "4000",
        }
        props.update(extra or {})
        super().__init__(node_dir, extra=props)
        # OwnBroker wrote listeners for a broker on self.port; fix them up for the roles.
        listeners = []
        if "broker" in roles:
            listeners.append(f"PLAINTEXT://127.0.0.1:{self.port}")
        if "controller" in roles:
            listeners.append(f"CONTROLLER://127.0.0.1:{controller_port}")
        lines = []
        for line in self.config.read_text().splitlines():
            key = line.split("=", 1)[0]
            if key == "listeners":
                line = "listeners=" + ",".join(listeners)
            elif key == "advertised.listeners":
                if "broker" not in roles:
                    continue
                line = f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}"
            lines.append(line)
        self.config.write_text("\n".join(lines) + "\n")
        if "broker" not in roles:
            # A controller-only node has no client listener: readiness is its controller port.
            self.port = controller_port
            self.bootstrap = None

    def format(self, cluster_id: str):
        out = subprocess.run([samsa_bin(), "storage", "format", "-t", cluster_id, "-c", str(self.config)],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, f"format of node {self.node_id} failed: {out.stdout}{out.stderr}"


class OwnCluster:
    def __init__(self, root: Path, controllers: int = 3, brokers: int = 2, combined: bool = False,
                 extra: dict[str, str] | None = None):
        self.root = Path(root)
        n_voters = controllers
        ids = list(range(1, n_voters + 1))
        cports = {i: free_port() for i in ids}
        voters = ",".join(f"{i}@127.0.0.1:{cports[i]}" for i in ids)
        self.nodes: dict[int, ClusterNode] = {}
        for i in ids:
            roles = "broker,controller" if combined else "controller"
            self.nodes[i] = ClusterNode(self.root, i, roles, voters, cports[i], extra)
        if not combined:
            for j in range(brokers):
                i = 100 + j + 1
                self.nodes[i] = ClusterNode(self.root, i, "broker", voters, None, extra)
        self.voter_ids = ids
        out = subprocess.run([samsa_bin(), "storage", "random-uuid"], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        self.cluster_id = out.stdout.strip()
        for n in self.nodes.values():
            n.format(self.cluster_id)

    @property
    def brokers(self) -> list[ClusterNode]:
        return [n for n in self.nodes.values() if "broker" in n.roles]

    def bootstrap(self, only: list[ClusterNode] | None = None) -> str:
        return ",".join(n.bootstrap for n in (only or self.brokers) if n.proc and n.proc.poll() is None)

    def start(self, timeout: float = 60):
        for n in self.nodes.values():
            n.spawn()
        for n in self.nodes.values():
            code = n.wait_ready_or_exit(timeout)
            assert code is None, f"node {n.node_id} exited {code}: {n.tail()}"

    def describe(self, via: ClusterNode | None = None, timeout: float = 20) -> dict:
        """`samsa cluster describe --output json` through one live broker."""
        node = via or next(b for b in self.brokers if b.proc and b.proc.poll() is None)
        out = subprocess.run([samsa_bin(), "cluster", "describe", "--bootstrap-server", node.bootstrap, "--output", "json"],
                             capture_output=True, text=True, timeout=timeout)
        assert out.returncode == 0, f"cluster describe via {node.node_id}: {out.stdout}{out.stderr}"
        return json.loads(out.stdout)

    def wait_for_leader(self, not_node: int | None = None, timeout: float = 30) -> tuple[int, int]:
        """(leader id, epoch) once the quorum reports a live leader other than `not_node`."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                q = self.describe(timeout=10).get("quorum")
                last = q
                if q and q["leaderId"] >= 0 and q["leaderId"] != not_node:
                    leader = self.nodes.get(q["leaderId"])
                    if leader and leader.proc and leader.proc.poll() is None:
                        return q["leaderId"], q["leaderEpoch"]
            except (AssertionError, subprocess.TimeoutExpired, json.JSONDecodeError) as e:
                last = str(e)
            time.sleep(0.1)
        raise AssertionError(f"no quorum leader (other than {not_node}) within {timeout}s; last: {last}")

    def stop(self):
        # Brokers first: each hands its leaderships over (controlled shutdown) while the
        # controllers are still up to accept it.
        for n in sorted(self.nodes.values(), key=lambda n: "controller" in n.roles):
            n.stop()
