#!/usr/bin/env python3
"""kill -9 of a partition leader -> first acks=all ack, on a cluster started by
notes-style cluster3 (3 combined nodes, client ports 39401-39403, nodeN.pid/nodeN.log in DIR).
Usage: scripts/bench_failover_probe.py DIR   (prints the gap and whether the leader was the active controller)."""
import sys, time, os, signal, glob, re
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
d = sys.argv[1]
boot = "127.0.0.1:39401,127.0.0.1:39402,127.0.0.1:39403"
a = AdminClient({"bootstrap.servers": boot})
a.create_topics([NewTopic("kt", 1, 3)])["kt"].result()
time.sleep(1)
p = Producer({"bootstrap.servers": boot, "acks": "all", "linger.ms": 0, "enable.idempotence": True})
acks = []
def cb(err, msg):
    if err is None: acks.append(time.time())
def leader():
    return p.list_topics("kt", timeout=5).topics["kt"].partitions[0].leader
for i in range(40):
    p.produce("kt", b"x", callback=cb); p.poll(0.05)
p.flush(10)
L = leader()
ctrl = None
for f in glob.glob(f"{d}/node*.log"):
    if "Active controller in" in open(f).read(): ctrl = int(re.search(r"node(\d)\.log", f).group(1))
pid = int(open(f"{d}/node{L}.pid").read())
t_kill = time.time()
os.kill(pid, signal.SIGKILL)
n0 = len(acks)
while len(acks) == n0 and time.time() - t_kill < 60:
    p.produce("kt", b"y", callback=cb); p.poll(0.05)
p.flush(30)
first = min(acks[n0:]) if len(acks) > n0 else None
print(f"killed leader {L} (active controller {ctrl}): first ack after {None if first is None else round(first - t_kill, 2)} s")
