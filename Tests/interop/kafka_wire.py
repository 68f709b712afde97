"""A deliberately small Kafka wire client for the tests that real clients cannot express.

Real clients refuse to send malformed frames, produce to a partition the metadata does not
list, or show the raw attributes of a fetched record batch; the bad-input tests and the
codec checks need exactly that. This module speaks only a handful of non-flexible request
versions (request header v1, response header v0) and is written from Kafka's message specs.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass, field

API_PRODUCE = 0
API_FETCH = 1
API_LIST_OFFSETS = 2
API_METADATA = 3
API_API_VERSIONS = 18

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
CODEC_NAMES = {v: k for k, v in CODECS.items()}

# ------------------------------------------------------------------------------------------
# CRC-32C (Castagnoli), as record batches v2 use it.

_CRC32C_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC32C_TABLE.append(_c)


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _CRC32C_TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283  # the published check value

# ------------------------------------------------------------------------------------------
# Primitive encoders / a bounds-checked reader


def i8(v: int) -> bytes:
    return struct.pack(">b", v)


def i16(v: int) -> bytes:
    return struct.pack(">h", v)


def i32(v: int) -> bytes:
    return struct.pack(">i", v)


def i64(v: int) -> bytes:
    return struct.pack(">q", v)


def string(s: str | None) -> bytes:
    if s is None:
        return i16(-1)
    b = s.encode()
    return i16(len(b)) + b


def nbytes(b: bytes | None) -> bytes:
    if b is None:
        return i32(-1)
    return i32(len(b)) + b


def array(items: list[bytes] | None) -> bytes:
    if items is None:
        return i32(-1)
    return i32(len(items)) + b"".join(items)


def varint(v: int) -> bytes:
    """Zigzag varint (signed), as used inside records."""
    z = (v << 1) ^ (v >> 63)
    z &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = z & 0x7F
        z >>= 7
        if z:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError(f"need {n} bytes at {self.pos}, have {self.remaining()}")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def i8(self) -> int:
        return struct.unpack(">b", self.take(1))[0]

    def i16(self) -> int:
        return struct.unpack(">h", self.take(2))[0]

    def i32(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    def u32(self) -> int:
        return struct.unpack(">I", self.take(4))[0]

    def i64(self) -> int:
        return struct.unpack(">q", self.take(8))[0]

    def string(self) -> str | None:
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def nbytes(self) -> bytes | None:
        n = self.i32()
        return None if n < 0 else self.take(n)

    def array(self, fn):
        n = self.i32()
        return None if n < 0 else [fn(self) for _ in range(n)]

    def varint(self) -> int:
        shift = 0
        z = 0
        while True:
            b = self.take(1)[0]
            z |= (b & 0x7F) << shift
            if not b & 0x80:
                break
            shift += 7
            if shift > 63:
                raise ValueError("varint too long")
        return (z >> 1) ^ -(z & 1)


# ------------------------------------------------------------------------------------------
# Record batches (magic 2)


@dataclass
class Record:
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)


@dataclass
class Batch:
    base_offset: int
    length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    crc_ok: bool
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    record_count: int
    records: list[Record] | None  # None when compressed (this module does not decompress)

    @property
    def codec(self) -> str:
        return CODEC_NAMES.get(self.attributes & 0x07, f"unknown({self.attributes & 7})")


def encode_record_batch(records: list[tuple[bytes | None, bytes | None]], *, timestamp: int | None = None,
                        producer_id: int = -1, producer_epoch: int = -1, base_sequence: int = -1) -> bytes:
    """An uncompressed v2 batch with base offset 0, CRC-32C over attributes..end."""
    ts = int(time.time() * 1000) if timestamp is None else timestamp
    body = bytearray()
    for i, (key, value) in enumerate(records):
        rec = bytearray()
        rec += i8(0)  # attributes
        rec += varint(0)  # timestamp delta
        rec += varint(i)  # offset delta
        rec += varint(-1) if key is None else varint(len(key)) + key
        rec += varint(-1) if value is None else varint(len(value)) + value
        rec += varint(0)  # headers
        body += varint(len(rec)) + rec
    after_crc = (i16(0) + i32(len(records) - 1) + i64(ts) + i64(ts) + i64(producer_id)
                 + i16(producer_epoch) + i32(base_sequence) + i32(len(records)) + bytes(body))
    crc = crc32c(after_crc)
    after_length = i32(0) + i8(2) + struct.pack(">I", crc) + after_crc
    return i64(0) + i32(len(after_length)) + after_length


def decode_record_batches(data: bytes) -> list[Batch]:
    """Every complete batch in `data` (a fetch may end with a partial one, which is dropped)."""
    out = []
    r = Reader(data)
    while r.remaining() >= 61:
        start = r.pos
        base_offset = r.i64()
        length = r.i32()
        if length > r.remaining():
            break  # partial trailing batch
        epoch = r.i32()
        magic = r.i8()
        if magic != 2:
            raise ValueError(f"magic {magic} batch at {start}")
        crc = r.u32()
        crc_start = r.pos
        attributes = r.i16()
        last_offset_delta = r.i32()
        base_ts = r.i64()
        max_ts = r.i64()
        pid = r.i64()
        pepoch = r.i16()
        bseq = r.i32()
        count = r.i32()
        end = start + 12 + length
        crc_ok = crc32c(data[crc_start:end]) == crc
        records = None
        if attributes & 0x07 == 0:
            records = []
            rr = Reader(data[r.pos:end])
            for _ in range(count):
                rr.varint()  # record length
                rr.i8()
                ts_delta = rr.varint()
                off_delta = rr.varint()
                kl = rr.varint()
                key = None if kl < 0 else rr.take(kl)
                vl = rr.varint()
                value = None if vl < 0 else rr.take(vl)
                headers = []
                for _ in range(rr.varint()):
                    hk = rr.take(rr.varint()).decode()
                    hl = rr.varint()
                    headers.append((hk, None if hl < 0 else rr.take(hl)))
                records.append(Record(base_offset + off_delta, base_ts + ts_delta, key, value, headers))
        r.pos = end
        out.append(Batch(base_offset, length, epoch, magic, crc, crc_ok, attributes, last_offset_delta,
                         base_ts, max_ts, pid, pepoch, bseq, count, records))
    return out


# ------------------------------------------------------------------------------------------
# Connection


class ConnectionClosed(Exception):
    pass


class Connection:
    """One TCP connection speaking request header v1 / response header v0."""

    def __init__(self, bootstrap: str, timeout: float = 10.0, client_id: str = "samsa-interop-raw"):
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock.settimeout(timeout)
        self.client_id = client_id
        self.correlation_id = 0

    @classmethod
    def wrap(cls, sock: socket.socket, client_id: str = "samsa-interop-raw") -> "Connection":
        """A Connection over an already connected socket."""
        c = cls.__new__(cls)
        c.sock, c.client_id, c.correlation_id = sock, client_id, 0
        return c

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_raw(self, data: bytes):
        self.sock.sendall(data)

    def send_frame(self, payload: bytes):
        self.sock.sendall(i32(len(payload)) + payload)

    def send_request(self, api_key: int, version: int, body: bytes) -> int:
        self.correlation_id += 1
        header = i16(api_key) + i16(version) + i32(self.correlation_id) + string(self.client_id)
        self.send_frame(header + body)
        return self.correlation_id

    def _recv_exact(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionClosed(f"closed after {len(buf)} of {n} bytes")
            buf += chunk
        return bytes(buf)

    def recv_frame(self) -> bytes:
        (size,) = struct.unpack(">i", self._recv_exact(4))
        return self._recv_exact(size)

    def request(self, api_key: int, version: int, body: bytes) -> Reader:
        cid = self.send_request(api_key, version, body)
        r = Reader(self.recv_frame())
        got = r.i32()
        if got != cid:
            raise ValueError(f"correlation id {got}, expected {cid}")
        return r

    def wait_closed(self, timeout: float) -> bool:
        """True when the peer closes (EOF or reset) within `timeout` without sending data."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        if data:
            raise AssertionError(f"expected the broker to close the connection, got {data[:64]!r}")
        return True

    # -- typed requests ----------------------------------------------------------------------

    def api_versions(self, version: int = 0) -> tuple[int, dict[int, tuple[int, int]]]:
        r = self.request(API_API_VERSIONS, version, b"")
        error = r.i16()
        apis = r.array(lambda x: (x.i16(), x.i16(), x.i16()))
        return error, {k: (lo, hi) for k, lo, hi in (apis or [])}

    def metadata(self, topics: list[str] | None) -> dict:
        body = array(None if topics is None else [string(t) for t in topics])
        r = self.request(API_METADATA, 1, body)
        brokers = r.array(lambda x: (x.i32(), x.string(), x.i32(), x.string()))
        controller = r.i32()

        def partition(x):
            return {"error": x.i16(), "partition": x.i32(), "leader": x.i32(),
                    "replicas": x.array(Reader.i32), "isr": x.array(Reader.i32)}

        def topic(x):
            return {"error": x.i16(), "name": x.string(), "internal": x.i8() != 0,
                    "partitions": x.array(partition)}

        return {"brokers": brokers, "controller": controller,
                "topics": {t["name"]: t for t in r.array(topic)}}

    def partition_states(self, topic: str) -> dict[int, dict]:
        """Metadata v7 for one topic, as this broker sees it: {partition: {"error", "leader",
        "leader_epoch", "replicas", "isr"}} (empty when the broker does not know the topic)."""
        body = array([string(topic)]) + i8(0)
        r = self.request(API_METADATA, 7, body)
        r.i32()  # throttle
        r.array(lambda x: (x.i32(), x.string(), x.i32(), x.string()))
        r.string()  # cluster id
        r.i32()  # controller

        def partition(x):
            return {"error": x.i16(), "partition": x.i32(), "leader": x.i32(), "leader_epoch": x.i32(),
                    "replicas": x.array(Reader.i32), "isr": x.array(Reader.i32), "offline": x.array(Reader.i32)}

        def one(x):
            return {"error": x.i16(), "name": x.string(), "internal": x.i8() != 0, "partitions": x.array(partition)}

        for t in r.array(one) or []:
            if t["name"] == topic and t["error"] == 0:
                return {p["partition"]: p for p in t["partitions"] or []}
        return {}

    def produce(self, topic: str, partition: int, batch: bytes, acks: int = -1,
                timeout_ms: int = 10000) -> tuple[int, int]:
        """Produce v3; returns (error_code, base_offset)."""
        body = (string(None) + i16(acks) + i32(timeout_ms)
                + array([string(topic) + array([i32(partition) + nbytes(batch)])]))
        r = self.request(API_PRODUCE, 3, body)
        topics = r.array(lambda x: (x.string(), x.array(lambda y: (y.i32(), y.i16(), y.i64(), y.i64()))))
        (_, parts), = topics
        (_, error, base_offset, _), = parts
        return error, base_offset

    def fetch(self, topic: str, partition: int, offset: int, max_bytes: int = 4 << 20,
              max_wait_ms: int = 100) -> tuple[int, int, list[Batch]]:
        """Fetch v4; returns (error_code, high_watermark, batches)."""
        body = (i32(-1) + i32(max_wait_ms) + i32(1) + i32(max_bytes) + i8(0)
                + array([string(topic) + array([i32(partition) + i64(offset) + i32(max_bytes)])]))
        r = self.request(API_FETCH, 4, body)
        r.i32()  # throttle
        topics = r.array(lambda x: (x.string(), x.array(lambda y: (
            y.i32(), y.i16(), y.i64(), y.i64(), y.array(lambda z: (z.i64(), z.i64())), y.nbytes()))))
        (_, parts), = topics
        (_, error, hw, _, _, records), = parts
        return error, hw, decode_record_batches(records or b"")

    def list_offset(self, topic: str, partition: int, timestamp: int) -> tuple[int, int]:
        """ListOffsets v1; returns (error_code, offset). -1 latest, -2 earliest."""
        body = i32(-1) + array([string(topic) + array([i32(partition) + i64(timestamp)])])
        r = self.request(API_LIST_OFFSETS, 1, body)
        topics = r.array(lambda x: (x.string(), x.array(lambda y: (y.i32(), y.i16(), y.i64(), y.i64()))))
        (_, parts), = topics
        (_, error, _, offset), = parts
        return error, offset


