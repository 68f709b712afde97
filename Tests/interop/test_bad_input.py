"""Bad input at the socket level (issue 4 item 6). Each case gets Kafka's error code or a
closed connection, and afterwards the broker still serves another client correctly and has
lost nothing (a canary topic keeps every record it was given)."""

from __future__ import annotations

import os
import random
import resource
import socket
import struct
import time

import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import NewTopic

import kafka_wire
from helpers import admin, create_topic, high_watermark, read_all
from kafka_wire import Connection, i16, i32, string

pytestmark = pytest.mark.samsa_only

SOCKET_REQUEST_MAX_BYTES = 104857600  # Kafka's default; .ci/run does not override it
MESSAGE_MAX_BYTES = 1048588           # Kafka's default
UNKNOWN_TOPIC_OR_PARTITION = 3
MESSAGE_TOO_LARGE = 10
INVALID_TOPIC_EXCEPTION = 17
UNSUPPORTED_VERSION = 35


class Canary:
    """A topic that gets one record per check; every earlier record must still be there."""

    def __init__(self, broker):
        self.broker = broker
        self.topic = f"canary-{os.getpid()}-{random.randrange(1 << 30)}"
        create_topic(broker, self.topic, partitions=1)
        self.count = 0

    def check(self):
        # 1. A new connection gets a well-formed ApiVersions answer.
        with Connection(self.broker.bootstrap) as c:
            error, apis = c.api_versions(0)
            assert error == 0 and kafka_wire.API_PRODUCE in apis and kafka_wire.API_FETCH in apis
        # 2. A real client produces and reads back everything the canary ever got.
        p = Producer({"bootstrap.servers": self.broker.bootstrap, "acks": "all"})
        p.produce(self.topic, value=f"canary-{self.count}".encode(), partition=0)
        assert p.flush(30) == 0
        self.count += 1
        msgs = read_all(self.broker, self.topic, 1, self.count, timeout=30)[0]
        assert [m.value() for m in msgs] == [f"canary-{i}".encode() for i in range(self.count)]


@pytest.fixture
def canary(broker):
    c = Canary(broker)
    c.check()
    return c


def _log_grew_since(size: int, timeout: float = 3.0) -> bool:
    path = os.environ.get("SAMSA_BROKER_LOG")
    if not path:
        return True  # not run by .ci/run: nothing to check
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.getsize(path) > size:
            return True
        time.sleep(0.1)
    return False


def _log_size() -> int:
    path = os.environ.get("SAMSA_BROKER_LOG")
    return os.path.getsize(path) if path else 0


def test_frame_over_socket_request_max_bytes(broker, canary):
    before = _log_size()
    with Connection(broker.bootstrap) as c:
        c.send_raw(struct.pack(">i", SOCKET_REQUEST_MAX_BYTES + 1) + b"\x00\x12\x00\x00")
        assert c.wait_closed(10), "broker kept a connection that announced an oversized frame"
    assert _log_grew_since(before), "no log line for the rejected frame"
    # A negative size is just as invalid.
    with Connection(broker.bootstrap) as c:
        c.send_raw(struct.pack(">i", -5))
        assert c.wait_closed(10)
    canary.check()


def test_truncated_frames(broker, canary):
    # A frame cut short by the client closing: the broker drops the partial frame.
    with Connection(broker.bootstrap) as c:
        c.send_raw(struct.pack(">i", 100) + b"\x00\x03\x00\x01" + b"\x00" * 16)
    # A frame too short to hold a request header.
    with Connection(broker.bootstrap) as c:
        c.send_frame(b"\x00\x12\x00")
        assert c.wait_closed(10)
    # A Metadata v1 request whose topic array claims 5 entries and holds none.
    with Connection(broker.bootstrap) as c:
        header = i16(3) + i16(1) + i32(1) + string("truncated")
        c.send_frame(header + i32(5))
        assert c.wait_closed(10)
    # A string length running past the end of the frame.
    with Connection(broker.bootstrap) as c:
        header = i16(3) + i16(1) + i32(1) + string("truncated")
        c.send_frame(header + i32(1) + i16(3000) + b"abc")
        assert c.wait_closed(10)
    canary.check()


def test_garbage_frames(broker, canary):
    rng = random.Random(20261126)
    for n in range(24):
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
        # Known api keys and versions with garbage bodies, and garbage everywhere.
        if n % 2 == 0:
            api_key, version = rng.choice([(0, 3), (1, 4), (3, 1), (3, 12), (18, 3), (19, 4), (11, 5)])
            frame = i16(api_key) + i16(version) + i32(n) + string("garbage") + body
        else:
            frame = body
        with Connection(broker.bootstrap, timeout=10) as c:
            c.send_frame(frame)
            # Either one answer (some garbage parses as a request) or a closed connection,
            # promptly: the broker must neither hang on it nor wait for bytes that never come.
            try:
                c.recv_frame()
            except kafka_wire.ConnectionClosed:
                pass
            except ConnectionResetError:
                pass
            except socket.timeout:
                raise AssertionError(f"garbage frame {n}: neither answered nor closed in 10 s")
    canary.check()


