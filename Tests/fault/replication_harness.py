"""The harness of the replication fault tests (issue 12 items 7-9): a 3-node cluster with
replicated topics, a workload that records a history for replication_checker while faults are
injected, and the measurements BENCHMARKS.md quotes.

* `ReplCluster`: 3 combined KRaft nodes (own_cluster.OwnCluster: real `samsa broker`
  processes, storage formatted as an operator does), `default.replication.factor` and
  `min.insync.replicas` from SAMSA_REPL_RF / SAMSA_REPL_MIN_ISR (default 3 and 2, the issue's
  setting; RF 1 / min ISR 1 runs the same tests on a cluster without replication, where a
  killed leader's partitions are unavailable until it restarts but nothing may be lost).
  Helpers: the leader and ISR of a partition as Metadata reports them, SIGSTOP/SIGCONT, wait
  for a full ISR.
* `Workload`: threads that run while the test injects faults: a confluent-kafka producer
  (acks=all, idempotence, unique values, a steady rate, round-robin over the partitions), the
  Swift client (`samsa produce` with acks=all and idempotence, small batches of unique lines;
  a batch is :ok only when the process exits 0, else :info), a consumer polling every
  partition from the start, and a high-watermark watcher. `finish()` stops them, reads every
  partition back and runs replication_checker.check.

Knobs (env): SAMSA_REPL_RF, SAMSA_REPL_MIN_ISR, SAMSA_REPL_IDEMPOTENCE (default 1), SAMSA_REPL_RATE (records/s, default 200),
SAMSA_REPL_SESSION_MS (broker.session.timeout.ms, default 4000), SAMSA_REPL_LAYOUT (`combined`, the
default: 3 nodes that are broker and controller; `dedicated`: 3 controller-only nodes and 3
brokers, ids 101-103, Kafka's production layout, where killing a partition leader never takes
the active controller with it).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.admin import AdminClient, NewTopic

import replication_checker as rc
from own_broker import samsa_bin
from own_cluster import OwnCluster

RF = int(os.environ.get("SAMSA_REPL_RF", "3"))
MIN_ISR = int(os.environ.get("SAMSA_REPL_MIN_ISR", "2" if RF >= 3 else "1"))
RATE = float(os.environ.get("SAMSA_REPL_RATE", "200"))
SESSION_MS = int(os.environ.get("SAMSA_REPL_SESSION_MS", "4000"))
# Idempotent producers (the setting). SAMSA_REPL_IDEMPOTENCE=0 runs the workload without
# (then duplicates are allowed by the checker), e.g. to exercise the harness on a cluster whose
# brokers cannot hand out producer ids.
IDEMPOTENT = os.environ.get("SAMSA_REPL_IDEMPOTENCE", "1") == "1"
LAYOUT = os.environ.get("SAMSA_REPL_LAYOUT", "combined")
assert LAYOUT in ("combined", "dedicated"), f"SAMSA_REPL_LAYOUT={LAYOUT}: combined or dedicated"


# Connection refusals are what these tests cause: librdkafka's error log of each would bury
# the test's own output.
QUIET = {"log_level": 2, "log.connection.close": False}


class ReplCluster(OwnCluster):
    """Three combined nodes (or 3 controllers + 3 brokers) with replicated defaults (see the module doc)."""

    def __init__(self, root: Path, extra: dict[str, str] | None = None, nodes: int = 3):
        props = {
            "default.replication.factor": str(RF),
            "min.insync.replicas": str(MIN_ISR),
            "offsets.topic.replication.factor": str(min(RF, nodes)),
            "broker.session.timeout.ms": str(SESSION_MS),
            "num.partitions": "3",
        }
        props.update(extra or {})
        if LAYOUT == "dedicated":
            super().__init__(root, controllers=3, brokers=nodes, combined=False, extra=props)
        else:
            super().__init__(root, controllers=nodes, combined=True, extra=props)
        self.workloads: list[Workload] = []

    def admin(self) -> AdminClient:
        return AdminClient({"bootstrap.servers": self.bootstrap(), "socket.timeout.ms": 10000,
                            "topic.metadata.refresh.interval.ms": 1000})

    def create_topic(self, name: str, partitions: int = 3, rf: int = RF, config: dict | None = None,
                     timeout: float = 60):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            a = self.admin()
            fut = a.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=rf,
                                            config=config or {})],
                                  operation_timeout=20, request_timeout=20)[name]
            try:
                fut.result(timeout=30)
                break
            except Exception as e:  # noqa: BLE001
                err = e.args[0] if e.args else None
                code = err.name() if hasattr(err, "name") else str(e)
                if code == "TOPIC_ALREADY_EXISTS":
                    break
                last = f"{code}: {e}"
                time.sleep(0.5)
        else:
            raise AssertionError(f"creating {name} failed within {timeout}s: {last}")
        self.wait_full_isr(name, partitions, timeout=max(5, deadline - time.time()), want=rf)

    def partitions(self, topic: str) -> dict:
        """{partition: (leader, replicas, isr)} as one live broker's Metadata says."""
        md = self.admin().list_topics(topic=topic, timeout=10)
        t = md.topics.get(topic)
        if t is None or t.error is not None:
            return {}
        return {p: (m.leader, list(m.replicas), list(m.isrs)) for p, m in t.partitions.items()}

    def leader_of(self, topic: str, partition: int = 0, timeout: float = 60,
                  not_node: int | None = None) -> int:
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                last = self.partitions(topic).get(partition)
                if last and last[0] >= 0 and last[0] != not_node:
                    n = self.nodes.get(last[0])
                    if n and n.proc and n.proc.poll() is None:
                        return last[0]
            except Exception as e:  # noqa: BLE001
                last = str(e)
            time.sleep(0.2)
        raise AssertionError(f"{topic}[{partition}]: no live leader (other than {not_node}) within {timeout}s: {last}")

    def wait_full_isr(self, topic: str, partitions: int, timeout: float = 60, want: int = RF) -> float:
        """Seconds until every partition has a leader and `want` replicas in its ISR."""
        t0 = time.time()
        last = None
        while time.time() - t0 < timeout:
            try:
                last = self.partitions(topic)
                if len(last) == partitions and all(l >= 0 and len(isr) >= want for l, _, isr in last.values()):
                    return time.time() - t0
            except Exception as e:  # noqa: BLE001
                last = str(e)
            time.sleep(0.2)
        raise AssertionError(f"{topic}: ISR not back to {want} replicas within {timeout}s: {last}")

    def restart(self, node_id: int, timeout: float = 60):
        n = self.nodes[node_id]
        n.spawn()
        assert n.wait_ready_or_exit(timeout) is None, f"node {node_id} did not come back: {n.tail()}"

    def sigstop(self, node_id: int):
        os.kill(self.nodes[node_id].proc.pid, signal.SIGSTOP)

    def sigcont(self, node_id: int):
        os.kill(self.nodes[node_id].proc.pid, signal.SIGCONT)

    def stop(self):
        for w in self.workloads:  # a failed test leaves its clients running
            w.stop_event.set()
        for n in self.nodes.values():  # a stopped process cannot handle SIGTERM
            if n.proc and n.proc.poll() is None:
                try:
                    os.kill(n.proc.pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
        super().stop()


class Workload:
    """Background clients that record a history (see the module doc)."""

    def __init__(self, cluster: ReplCluster, topic: str, partitions: int, history_path: Path,
                 swift: bool = True, consumer: bool = True, rate: float = RATE):
        self.cluster = cluster
        cluster.workloads.append(self)
        # Every broker, live or not: a client started while all are down must still get a list.
        self.bootstrap = ",".join(n.bootstrap for n in cluster.brokers)
        self.topic = topic
        self.partitions = partitions
        self.history = rc.History(str(history_path))
        self.rate = rate
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.notes: list[str] = []
        self.producer = rc.RecordingProducer(self.bootstrap, self.history, "confluent",
                                            {**QUIET, "enable.idempotence": IDEMPOTENT})
        self.swift_runs = {"ok": 0, "info": 0}
        self._want = [("confluent", self._produce)]
        if swift:
            self._want.append(("swift", self._swift))
        if consumer:
            self._want.append(("consumer", self._consume))
        self._want.append(("hw", self._watch_hw))

    def start(self) -> "Workload":
        for name, fn in self._want:
            t = threading.Thread(target=self._guard, args=(name, fn), name=name, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def _guard(self, name, fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - surfaced by finish()
            self.notes.append(f"{name} thread died: {e!r}")

    # -- the clients

    def _produce(self):
        i = 0
        start = time.monotonic()
        while not self.stop_event.is_set():
            due = start + i / self.rate
            now = time.monotonic()
            if due > now:
                self.producer.poll(min(0.05, due - now))
                continue
            self.producer.send(self.topic, i % self.partitions)
            i += 1
        self.producer.flush(90)

    def _swift(self):
        """`samsa produce` over stdin: a batch of 50 unique lines per run. The CLI reports one
        outcome per run, so its values are checked as 'present somewhere in the topic'."""
        batch = 0
        binary = samsa_bin()
        while not self.stop_event.is_set():
            values = [f"swift-{batch:05d}-{j:02d}" for j in range(50)]
            batch += 1
            t0 = time.monotonic()
            try:
                p = subprocess.run([binary, "produce", "--bootstrap-server", self.bootstrap,
                                    "--topic", self.topic, "-X", "acks=all", "-X", f"enable.idempotence={str(IDEMPOTENT).lower()}",
                                    "-X", "request.timeout.ms=10000", "-X", "delivery.timeout.ms=60000"],
                                   input="\n".join(values) + "\n", capture_output=True, text=True, timeout=90)
                status = rc.OK if p.returncode == 0 else rc.INFO
                if p.returncode != 0 and len(self.notes) < 20:
                    self.notes.append(f"samsa produce exited {p.returncode}: {p.stderr.strip()[-300:]}")
            except subprocess.TimeoutExpired:
                status = rc.INFO
            self.swift_runs[status] += 1
            t1 = time.monotonic()
            for v in values:
                self.history.send("swift", self.topic, None, None, v, status, t0, t1)
            self.stop_event.wait(0.2)

    def _consume(self):
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"{self.topic}-poller",
                      "enable.auto.commit": False, "auto.offset.reset": "error",
                      "topic.metadata.refresh.interval.ms": 1000, "fetch.error.backoff.ms": 100, **QUIET})
        c.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in range(self.partitions)])
        for p in range(self.partitions):
            self.history.assign("poller", self.topic, p)
        try:
            while not self.stop_event.is_set():
                for m in c.consume(num_messages=500, timeout=0.2):
                    err = m.error()
                    if err is not None:
                        if err.code() != KafkaError._PARTITION_EOF and len(self.notes) < 50:
                            self.notes.append(f"poller: {err}")
                        continue
                    self.history.poll("poller", m.topic(), m.partition(), m.offset(),
                                      m.value().decode("latin-1"))
        finally:
            c.close()

    def _watch_hw(self):
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"{self.topic}-hw",
                      "enable.auto.commit": False, "topic.metadata.refresh.interval.ms": 1000, **QUIET})
        try:
            while not self.stop_event.is_set():
                for p in range(self.partitions):
                    t0 = time.monotonic()
                    try:
                        _, hi = c.get_watermark_offsets(TopicPartition(self.topic, p), timeout=3, cached=False)
                    except Exception:  # noqa: BLE001 - no leader right now
                        continue
                    self.history.hw("hw-watcher", self.topic, p, hi, t0)
                self.stop_event.wait(0.3)
        finally:
            c.close()

    # -- measurements

    def first_ack_after(self, partition: int, t_kill: float, timeout: float = 120) -> float:
        """Seconds from `t_kill` (time.monotonic()) to the acknowledgement of the first
        confluent send to `partition` that started after it."""
        deadline = time.monotonic() + timeout
        idx = 0
        while time.monotonic() < deadline:
            events = self.history.events
            for e in events[idx:]:
                if e["e"] == "send" and e["c"] == "confluent" and e["s"] == rc.OK and \
                        e["p"] == partition and e["t0"] >= t_kill:
                    return e["t1"] - t_kill
            idx = max(0, len(events) - 1000)
            time.sleep(0.05)
        raise AssertionError(f"no acks=all produce to partition {partition} succeeded within {timeout}s of the fault")

    def wait_progress(self, n: int = 50, timeout: float = 60):
        """Waits until the producer has `n` more acknowledgements (the cluster serves writes)."""
        target = self.producer.acked + n
        deadline = time.time() + timeout
        while self.producer.acked < target:
            assert time.time() < deadline, f"no write progress within {timeout}s: {self.producer.acked} acked"
            time.sleep(0.1)

    def finish(self, idempotent: bool = IDEMPOTENT, timeout: float = 180) -> rc.Verdict:
        """Stops the clients, reads every partition back and checks the history."""
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=150)
            assert not t.is_alive(), f"workload thread {t.name} did not stop"
        self.history.close()
        readback = rc.read_back(self.bootstrap, self.topic, self.partitions, timeout=timeout,
                                history=self.history)
        verdict = rc.check(self.history.events, readback, idempotent=idempotent)
        print(self.history.summary(), f"swift runs {self.swift_runs}")
        for n in self.notes[:10]:
            print("note:", n)
        print(verdict.summary())
        return verdict


