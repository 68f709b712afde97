#!/usr/bin/env python3
"""Captures the record batches a real client (kcat / librdkafka) produces, one file per codec.

A throwaway fake broker on 127.0.0.1 answers just enough (ApiVersions v3, Metadata v1,
Produce v3-v7) for kcat to produce to partition 0 of topic `fixtures`, and writes the `records`
bytes of each Produce request to
Tests/KafkaProtocolTests/Fixtures/records-librdkafka-<codec>.bin. The Swift tests
(RecordsClientFixtureTests) decode those bytes exactly and check the messages below.

Usage: python3 scripts/capture-record-batches.py [path/to/kcat]   (default: kcat on PATH)
"""
import os
import socket
import struct
import subprocess
import sys
import threading

KCAT = sys.argv[1] if len(sys.argv) > 1 else "kcat"
OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "KafkaProtocolTests", "Fixtures")
TOPIC = b"fixtures"
# key<TAB>value lines; kcat -K '\t'. One empty-value and one 2 KB value for good measure.
DEBUG = ["-d", "msg"] if os.environ.get("DEBUG") else []
MESSAGES = [b"k1\thello", b"k2\tworld", b"\tno key", b"k4\t" + b"x" * 2000, b"k5\t"]


def read_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def string(s):
    return struct.pack(">h", len(s)) + s


def serve(listener, port, captured):
    conn, _ = listener.accept()
    try:
        while True:
            size = struct.unpack(">i", read_exact(conn, 4))[0]
            frame = read_exact(conn, size)
            api_key, api_version, correlation = struct.unpack(">hhi", frame[:8])
            client_len = struct.unpack(">h", frame[8:10])[0]
            body = frame[10 + max(client_len, 0):]
            if api_key == 18:  # ApiVersions v3 (flexible body, response header v0), no tags.
                # librdkafka infers features from these ranges (message format v2 needs Produce 3 +
                # Fetch 4, zstd Produce 7 + Fetch 10, lz4 FindCoordinator, gzip/snappy the older
                # Produce/Fetch versions), so more is advertised than is answered; only
                # ApiVersions, Metadata v1 and Produce v7 are ever sent.
                apis = [(0, 0, 7), (1, 0, 10), (3, 1, 1), (10, 0, 2), (18, 0, 3)]
                resp = struct.pack(">h", 0) + bytes([len(apis) + 1])
                resp += b"".join(struct.pack(">hhh", *a) + b"\x00" for a in apis)
                resp += struct.pack(">i", 0) + b"\x00"
                if api_version < 3:
                    resp = struct.pack(">hi", 0, len(apis)) + b"".join(struct.pack(">hhh", *a) for a in apis)
            elif api_key == 3:  # Metadata v1: this fake broker leads partition 0.
                resp = struct.pack(">i", 1) + struct.pack(">i", 1) + string(b"127.0.0.1") + struct.pack(">i", port)
                resp += struct.pack(">h", -1)  # rack: null
                resp += struct.pack(">i", 1)  # controller id
                resp += struct.pack(">i", 1) + struct.pack(">h", 0) + string(TOPIC) + b"\x00"
                resp += struct.pack(">i", 1) + struct.pack(">hii", 0, 0, 1)
                resp += struct.pack(">ii", 1, 1) + struct.pack(">ii", 1, 1)
            elif api_key == 0:  # Produce v3: keep the records, acknowledge.
                at = 0
                tid_len = struct.unpack(">h", body[at:at + 2])[0]
                at += 2 + max(tid_len, 0) + 2 + 4  # transactional id, acks, timeout
                at += 4  # topic count (1)
                name_len = struct.unpack(">h", body[at:at + 2])[0]
                at += 2 + name_len + 4 + 4  # name, partition count (1), partition index
                records_len = struct.unpack(">i", body[at:at + 4])[0]
                captured.append(body[at + 4:at + 4 + records_len])
                resp = struct.pack(">i", 1) + string(TOPIC) + struct.pack(">i", 1)
                resp += struct.pack(">ihqq", 0, 0, 0, -1)
                if api_version >= 5:
                    resp += struct.pack(">q", 0)  # log start offset
                resp += struct.pack(">i", 0)  # throttle time
            else:
                raise RuntimeError(f"unexpected api key {api_key}")
            out = struct.pack(">i", correlation) + resp
            conn.sendall(struct.pack(">i", len(out)) + out)
    except EOFError:
        pass
    finally:
        conn.close()


def capture(codec):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    captured = []
    threads = [threading.Thread(target=serve, args=(listener, port, captured), daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    subprocess.run(
        [KCAT, "-P", "-b", f"127.0.0.1:{port}", "-t", TOPIC.decode(), "-p", "0", "-K", "\t", "-z", codec,
         "-H", "trace=abc", "-X", "api.version.request=true", "-X", "linger.ms=100"] + DEBUG,
        input=b"\n".join(MESSAGES) + b"\n", check=True, timeout=60)
    listener.close()
    assert len(captured) == 1, f"{codec}: expected one Produce, got {len(captured)}"
    path = os.path.join(OUT, f"records-librdkafka-{codec}.bin")
    with open(path, "wb") as f:
        f.write(captured[0])
    print(f"{codec}: {len(captured[0])} bytes -> {path}")


for codec in ["none", "gzip", "snappy", "lz4", "zstd"]:
    capture(codec)
