"""Shared helpers: kcat runs, topic set-up with confluent-kafka's admin, exact reads of a topic."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import defaultdict

from confluent_kafka import Consumer, KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import kafka_wire

# Keep client-side waits short but bounded: every loop here ends by itself.
DEFAULT_TIMEOUT = 60.0


def run(cmd: list[str], *, input: bytes | None = None, timeout: float = 120,
        check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout,
                       stdin=None if input is not None else subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}\nstdout: {p.stdout[-2000:]!r}\n"
                             f"stderr: {p.stderr[-2000:]!r}")
    return p


def kcat(broker, *args: str, input: bytes | None = None, timeout: float = 120,
         check: bool = True) -> subprocess.CompletedProcess:
    return run([broker.kcat, "-b", broker.bootstrap, *args], input=input, timeout=timeout, check=check)


def admin(broker) -> AdminClient:
    return AdminClient({"bootstrap.servers": broker.bootstrap, "socket.timeout.ms": 10000})


# The replication factor of the topics the suite creates: 1 on the single broker; .ci/run's
# 3-node pass sets SAMSA_INTEROP_RF=3 so every test runs on replicated partitions.
INTEROP_RF = int(os.environ.get("SAMSA_INTEROP_RF", "1"))


def create_topic(broker, name: str, partitions: int = 1, config: dict | None = None) -> None:
    """Creates a topic and waits until metadata shows every partition with a leader."""
    a = admin(broker)  # the futures fail with _DESTROY if the client is collected first
    # The fault suite's OwnBroker (one process, always RF 1) has no `is_samsa`.
    rf = INTEROP_RF if getattr(broker, "is_samsa", False) else 1
    futures = a.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=rf, config=config or {})],
        operation_timeout=30, request_timeout=30)
    futures[name].result(timeout=60)
    wait_for_partitions(broker, name, partitions)


def _every_broker_knows(md, name: str, partitions: int) -> bool:
    """On a cluster each broker applies the new topic from the metadata log a moment apart:
    a raw request to a broker that has not yet gets UNKNOWN_TOPIC_OR_PARTITION. True once
    every broker's own Metadata lists the topic with a leader for each partition."""
    if len(md.brokers) <= 1:
        return True
    for b in md.brokers.values():
        try:
            with kafka_wire.Connection(f"{b.host}:{b.port}", timeout=5) as c:
                t = c.metadata([name])["topics"].get(name)
        except OSError:
            return False
        if t is None or t["error"] != 0 or len(t["partitions"] or []) != partitions or \
                any(p["leader"] < 0 for p in t["partitions"]):
            return False
    return True


def wait_for_partitions(broker, name: str, partitions: int, timeout: float = 30) -> None:
    a = admin(broker)
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        md = a.list_topics(topic=name, timeout=10)
        t = md.topics.get(name)
        last = t
        if t is not None and t.error is None and len(t.partitions) == partitions and \
                all(p.leader >= 0 for p in t.partitions.values()) and \
                _every_broker_knows(md, name, partitions):
            return
        time.sleep(0.2)
    raise AssertionError(f"topic {name} did not get {partitions} led partitions: {last}")


def wait_for_topic_deleted(broker, name: str, timeout: float = 30) -> None:
    """Waits until no broker lists `name` any more. On a cluster the controller answers
    DeleteTopics once the removal is committed; each broker applies it from the metadata log a
    moment later (Kafka's brokers too). A client's Metadata goes to whichever broker it picks,
    so one answer without the topic says nothing about the next: this asks every broker's own
    Metadata (all topics) until none lists it, then the client's view must agree."""
    a = admin(broker)
    deadline = time.time() + timeout
    listed_by: list = ["?"]
    while time.time() < deadline:
        md = a.list_topics(timeout=10)
        listed_by = []
        for b in (md.brokers.values() if len(md.brokers) > 1 else []):
            try:
                with kafka_wire.Connection(f"{b.host}:{b.port}", timeout=5) as c:
                    if name in c.metadata(None)["topics"]:
                        listed_by.append(b.id)
            except OSError as e:
                listed_by.append(f"{b.id} ({e})")
        if not listed_by and name not in md.topics:
            return
        time.sleep(0.2)
    raise AssertionError(f"topic {name} still listed {timeout}s after its deletion by broker(s) {listed_by}")


def kcat_metadata(broker, topic: str | None = None) -> dict:
    args = ["-L", "-J"] + (["-t", topic] if topic else [])
    return json.loads(kcat(broker, *args).stdout)


def high_watermark(broker, topic: str, partition: int) -> int:
    """The partition's high watermark as a Fetch response reports it.

    Fetch rather than ListOffsets(latest): Tansu's ListOffsets LATEST is wrong (peers
    README), and the Fetch high watermark is what consumers compute lag from.
    """
    with kafka_wire.Connection(kafka_wire.leader_address(broker.bootstrap, topic, partition)) as c:
        error, hw, _ = c.fetch(topic, partition, 0)
    assert error == 0, f"fetch {topic}[{partition}]: error {error}"
    return hw


def read_all(broker, topic: str, partitions: int, expected: int,
             timeout: float = DEFAULT_TIMEOUT) -> dict[int, list]:
    """Reads `expected` records from every partition's offset 0 with an assign-mode consumer.

    Returns {partition: [Message, ...]} in the order the client delivered them. Fails if
    fewer arrive within the timeout, or if more than `expected` arrive.
    """
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "interop-reader",
                  "enable.auto.commit": False, "enable.partition.eof": False,
                  "auto.offset.reset": "earliest"})
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        out: dict[int, list] = defaultdict(list)
        got = 0
        deadline = time.time() + timeout
        while got < expected and time.time() < deadline:
            for m in c.consume(num_messages=1000, timeout=0.5):
                if m.error():
                    raise AssertionError(f"consume error: {m.error()}")
                out[m.partition()].append(m)
                got += 1
        assert got == expected, f"read {got} records from {topic}, expected {expected}"
        # Anything past the expected count would be a duplicate or a phantom record.
        extra = c.consume(num_messages=10, timeout=1.0)
        assert not [m for m in extra if not m.error()], f"unexpected extra records in {topic}"
        return dict(out)
    finally:
        c.close()


def assert_partition_order(by_partition: dict[int, list], sequence_of) -> None:
    """Each partition's offsets are 0..n-1 in order and the producer's sequence numbers
    (taken from each record by `sequence_of`) increase: per-partition order is preserved."""
    for p, msgs in by_partition.items():
        offsets = [m.offset() for m in msgs]
        assert offsets == list(range(len(msgs))), f"partition {p}: offsets {offsets[:20]}..."
        seqs = [sequence_of(m) for m in msgs]
        assert seqs == sorted(seqs), f"partition {p}: records out of order"


def is_error(err: KafkaError | None, code) -> bool:
    return err is not None and err.code() == code


def eventually(check, timeout: float = 15.0, interval: float = 0.2):
    """Calls `check()` until it returns without raising (its value is returned), for at most
    `timeout` seconds; then calls it once more and lets its exception through. On a cluster a
    broker applies a committed metadata change a moment after the controller answered the
    request that made it (Kafka behaves the same): a describe right after a create or alter
    may go to a broker that has not applied it yet."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            return check()
        except Exception:  # noqa: BLE001 - retried until the deadline, then raised below
            time.sleep(interval)
    return check()