def test_unknown_api_key_and_versions(broker, canary):
    with Connection(broker.bootstrap) as c:
        c.send_frame(i16(9999) + i16(0) + i32(1) + string("unknown-api"))
        assert c.wait_closed(10), "unknown api key: the connection must be closed"
    with Connection(broker.bootstrap) as c:
        c.send_frame(i16(3) + i16(127) + i32(1) + string("future-metadata") + i32(0))
        assert c.wait_closed(10), "unsupported Metadata version: the connection must be closed"
    # ApiVersions with a version the broker does not know: UNSUPPORTED_VERSION in a v0
    # response that still lists the supported versions (KIP-511), so the client can retry.
    with Connection(broker.bootstrap) as c:
        c.send_request(kafka_wire.API_API_VERSIONS, 127, b"")
        r = kafka_wire.Reader(c.recv_frame())
        assert r.i32() == c.correlation_id
        assert r.i16() == UNSUPPORTED_VERSION
        apis = r.array(lambda x: (x.i16(), x.i16(), x.i16()))
        assert any(k == kafka_wire.API_API_VERSIONS for k, _, _ in apis), apis
        # ... and the connection stays usable.
        error, _ = c.api_versions(0)
        assert error == 0
    canary.check()


def test_invalid_topic_names(broker, canary):
    bad = ["bad name", "..", ".", "a" * 250, "x/y", "topic!"]
    a = admin(broker)
    fs = a.create_topics([NewTopic(n, num_partitions=1, replication_factor=1) for n in bad])
    for name in bad:
        with pytest.raises(KafkaException) as exc:
            fs[name].result(timeout=30)
        assert exc.value.args[0].code() == INVALID_TOPIC_EXCEPTION, (name, exc.value)
    # Metadata for an invalid name (auto-creation is on) reports the error, creates nothing.
    with Connection(broker.bootstrap) as c:
        md = c.metadata(["bad name"])
        assert md["topics"]["bad name"]["error"] == INVALID_TOPIC_EXCEPTION
        assert "bad name" not in c.metadata(None)["topics"]
    canary.check()


def test_produce_to_missing_partition(broker, canary, topic_name):
    create_topic(broker, topic_name, partitions=1)
    # To the partition's leader (on a cluster another broker answers NOT_LEADER_OR_FOLLOWER).
    with Connection(kafka_wire.leader_address(broker.bootstrap, topic_name, 0)) as c:
        error, _ = c.produce(topic_name, 7, kafka_wire.encode_record_batch([(b"k", b"v")]))
        assert error == UNKNOWN_TOPIC_OR_PARTITION
        error, base = c.produce(topic_name, 0, kafka_wire.encode_record_batch([(b"k", b"v")]))
        assert (error, base) == (0, 0)
    assert high_watermark(broker, topic_name, 0) == 1
    canary.check()


def test_record_over_message_max_bytes(broker, canary, topic_name):
    create_topic(broker, topic_name, partitions=1)
    big = kafka_wire.encode_record_batch([(None, b"x" * (MESSAGE_MAX_BYTES + 1000))])
    with Connection(kafka_wire.leader_address(broker.bootstrap, topic_name, 0)) as c:
        error, _ = c.produce(topic_name, 0, big)
        assert error == MESSAGE_TOO_LARGE
        # Just under the limit is accepted.
        ok = kafka_wire.encode_record_batch([(None, b"y" * (MESSAGE_MAX_BYTES - 1000))])
        assert c.produce(topic_name, 0, ok) == (0, 0)
    assert high_watermark(broker, topic_name, 0) == 1
    batches = kafka_wire.fetch_all(broker.bootstrap, topic_name, 0, 1)
    assert [len(r.value) for b in batches for r in b.records] == [MESSAGE_MAX_BYTES - 1000]
    # A batch with a wrong CRC is CORRUPT_MESSAGE (2) and is not appended.
    corrupt = bytearray(kafka_wire.encode_record_batch([(b"k", b"v")]))
    corrupt[-1] ^= 0xFF
    with Connection(kafka_wire.leader_address(broker.bootstrap, topic_name, 0)) as c:
        assert c.produce(topic_name, 0, bytes(corrupt))[0] == 2
    assert high_watermark(broker, topic_name, 0) == 1
    canary.check()


def test_client_that_sends_nothing(broker, canary):
    silent = socket.create_connection(tuple(_hostport(broker.bootstrap)), timeout=10)
    try:
        time.sleep(2)
        canary.check()  # others are served while it sits there
        # The silent connection itself still works when it finally speaks.
        assert Connection.wrap(silent, "late-speaker").api_versions(0)[0] == 0
    finally:
        silent.close()


def test_thousand_idle_connections(broker, canary):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    idle = []
    try:
        for _ in range(1000):
            idle.append(socket.create_connection(tuple(_hostport(broker.bootstrap)), timeout=10))
        t0 = time.time()
        canary.check()
        assert time.time() - t0 < 20, "serving one client took too long with 1,000 idle connections"
        # A sample of the idle connections still answers.
        for s in random.Random(7).sample(idle, 10):
            assert Connection.wrap(s, "idle").api_versions(0)[0] == 0
    finally:
        for s in idle:
            s.close()
    canary.check()


def _hostport(bootstrap: str):
    host, port = bootstrap.rsplit(":", 1)
    return host, int(port)