# ---------------------------------------------------------------------------------------------
# Network faults on loopback: each node in its own cgroup (v2), iptables' cgroup match drops
# what one node sends to chosen ports of the others. Needs root, iptables and a writable
# cgroup2 mount; `NetFaults.available()` says whether this machine allows it.

CGROUP2_ROOTS = ("/sys/fs/cgroup/unified", "/sys/fs/cgroup")


def _cgroup2_root() -> str | None:
    for root in CGROUP2_ROOTS:
        if os.path.exists(os.path.join(root, "cgroup.procs")) and os.access(root, os.W_OK):
            try:
                with open("/proc/mounts") as f:
                    if any(line.split()[1] == root and line.split()[2] == "cgroup2" for line in f):
                        return root
            except OSError:
                return None
    return None


class NetFaults:
    """Per-node cgroups and an iptables chain of DROP rules (OUTPUT, loopback) that `heal()`
    flushes; `close()` removes the chain and the cgroups. Rules match only this cluster's
    cgroups and ports, so other processes on the machine are never affected."""

    def __init__(self, cluster: ReplCluster):
        self.cluster = cluster
        self.root = _cgroup2_root()
        assert self.root, "no writable cgroup2 mount"
        tag = f"samsa-{os.getpid()}-{int(time.time() * 1000) % 10**8}"
        self.chain = f"SF{os.getpid() % 10**6}{int(time.time()) % 10**4}"[:28]
        self.cgroups: dict[int, str] = {}
        for node_id, n in cluster.nodes.items():
            rel = f"{tag}-n{node_id}"
            os.makedirs(os.path.join(self.root, rel), exist_ok=True)
            self.cgroups[node_id] = rel
            self._wrap_spawn(n, os.path.join(self.root, rel, "cgroup.procs"))
        self._ipt("-N", self.chain)
        self._ipt("-I", "OUTPUT", "-o", "lo", "-j", self.chain)

    @staticmethod
    def available() -> str | None:
        """None when network faults can run here, else why not."""
        if os.geteuid() != 0:
            return "not root"
        if not shutil.which("iptables"):
            return "no iptables"
        if _cgroup2_root() is None:
            return "no writable cgroup2 mount"
        probe = subprocess.run(["iptables", "-m", "cgroup", "-h"], capture_output=True, text=True)
        if "--path" not in probe.stdout:
            return "iptables has no cgroup match"
        return None

    @staticmethod
    def _ipt(*args: str):
        r = subprocess.run(["iptables", "-w", *args], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, f"iptables {' '.join(args)}: {r.stderr}"

    @staticmethod
    def _wrap_spawn(node, procs_path: str):
        """The node's process joins its cgroup before exec (every restart too)."""
        original_preexec = node._preexec
        has_nofile = node.nofile is not None

        def preexec():
            with open(procs_path, "w") as f:
                f.write(str(os.getpid()))
            if has_nofile:
                original_preexec()

        def spawn():
            binary = samsa_bin()
            node.log.flush()
            node._run_start = node.log_path.stat().st_size
            node.proc = subprocess.Popen([binary, "broker", "--config", str(node.config)],
                                         stdout=node.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         preexec_fn=preexec)
        node.spawn = spawn

    def drop(self, from_node: int, to_ports: list[int]):
        """Drops every TCP packet node `from_node` sends to these ports (its requests to the
        services on them; established connections stall, new ones time out)."""
        for port in to_ports:
            self._ipt("-A", self.chain, "-p", "tcp", "--dport", str(port), "-m", "cgroup",
                      "--path", self.cgroups[from_node], "-j", "DROP")

    def heal(self):
        self._ipt("-F", self.chain)

    def close(self):
        subprocess.run(["iptables", "-w", "-D", "OUTPUT", "-o", "lo", "-j", self.chain], capture_output=True)
        subprocess.run(["iptables", "-w", "-F", self.chain], capture_output=True)
        subprocess.run(["iptables", "-w", "-X", self.chain], capture_output=True)
        for rel in self.cgroups.values():
            path = os.path.join(self.root, rel)
            try:
                os.rmdir(path)  # fails while a process is still in it; retried by the caller
            except OSError:
                pass
