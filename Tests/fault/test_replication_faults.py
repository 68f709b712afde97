"""Issue 12 item 7: replication through process faults, judged by replication_checker.

A 3-node cluster (3 combined KRaft nodes, real processes on loopback), a topic with
replication factor 3 and min.insync.replicas=2, producers with acks=all and idempotence
(confluent-kafka and the Swift client's `samsa produce`), a consumer polling everything and a
high-watermark watcher, all recording a history while one of these faults is injected:

* kill -9 of the partition leader, SAMSA_REPL_KILLS times (CI: 3; scripts/replication-faults.sh
  runs the long form and writes the timings for BENCHMARKS.md to SAMSA_REPL_TIMINGS);
* SIGSTOP of the leader shorter than broker.session.timeout.ms (it stays leader, writes stall
  and resume) and longer (it is fenced, a new leader is elected from the ISR, and on SIGCONT
  the old leader must learn the new epoch and step down, not accept writes as leader);
* a rolling restart (SIGTERM, controlled shutdown, each node in turn, ISR full again between);
* a full-cluster crash (kill -9 of every node) and restart.

Each test ends with the checker: every acknowledged record at its offset, no offset holding two
values, no duplicates, no read of a failed write, offsets and high watermarks never going
backwards.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from replication_harness import RF, SESSION_MS, ReplCluster, Workload

KILLS = int(os.environ.get("SAMSA_REPL_KILLS", "3"))
TOPIC, PARTS = "repl", 3


@pytest.fixture
def cluster(tmp_path):
    c = ReplCluster(tmp_path / "cluster")
    try:
        c.start()
        c.wait_for_leader()
        c.create_topic(TOPIC, PARTS)
        yield c
    finally:
        c.stop()


def _timings(name: str, values: dict):
    out = os.environ.get("SAMSA_REPL_TIMINGS")
    if out:
        with open(out, "a") as f:
            f.write(json.dumps({"test": name, "rf": RF, **values}) + "\n")


def _assert_valid(verdict, min_ok: int = 100):
    assert verdict.ok >= min_ok, f"only {verdict.ok} acknowledged sends: the test proves nothing\n{verdict.summary()}"
    assert verdict.valid, verdict.summary()


@pytest.mark.timeout(900)
def test_kill9_partition_leader_repeatedly(cluster, tmp_path):
    w = Workload(cluster, TOPIC, PARTS, tmp_path / "history.jsonl").start()
    w.wait_progress(100)
    to_ack, rejoin = [], []
    for i in range(KILLS):
        part = i % PARTS
        leader = cluster.leader_of(TOPIC, part)
        t_kill = time.monotonic()
        cluster.nodes[leader].kill9()
        if RF > 1:
            # Failover: the next write is served by a new leader from the ISR while the
            # killed node is down.
            to_ack.append(w.first_ack_after(part, t_kill))
            new_leader = cluster.leader_of(TOPIC, part)
            assert new_leader != leader
            cluster.restart(leader)
            t_back = time.time()
            rejoin.append(cluster.wait_full_isr(TOPIC, PARTS, timeout=90))
        else:
            # No other replica: the partition is back only with its node.
            cluster.restart(leader)
            t_back = time.time()
            to_ack.append(w.first_ack_after(part, t_kill))
            new_leader = cluster.leader_of(TOPIC, part)
            rejoin.append(0.0)
        print(f"kill {i + 1}/{KILLS}: leader {leader} of p{part} -> {new_leader}; next acks=all produce "
              f"{to_ack[-1]:.2f}s after the kill; ISR full {rejoin[-1]:.2f}s after the restart "
              f"({time.time() - t_back:.1f}s)")
        w.wait_progress(50)
    _timings("kill9", {"kill_to_ack_s": to_ack, "isr_rejoin_s": rejoin})
    _assert_valid(w.finish())
    assert w.swift_runs["ok"] > 0, "no `samsa produce` run succeeded"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("pause", ["short", "long"])
def test_sigstop_leader(cluster, tmp_path, pause):
    seconds = SESSION_MS / 1000 / 2 if pause == "short" else SESSION_MS / 1000 * 2.5
    w = Workload(cluster, TOPIC, PARTS, tmp_path / "history.jsonl").start()
    w.wait_progress(100)
    leader = cluster.leader_of(TOPIC, 0)
    t_stop = time.monotonic()
    cluster.sigstop(leader)
    time.sleep(seconds)
    if pause == "long" and RF > 1:
        # Fenced after the session timeout: partition 0 is led by another ISR member, while
        # the old leader is still stopped.
        new_leader = cluster.leader_of(TOPIC, 0, not_node=leader, timeout=30)
        assert new_leader != leader
    cluster.sigcont(leader)
    took = w.first_ack_after(0, t_stop)
    print(f"SIGSTOP {seconds:.1f}s of leader {leader}: next acks=all produce to p0 {took:.2f}s after the stop")
    if RF > 1:
        cluster.wait_full_isr(TOPIC, PARTS, timeout=90)
    w.wait_progress(100)
    _assert_valid(w.finish())


@pytest.mark.timeout(600)
def test_rolling_restart(cluster, tmp_path):
    w = Workload(cluster, TOPIC, PARTS, tmp_path / "history.jsonl").start()
    w.wait_progress(100)
    for node_id in sorted(cluster.nodes):
        code = cluster.nodes[node_id].terminate(timeout=60)
        assert code == 0, f"node {node_id} exited {code} on SIGTERM: {cluster.nodes[node_id].tail()}"
        cluster.restart(node_id)
        if RF > 1:
            cluster.wait_full_isr(TOPIC, PARTS, timeout=90)
        else:
            cluster.leader_of(TOPIC, 0)
        w.wait_progress(50)
    _assert_valid(w.finish())


@pytest.mark.timeout(600)
def test_full_cluster_crash_and_restart(cluster, tmp_path):
    w = Workload(cluster, TOPIC, PARTS, tmp_path / "history.jsonl").start()
    w.wait_progress(300)
    for n in cluster.nodes.values():
        n.kill9()
    time.sleep(1)
    for n in cluster.nodes.values():
        n.spawn()
    for node_id, n in cluster.nodes.items():
        assert n.wait_ready_or_exit(60) is None, f"node {node_id} did not come back: {n.tail()}"
    cluster.wait_for_leader()
    if RF > 1:
        cluster.wait_full_isr(TOPIC, PARTS, timeout=120)
    w.wait_progress(100, timeout=120)
    _assert_valid(w.finish())
