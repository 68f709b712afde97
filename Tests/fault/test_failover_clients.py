"""Issue 12 item 8: real clients through a failover.

kcat, confluent-kafka, kafka-python and aiokafka each produce (acks=all) to their own topic
(3 partitions, replication factor 3, min.insync.replicas 2) and consume it in a consumer group
while the broker leading most partitions is killed with kill -9 and then restarted. The
clients must continue (each gets acknowledgements after the kill and after the restart), and
at the end, per client:
* replication_checker: every acknowledged record at its offset, no offset with two values,
  no read of a failed write (duplicates are allowed: not every client here is idempotent);
* the group consumer saw every acknowledged value (at least once: a rebalance may replay).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter

import pytest
from confluent_kafka import Consumer

import replication_checker as rc
from replication_harness import IDEMPOTENT, QUIET, RF, ReplCluster

PARTS = 3
CLIENTS = ("confluent", "kafka-python", "aiokafka", "kcat")


def kcat_bin() -> str:
    return os.environ.get("KCAT") or shutil.which("kcat") or "/usr/bin/kcat"


class ClientPair:
    """One client library producing to `topic` and consuming it in a group, recording sends
    (with offsets where the library reports them) and what the group consumer got."""

    def __init__(self, kind: str, cluster: ReplCluster, history: rc.History):
        self.kind, self.cluster, self.history = kind, cluster, history
        self.topic = f"fo-{kind}"
        self.group = f"fo-group-{kind}"
        self.stop = threading.Event()
        # Set when the producer thread has ended: only then is the set of acknowledged values
        # final (sends in flight at `stop` are acknowledged during the producer's flush).
        self.produced = threading.Event()
        self.produced_at: float | None = None
        self.drain_started: float | None = None
        self.consumed: list[str] = []
        self.acks_at: list[float] = []  # time.monotonic() of every acknowledgement
        self.notes: list[str] = []
        self.threads = [threading.Thread(target=self._guard, args=(f, n), daemon=True, name=f"{kind}-{n}")
                        for f, n in ((getattr(self, "_produce_" + kind.replace("-", "_")), "produce"),
                                     (getattr(self, "_consume_" + kind.replace("-", "_")), "consume"))]

    def _guard(self, fn, name):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.notes.append(f"{self.kind} {name} thread died: {e!r}")
        finally:
            if name == "produce":
                self.produced_at = time.time()
                self.produced.set()

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=150)
            assert not t.is_alive(), f"{t.name} did not stop"

    def _ok(self, p, o, value, t0):
        self.acks_at.append(time.monotonic())
        self.history.send(self.kind, self.topic, p, o, value, rc.OK, t0)

    # -- producers

    def _produce_confluent(self):
        prod = rc.RecordingProducer(self.cluster.bootstrap(), self.history, self.kind,
                                    {**QUIET, "enable.idempotence": IDEMPOTENT})
        last = 0
        while not self.stop.is_set():
            prod.send(self.topic)
            prod.poll(0.02)
            if prod.acked != last:
                self.acks_at.extend([time.monotonic()] * (prod.acked - last))
                last = prod.acked
        prod.flush(90)

    def _produce_kafka_python(self):
        from kafka import KafkaProducer
        p = KafkaProducer(bootstrap_servers=self.cluster.bootstrap().split(","), acks="all", retries=2**31 - 1,
                          max_in_flight_requests_per_connection=1, request_timeout_ms=10000,
                          delivery_timeout_ms=60000, retry_backoff_ms=200, metadata_max_age_ms=1000)
        i = 0
        pending = []
        while not self.stop.is_set():
            value = f"{self.kind}-{i:07d}"
            i += 1
            t0 = time.monotonic()
            fut = p.send(self.topic, value=value.encode())
            pending.append((fut, value, t0))
            if len(pending) >= 20 or self.stop.is_set():
                self._settle_kafka_python(pending)
                pending = []
            time.sleep(0.01)
        self._settle_kafka_python(pending)
        p.close(timeout=30)

    def _settle_kafka_python(self, pending):
        for fut, value, t0 in pending:
            try:
                md = fut.get(timeout=90)
                self._ok(md.partition, md.offset, value, t0)
            except Exception as e:  # noqa: BLE001 - indeterminate: may have been appended
                self.history.send(self.kind, self.topic, None, None, value, rc.INFO, t0)
                if len(self.notes) < 10:
                    self.notes.append(f"kafka-python send: {e!r}")

    def _produce_aiokafka(self):
        from aiokafka import AIOKafkaProducer

        async def run():
            p = AIOKafkaProducer(bootstrap_servers=self.cluster.bootstrap(), acks="all", enable_idempotence=IDEMPOTENT,
                                 request_timeout_ms=10000, retry_backoff_ms=200, metadata_max_age_ms=1000)
            await p.start()
            i = 0
            try:
                while not self.stop.is_set():
                    value = f"{self.kind}-{i:07d}"
                    i += 1
                    t0 = time.monotonic()
                    try:
                        md = await asyncio.wait_for(p.send_and_wait(self.topic, value=value.encode()), 90)
                        self._ok(md.partition, md.offset, value, t0)
                    except Exception as e:  # noqa: BLE001
                        self.history.send(self.kind, self.topic, None, None, value, rc.INFO, t0)
                        if len(self.notes) < 10:
                            self.notes.append(f"aiokafka send: {e!r}")
                        await asyncio.sleep(0.5)
                    await asyncio.sleep(0.01)
            finally:
                await p.stop()

        asyncio.run(run())

    def _produce_kcat(self):
        """kcat -P over stdin in batches of 50: a batch is ok only if kcat exits 0 with no
        delivery error (kcat reports no offsets), else indeterminate."""
        batch = 0
        while not self.stop.is_set():
            values = [f"{self.kind}-{batch:05d}-{j:02d}" for j in range(50)]
            batch += 1
            t0 = time.monotonic()
            try:
                p = subprocess.run([kcat_bin(), "-P", "-b", self.cluster.bootstrap(), "-t", self.topic,
                                    "-X", "acks=all", "-X", f"enable.idempotence={str(IDEMPOTENT).lower()}",
                                    "-X", "topic.metadata.refresh.interval.ms=1000", "-X", "log_level=2"],
                                   input="\n".join(values) + "\n", capture_output=True, text=True, timeout=120)
                ok = p.returncode == 0 and "fail" not in p.stderr.lower() and "error" not in p.stderr.lower()
                if not ok and len(self.notes) < 10:
                    self.notes.append(f"kcat -P exited {p.returncode}: {p.stderr.strip()[-300:]}")
            except subprocess.TimeoutExpired:
                ok = False
            for v in values:
                if ok:
                    self.acks_at.append(time.monotonic())
                self.history.send(self.kind, self.topic, None, None, v, rc.OK if ok else rc.INFO, t0)
            self.stop.wait(0.2)

    # -- group consumers

    def _consume_confluent(self):
        c = Consumer({"bootstrap.servers": self.cluster.bootstrap(), "group.id": self.group,
                      "auto.offset.reset": "earliest", "topic.metadata.refresh.interval.ms": 1000,
                      "session.timeout.ms": 10000, **QUIET})
        c.subscribe([self.topic])
        try:
            while not self.stop.is_set():
                for m in c.consume(num_messages=500, timeout=0.3):
                    if m.error() is None:
                        self.consumed.append(m.value().decode())
            self._drain(lambda: [m.value().decode() for m in c.consume(num_messages=500, timeout=0.5)
                                 if m.error() is None])
        finally:
            c.close()

    def _consume_kafka_python(self):
        from kafka import KafkaConsumer
        from kafka.errors import KafkaError
        # The group protocol at DEBUG next to the cluster's logs, for a failure.
        log = logging.getLogger("kafka.coordinator")
        handler = logging.FileHandler(self.cluster.root / "kafka-python-coordinator.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.DEBUG)
        c = KafkaConsumer(self.topic, bootstrap_servers=self.cluster.bootstrap().split(","), group_id=self.group,
                          auto_offset_reset="earliest", metadata_max_age_ms=1000, session_timeout_ms=10000,
                          request_timeout_ms=30000)
        # Poll only once the client's metadata lists the topic's partitions. kafka-python 3.0.12
        # otherwise may join before its first metadata for the topic, assign nothing, and
        # rejoin when the partitions appear; if a poll(timeout) expires while that rejoin's
        # SyncGroup is in flight, it never completes it (join_group_async loops on
        # need_rejoin(), which the leader's own assignment already made false): no
        # partitions and heartbeats disabled for good. Seen in 2 of 10 runs as "0 consumed"
        # (its coordinator log: SyncGroup answered in 63 ms, after the poll's timeout). With
        # the metadata first each consumer joins once (a repro: 6 joins for 6 consumers, 9
        # without).
        deadline = time.time() + 30
        while not c.partitions_for_topic(self.topic) and time.time() < deadline:
            time.sleep(0.2)

        def batch():
            try:
                return [r.value.decode() for rs in c.poll(timeout_ms=300).values() for r in rs]
            except KafkaError as e:
                # kafka-python 3.0.12 lets a retriable error escape poll(): when the group
                # coordinator is the killed broker, ensure_coordinator_ready refreshes metadata
                # and awaits it catching only KafkaTimeoutError, so the refresh's own
                # KafkaConnectionError (ECONNREFUSED from the dead node) is raised to the
                # caller. An application polls again, as here; anything else fails the test.
                if not e.retriable:
                    raise
                if len(self.notes) < 10:
                    self.notes.append(f"kafka-python poll: {e!r} (retriable, polled again)")
                time.sleep(0.2)
                return []
        try:
            while not self.stop.is_set():
                self.consumed.extend(batch())
            self._drain(batch)
        finally:
            c.close()
            log.removeHandler(handler)
            handler.close()

    def _consume_aiokafka(self):
        from aiokafka import AIOKafkaConsumer

        async def run():
            c = AIOKafkaConsumer(self.topic, bootstrap_servers=self.cluster.bootstrap(), group_id=self.group,
                                 auto_offset_reset="earliest", metadata_max_age_ms=1000,
                                 session_timeout_ms=10000)
            await c.start()
            try:
                async def batch():
                    try:
                        got = await asyncio.wait_for(c.getmany(timeout_ms=300), 10)
                    except asyncio.TimeoutError:
                        return []
                    return [r.value.decode() for rs in got.values() for r in rs]
                while not self.stop.is_set():
                    self.consumed.extend(await batch())
                while self._draining():
                    self.consumed.extend(await batch())
            finally:
                try:
                    await asyncio.wait_for(c.stop(), 30)
                except asyncio.TimeoutError:
                    self.notes.append("aiokafka consumer: stop() did not return within 30 s")

        asyncio.run(run())

    def _consume_kcat(self):
        """kcat -G (balanced consumer group), values one per line on stdout until stopped."""
        out = open(os.devnull, "w")
        p = subprocess.Popen([kcat_bin(), "-b", self.cluster.bootstrap(), "-G", self.group,
                              "-X", "auto.offset.reset=earliest", "-X", "topic.metadata.refresh.interval.ms=1000",
                              "-X", "log_level=2", "-f", "%s\\n", "-u", self.topic],
                             stdout=subprocess.PIPE, stderr=out, text=True)
        reader = threading.Thread(target=lambda: [self.consumed.append(line.rstrip("\n")) for line in p.stdout],
                                  daemon=True)
        reader.start()
        self.stop.wait()
        while self._draining():
            time.sleep(0.3)
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        reader.join(timeout=10)
        out.close()

    def _acked_values(self) -> set[str]:
        return {e["v"] for e in self.history.events if e["e"] == "send" and e["c"] == self.kind and e["s"] == rc.OK}

    def _all_seen(self) -> bool:
        return self._acked_values() <= set(self.consumed)

    def _draining(self, timeout: float = 60) -> bool:
        """Whether a group consumer told to stop must keep polling: while the producer thread
        is still flushing (what it had in flight at `stop` is acknowledged only then, so
        "every acknowledged value was consumed" is not decidable before), then until every
        acknowledged value was consumed, for at most `timeout` s after the producer ended.
        (Checking only the values acknowledged so far let the consumer stop just before the
        producer's last acknowledgements, which the test then reported as missed.)"""
        now = time.time()
        if self.drain_started is None:
            self.drain_started = now
        if not self.produced.is_set():
            return now - self.drain_started < 150  # finish() reports a producer that hangs
        return not self._all_seen() and now - self.produced_at < timeout

    def _drain(self, batch):
        """After the producer stopped: poll until every acknowledged value was consumed."""
        while self._draining():
            self.consumed.extend(batch())


@pytest.mark.timeout(900)
def test_clients_continue_through_leader_kill_and_restart(tmp_path):
    cluster = ReplCluster(tmp_path / "cluster", extra={"offsets.topic.num.partitions": "3"})
    history = rc.History(str(tmp_path / "history.jsonl"))
    pairs: list[ClientPair] = []
    try:
        cluster.start()
        cluster.wait_for_leader()
        for kind in CLIENTS:
            cluster.create_topic(f"fo-{kind}", PARTS)
        pairs = [ClientPair(kind, cluster, history) for kind in CLIENTS]
        for pair in pairs:
            pair.start()

        def wait_acks(since: float, what: str, timeout: float = 120):
            deadline = time.time() + timeout
            while time.time() < deadline:
                if all(any(t > since for t in pair.acks_at) for pair in pairs):
                    return
                time.sleep(0.2)
            late = [p.kind for p in pairs if not any(t > since for t in p.acks_at)]
            notes = [n for p in pairs for n in p.notes][:10]
            raise AssertionError(f"no acknowledgement {what} within {timeout}s for {late}; notes: {notes}")

        wait_acks(time.monotonic() - 3600, "at the start")
        time.sleep(3)
        # The broker leading most partitions of the clients' topics.
        leaders = Counter(cluster.leader_of(p.topic, q) for p in pairs for q in range(PARTS))
        victim = leaders.most_common(1)[0][0]
        t_kill = time.monotonic()
        cluster.nodes[victim].kill9()
        if RF > 1:
            wait_acks(t_kill, f"after kill -9 of broker {victim}")
            time.sleep(3)
        cluster.restart(victim)
        t_back = time.monotonic()
        if RF > 1:
            for p in pairs:
                cluster.wait_full_isr(p.topic, PARTS, timeout=90)
        wait_acks(t_back, f"after broker {victim} restarted")
        time.sleep(3)
        # Enough acknowledged sends per client for the checks below to mean something: on a
        # loaded machine (load average 20+ on 2 cores) aiokafka, one acks=all send at a time,
        # had only 46 after the fixed phases. Wait for them rather than failing "only N".
        deadline = time.time() + 120
        while time.time() < deadline and any(len(p.acks_at) < 60 for p in pairs):
            time.sleep(0.2)
        for p in pairs:
            p.stop.set()
        for p in pairs:
            p.finish()
        history.close()

        failures = []
        for p in pairs:
            readback = rc.read_back(cluster.bootstrap(), p.topic, PARTS, timeout=120)
            events = [e for e in history.events if e.get("c") == p.kind]
            verdict = rc.check(events, readback, idempotent=False)
            missed = p._acked_values() - set(p.consumed)
            print(f"{p.kind}: {verdict.summary()}\n  group consumer: {len(p.consumed)} consumed, "
                  f"{len(missed)} acknowledged values never consumed; notes: {p.notes[:3]}")
            if verdict.ok < 50:
                failures.append(f"{p.kind}: only {verdict.ok} acknowledged sends")
            if not verdict.valid:
                failures.append(f"{p.kind}: {verdict.summary()}")
            if missed:
                at = sorted((part, o) for (_, part), got in readback.items() for o, v in got.items() if v in missed)
                failures.append(f"{p.kind}: group consumer missed {len(missed)} acknowledged values, "
                                f"e.g. {sorted(missed)[:3]}; (partition, offset) in the log: {at[:3]}...{at[-3:]}")
        assert not failures, "\n".join(failures)
    finally:
        for p in pairs:
            p.stop.set()
        cluster.stop()