def leader_address(bootstrap: str, topic: str, partition: int) -> str:
    """host:port of the partition's leader as Metadata says (`bootstrap` itself on a single
    broker, or when the answer names no leader yet). `bootstrap` may list several brokers: the
    first is asked."""
    first = bootstrap.split(",")[0]
    with Connection(first) as c:
        md = c.metadata([topic])
    t = md["topics"].get(topic)
    parts = {p["partition"]: p for p in (t["partitions"] or [])} if t else {}
    leader = parts.get(partition, {}).get("leader", -1)
    for node_id, host, port, _ in md["brokers"] or []:
        if node_id == leader:
            return f"{host}:{port}"
    return first


def fetch_all(bootstrap: str, topic: str, partition: int, end_offset: int) -> list[Batch]:
    """Every batch of a partition from offset 0 up to `end_offset`, from the partition's
    leader (on a cluster, the bootstrap broker may only follow it)."""
    batches: list[Batch] = []
    offset = 0
    with Connection(leader_address(bootstrap, topic, partition)) as c:
        deadline = time.time() + 30
        while offset < end_offset and time.time() < deadline:
            error, _, got = c.fetch(topic, partition, offset)
            assert error == 0, f"fetch {topic}[{partition}]@{offset}: error {error}"
            for b in got:
                if b.base_offset + b.last_offset_delta >= offset:
                    batches.append(b)
                    offset = b.base_offset + b.last_offset_delta + 1
    return batches
