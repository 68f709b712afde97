"""Metadata propagation (issue 11 item 10): how long after the active controller answered a
CreateTopics does every broker serve the new topic in Metadata? The controller answers once the
records are committed, so this is "controller commit -> every broker applied", measured from the
outside, with one raw-socket poller per broker (Metadata v4, allow_auto_topic_creation=false,
one request in flight each, back to back: the resolution is one Metadata round trip, well under
1 ms on loopback) and a confluent-kafka AdminClient sending CreateTopics to the first bootstrap
broker (which forwards to the active controller when it is not it).

Usage: /opt/peers-venv/bin/python scripts/bench_propagation.py BOOTSTRAP[,BOOTSTRAP...] [TOPICS]
(default 200 topics, created one at a time). Prints p50/p99/max of the time from the
CreateTopics answer to the last broker seeing the topic, and per broker.
"""
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Tests/interop"))
from kafka_wire import Connection, array, i8, string  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

brokers = sys.argv[1].split(",")
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200


def has_topic(c: Connection, name: str) -> bool:
    r = c.request(3, 4, array([string(name)]) + i8(0))
    r.i32()  # throttle
    r.array(lambda x: (x.i32(), x.string(), x.i32(), x.string()))
    r.string()  # cluster id
    r.i32()  # controller
    topics = r.array(lambda x: (x.i16(), x.string(), x.i8(),
                                x.array(lambda y: (y.i16(), y.i32(), y.i32(), y.array(lambda z: z.i32()),
                                                   y.array(lambda z: z.i32())))))
    return bool(topics) and topics[0][0] == 0 and len(topics[0][3]) > 0


def poll_until_seen(addr: str, name: str, out: dict, start: threading.Event):
    with Connection(addr, timeout=30) as c:
        start.wait()
        deadline = time.time() + 30
        while time.time() < deadline:
            if has_topic(c, name):
                out[addr] = time.perf_counter()
                return


admin = AdminClient({"bootstrap.servers": brokers[0]})
total, per = [], {b: [] for b in brokers}
for i in range(n):
    name = f"prop-{int(time.time())}-{i:04d}"
    seen: dict[str, float] = {}
    start = threading.Event()
    threads = [threading.Thread(target=poll_until_seen, args=(b, name, seen, start)) for b in brokers]
    for t in threads:
        t.start()
    start.set()
    fut = admin.create_topics([NewTopic(name, 1, len(brokers))], operation_timeout=30)[name]
    fut.result()
    answered = time.perf_counter()
    for t in threads:
        t.join()
    assert len(seen) == len(brokers), f"{name}: not seen by {set(brokers) - set(seen)}"
    total.append(max(0.0, max(seen.values()) - answered) * 1000)
    for b in brokers:
        per[b].append(max(0.0, seen[b] - answered) * 1000)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


print(f"propagation, CreateTopics answer -> every broker serves the topic, n={n}: "
      f"p50 {pct(total, 50):.1f} ms, p99 {pct(total, 99):.1f} ms, max {max(total):.1f} ms")
for b in brokers:
    print(f"  {b}: p50 {pct(per[b], 50):.1f} ms, p99 {pct(per[b], 99):.1f} ms, max {max(per[b]):.1f} ms")
