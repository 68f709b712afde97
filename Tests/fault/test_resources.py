"""Issue 9 item 5 (open files) and the broker half of item 10 (partition limit), against a
real broker process under a real `ulimit -n` (soft and hard, so the broker cannot raise it).

* 1,000 partitions under `ulimit -n 256`: before the segment-file cache every partition held
  a descriptor, the logs past ~200 failed with EMFILE while CreateTopics still said success,
  and producing to them failed. Now: created, written, restarted, every acknowledged record
  read back by faultcheck.
* EMFILE on accept: with every descriptor in use and a connection waiting in the backlog, the
  broker's event loop spun at 100 % CPU (NIO keeps the listening socket registered after a
  failed accept). Now it pauses accepting; CPU is measured from /proc/PID/stat.
* A topic with more partitions than `max.broker.partitions` is refused up front with
  POLICY_VIOLATION and a message naming the limit; nothing is created.
"""

from __future__ import annotations

import os
import socket
import time

import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import assert_all_acked_readable, faultcheck
from helpers import admin, create_topic, wait_for_partitions


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks   # utime + stime


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_thousand_partitions_under_ulimit_256(make_broker, tmp_path):
    broker = make_broker(nofile=256)
    broker.start()
    # 1,000 logs are created inside one CreateTopics (two fsyncs each for the leader-epoch
    # checkpoint): allow it more than the client's default 30 s on a loaded machine.
    started = time.time()
    a = AdminClient({"bootstrap.servers": broker.bootstrap, "socket.timeout.ms": 300000})
    a.create_topics([NewTopic("wide", num_partitions=1000, replication_factor=1)],
                    operation_timeout=300, request_timeout=300)["wide"].result(timeout=320)
    print(f"CreateTopics of 1,000 partitions under ulimit -n 256: {time.time() - started:.1f} s")
    wait_for_partitions(broker, "wide", 1000)
    assert _open_fds(broker.proc.pid) < 256
    # Every one of the 1,000 logs takes a write (more logs than descriptors: the cache reopens).
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 5})
    failures = []
    for part in range(1000):
        p.produce("wide", value=b"x", partition=part,
                  on_delivery=lambda err, msg: failures.append(err) if err else None)
    assert p.flush(120) == 0 and not failures, failures[:3]
    # faultcheck records and re-reads acknowledged records on 100 of them (its verify reads one
    # partition at a time, about half a second each).
    acks = tmp_path / "acks.jsonl"
    r = faultcheck.produce(broker.bootstrap, "wide", str(acks), count=2000, partitions=100, prefix="a")
    print(r.summary())
    assert r.acked == 2000 and not r.errors, r.summary()
    # Restarts under the same limit open all 1,000 logs again: clean, then kill -9.
    assert broker.terminate() == 0
    broker.start()
    broker.kill9()
    broker.start()
    r = faultcheck.produce(broker.bootstrap, "wide", str(acks), count=500, partitions=100, prefix="b")
    assert r.acked == 500 and not r.errors, r.summary()
    assert_all_acked_readable(broker.bootstrap, acks, minimum=2500)
    assert "Open-file limit: soft 256" in broker.run_output()
    assert _open_fds(broker.proc.pid) < 256


def test_emfile_on_accept_does_not_spin(make_broker):
    broker = make_broker(nofile=96)
    broker.start()
    pid = broker.proc.pid
    clients = []
    try:
        # Take every descriptor the broker has, then leave more connections in the backlog.
        for _ in range(150):
            clients.append(socket.create_connection(("127.0.0.1", broker.port), timeout=5))
        time.sleep(1.0)
        assert _open_fds(pid) >= 90, f"the broker is not out of descriptors ({_open_fds(pid)} open)"
        before = _cpu_seconds(pid)
        time.sleep(3.0)
        used = (_cpu_seconds(pid) - before) / 3.0
        print(f"broker CPU while connections wait under EMFILE: {used * 100:.1f}%")
        assert used < 0.05, f"the broker spins: {used * 100:.0f}% CPU while it cannot accept"
    finally:
        for c in clients:
            c.close()
    # Descriptors are free again: the broker accepts and answers.
    deadline = time.time() + 15
    while True:
        try:
            md = admin(broker).list_topics(timeout=5)
            assert md.brokers
            break
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(0.5)
    assert "Cannot accept connections" in broker.run_output()


def test_topic_above_max_broker_partitions_is_refused(make_broker):
    broker = make_broker(extra={"max.broker.partitions": "100"})
    broker.start()
    a = admin(broker)
    fut = a.create_topics([NewTopic("too-wide", num_partitions=200, replication_factor=1)],
                          operation_timeout=30, request_timeout=30)["too-wide"]
    with pytest.raises(KafkaException) as info:
        fut.result(timeout=60)
    err = info.value.args[0]
    assert err.name() == "POLICY_VIOLATION", err
    assert "max.broker.partitions=100" in err.str(), err.str()
    assert "too-wide" not in a.list_topics(timeout=10).topics
    # Within the limit (the 2 __consumer_offsets partitions count too) it works.
    create_topic(broker, "fits", partitions=90)
