#!/usr/bin/env python3
"""Broker memory under pipelined large requests (issue 9, item 7): one raw connection sends a
Fetch that parks (an empty partition, max_wait 30 s) and then pipelines N produce frames of
M MB each behind it. The broker may read those frames while the Fetch waits; how many it
reads is bounded by `queued.max.request.bytes` (and the per-connection read-ahead). The script
samples the broker's RSS (/proc/PID/status VmRSS) every 100 ms and prints the baseline and the
peak, and how much of the data the broker took off the socket while the Fetch was parked.

The produce frames are not valid requests (their bodies are filler): only their buffering
matters, and the broker closes the connection when it finally parses the first one.

  scripts/bench_request_memory.py [--bin .build/debug/samsa] [--frames 12] [--frame-mb 95]
                                  [--set queued.max.request.bytes=-1 ...]
"""

from __future__ import annotations

import argparse
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def string(s: str) -> bytes:
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(Path(__file__).resolve().parents[1] / ".build/debug/samsa"))
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--frame-mb", type=int, default=95)
    ap.add_argument("--seconds", type=float, default=20.0, help="how long the Fetch stays parked")
    ap.add_argument("--set", action="append", default=[], help="extra server.properties key=value")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="samsa-membench-"))
    port = free_port()
    props = {"node.id": "1", "listeners": f"PLAINTEXT://127.0.0.1:{port}", "log.dirs": str(tmp / "logs"),
             "offsets.topic.num.partitions": "1", "socket.request.max.bytes": str(100 << 20)}
    for kv in args.set:
        k, _, v = kv.partition("=")
        props[k] = v
    (tmp / "server.properties").write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    log = open(tmp / "broker.log", "wb")
    broker = subprocess.Popen([args.bin, "broker", "--config", str(tmp / "server.properties")],
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        time.sleep(1.0)
        baseline = rss_mb(broker.pid)

        sock = socket.create_connection(("127.0.0.1", port))
        # Fetch v4 on __consumer_offsets-0 (empty): min_bytes 1, max_wait as long as the test.
        body = (struct.pack(">iiii", -1, int(args.seconds * 1000) + 5000, 1, 1 << 20) + b"\x00"
                + struct.pack(">i", 1) + string("__consumer_offsets")
                + struct.pack(">i", 1) + struct.pack(">iqi", 0, 0, 1 << 20))
        header = struct.pack(">hhi", 1, 4, 1) + string("membench")
        payload = header + body
        sock.sendall(struct.pack(">i", len(payload)) + payload)

        frame_bytes = args.frame_mb << 20
        filler = b"\x00" * (1 << 20)
        sent = [0]

        def pipeline():
            try:
                for i in range(args.frames):
                    head = struct.pack(">hhi", 0, 3, i + 2) + string("membench")
                    sock.sendall(struct.pack(">i", frame_bytes) + head)
                    left = frame_bytes - len(head)
                    while left > 0:
                        n = min(left, len(filler))
                        sock.sendall(filler[:n])
                        left -= n
                        sent[0] += n
            except OSError:
                pass

        t = threading.Thread(target=pipeline, daemon=True)
        t.start()
        peak = baseline
        end = time.time() + args.seconds
        while time.time() < end:
            peak = max(peak, rss_mb(broker.pid))
            time.sleep(0.1)
        total = args.frames * frame_bytes
        print(f"{args.frames} x {args.frame_mb} MB pipelined behind a parked Fetch, "
              f"{' '.join(args.set) or 'defaults'}: broker RSS {baseline:.0f} MB -> peak {peak:.0f} MB; "
              f"the client got {sent[0] / (1 << 20):.0f} of {total / (1 << 20):.0f} MB into the socket while the Fetch was parked")
        sock.close()
        return 0
    finally:
        broker.terminate()
        try:
            broker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            broker.kill()
        log.close()
        subprocess.run(["rm", "-rf", str(tmp)])


if __name__ == "__main__":
    sys.exit(main())
