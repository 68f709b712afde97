"""Metadata benchmark (issue 11 item 4): CreateTopics latency (single node, sequential, one topic
each, confluent-kafka admin) and broker start-up time (spawn -> port accepting) with N topics in
the metadata. Usage: /opt/peers-venv/bin/python scripts/bench_metadata.py <repo> <label> [topics];
BENCH_BIN picks another
samsa binary (compare two builds side by side on the same machine)."""
import sys, time, statistics, socket, os, subprocess
from pathlib import Path
repo = Path(sys.argv[1]); label = sys.argv[2]; n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
sys.path.insert(0, str(repo / "Tests/interop"))
os.environ["SAMSA_BIN"] = os.environ.get("BENCH_BIN") or str(repo / ".build/debug/samsa")
from own_broker import OwnBroker
from confluent_kafka.admin import AdminClient, NewTopic
import tempfile
tmp = Path(tempfile.mkdtemp(prefix="mdbench-"))
b = OwnBroker(tmp)
b.start()
admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{b.port}"})
lat = []
for i in range(n):
    t0 = time.perf_counter()
    fs = admin.create_topics([NewTopic(f"bench-{i:05d}", 1, 1)], operation_timeout=30)
    for f in fs.values(): f.result()
    lat.append((time.perf_counter() - t0) * 1000)
lat.sort()
def pct(p): return lat[min(len(lat) - 1, int(p / 100 * len(lat)))]
print(f"{label}: CreateTopics x{n} sequential: p50 {pct(50):.2f} ms, p99 {pct(99):.2f} ms, max {lat[-1]:.2f} ms")
b.terminate()
starts = []
for _ in range(3):
    t0 = time.perf_counter()
    b.start()
    starts.append((time.perf_counter() - t0) * 1000)
    md = AdminClient({"bootstrap.servers": f"127.0.0.1:{b.port}"}).list_topics(timeout=30)
    assert sum(1 for t in md.topics if t.startswith("bench-")) == n, len(md.topics)
    b.terminate()
print(f"{label}: start-up with {n} topics (spawn -> port accepting; 3 runs): {', '.join(f'{s:.0f}' for s in starts)} ms")
print("data dir:", tmp)
