#!/usr/bin/env python3
"""Record the request frames a real Kafka client sends, for the codec's fixture tests.

A TCP proxy between one client session and a broker: it forwards both directions unchanged
and keeps every complete request frame the client sends (the bytes after the 4-byte size:
request header + body). Run one client command through it:

    capture_frames.py --upstream 127.0.0.1:19393 --listen 19394 --out DIR \
        --client kcat216 --codec gzip --apis 0,3,18 -- kcat216 -b {bootstrap} -P -t T -z gzip

`{bootstrap}` in the command becomes the proxy's address. The broker must advertise the
proxy's address (Tansu: --advertised-listener-url tcp://127.0.0.1:<listen>), or the client
would reconnect to the broker directly after its first Metadata response.

Frames whose api key is in --apis are written to DIR as
`<client>-<codec>-<NN>-<ApiName>-v<version>.bin` and listed in DIR/manifest.json (one entry
per file: file, client, clientVersion, apiKey, apiName, apiVersion, codec). Repeated frames of
ApiVersions and Metadata that differ only in the correlation id are kept once.
"""

from __future__ import annotations

import argparse
import json
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

API_NAMES = {0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit",
             9: "OffsetFetch", 10: "FindCoordinator", 11: "JoinGroup", 18: "ApiVersions",
             19: "CreateTopics", 22: "InitProducerId"}


class FrameRecorder:
    """Splits the client->broker byte stream into frames (4-byte big-endian size + payload)."""

    def __init__(self, sink):
        self.buf = bytearray()
        self.sink = sink

    def feed(self, data: bytes):
        self.buf += data
        while len(self.buf) >= 4:
            (size,) = struct.unpack(">i", self.buf[:4])
            if size < 0 or len(self.buf) < 4 + size:
                return
            self.sink(bytes(self.buf[4:4 + size]))
            del self.buf[:4 + size]


def pump(src: socket.socket, dst: socket.socket, on_data=None):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if on_data:
                on_data(data)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Proxy(threading.Thread):
    def __init__(self, listen_port: int, upstream: tuple[str, int]):
        super().__init__(daemon=True)
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", listen_port))
        self.server.listen(16)
        self.upstream = upstream
        self.frames: list[bytes] = []  # in arrival order, across the session's connections
        self.lock = threading.Lock()

    def _record(self, frame: bytes):
        with self.lock:
            self.frames.append(frame)

    def run(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            rec = FrameRecorder(self._record)
            threading.Thread(target=pump, args=(client, upstream, rec.feed), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client), daemon=True).start()

    def stop(self):
        self.server.close()


def header_fields(frame: bytes) -> tuple[int, int, int]:
    api_key, version, correlation_id = struct.unpack(">hhi", frame[:8])
    return api_key, version, correlation_id


def without_correlation_id(frame: bytes) -> bytes:
    return frame[:4] + frame[8:]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream", required=True, help="broker host:port")
    ap.add_argument("--listen", type=int, required=True, help="proxy port on 127.0.0.1")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--client", required=True, help="client label for file names and the manifest")
    ap.add_argument("--client-version", default="", help="e.g. 'librdkafka 2.16.0'")
    ap.add_argument("--codec", default="none", help="codec of the Produce record batches")
    ap.add_argument("--apis", default="0,3,18", help="api keys to keep (comma-separated)")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--allow-failure", action="store_true",
                    help="keep the frames even when the client command fails")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = [c.replace("{bootstrap}", f"127.0.0.1:{args.listen}") for c in args.command if c != "--"]
    if not cmd:
        ap.error("no client command")
    host, port = args.upstream.rsplit(":", 1)
    proxy = Proxy(args.listen, (host, int(port)))
    proxy.start()
    try:
        p = subprocess.run(cmd, timeout=args.timeout, stdin=subprocess.DEVNULL if not sys.stdin.isatty() else None)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        rc = 124
    finally:
        proxy.stop()
    if rc != 0 and not args.allow_failure:
        print(f"client command failed ({rc}): {' '.join(cmd)}", file=sys.stderr)
        return 1

    keep = {int(k) for k in args.apis.split(",")}
    args.out.mkdir(parents=True, exist_ok=True)
    manifest_path = args.out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else []
    prefix = f"{args.client}-{args.codec}-"
    manifest = [m for m in manifest if not m["file"].startswith(prefix)]
    seen: set[bytes] = set()
    n = 0
    with proxy.lock:
        frames = list(proxy.frames)
    for frame in frames:
        api_key, version, _ = header_fields(frame)
        if api_key not in keep:
            continue
        ident = without_correlation_id(frame)
        if ident in seen:
            continue
        seen.add(ident)
        n += 1
        name = API_NAMES.get(api_key, f"Api{api_key}")
        fname = f"{prefix}{n:02d}-{name}-v{version}.bin"
        (args.out / fname).write_bytes(frame)
        manifest.append({"file": fname, "client": args.client, "clientVersion": args.client_version,
                         "apiKey": api_key, "apiName": name, "apiVersion": version,
                         "codec": args.codec if api_key == 0 else None})
        print(f"  {fname} ({len(frame)} bytes)")
    manifest.sort(key=lambda m: m["file"])
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    if n == 0:
        print("no frames captured", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
