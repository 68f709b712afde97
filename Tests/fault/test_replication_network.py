"""Issue 12 item 7, network faults: a follower cut off from its leader, and a partition leader
cut off from the controller quorum, on the 3-node cluster of test_replication_faults.py.

Loopback only (every node on 127.0.0.1): each node runs in its own cgroup v2 and iptables'
cgroup match drops what that one node sends to chosen ports (replication_harness.NetFaults),
so a node can be isolated from one service of another node while clients still reach every
node. Needs root, iptables with the cgroup match and a writable cgroup2 mount; on a machine
without them these tests are skipped with the reason (the process faults of
test_replication_faults.py still run).

Expected (kafka-replication-notes.md §5.7 D):
* follower cut off: the ISR shrinks after replica.lag.time.max.ms (5 s here), acks=all writes
  continue with 2 in-sync replicas (min.insync.replicas=2), and after healing the follower
  catches up and is back in the ISR;
* leader cut off from the controllers: it is fenced after broker.session.timeout.ms, a new
  leader comes from the ISR, writes continue there, and the cut-off leader, which still
  believes it leads, acknowledges nothing (its followers left it); after healing it learns
  the new epoch, truncates what it appended alone and rejoins.
Both end with the checker.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from own_broker import samsa_bin
from replication_harness import RF, SESSION_MS, NetFaults, ReplCluster, Workload

TOPIC, PARTS = "repl-net", 3
LAG_MS = 5000

WHY_NOT = NetFaults.available()
pytestmark = pytest.mark.skipif(WHY_NOT is not None, reason=f"network faults need root+iptables+cgroup2: {WHY_NOT}")


@pytest.fixture
def net_cluster(tmp_path):
    c = ReplCluster(tmp_path / "cluster", extra={"replica.lag.time.max.ms": str(LAG_MS)})
    net = NetFaults(c)
    try:
        c.start()
        c.wait_for_leader()
        c.create_topic(TOPIC, PARTS)
        yield c, net
    finally:
        try:
            net.heal()
        finally:
            c.stop()
            net.close()


def _isr(cluster, part):
    return cluster.partitions(TOPIC).get(part, (None, [], []))[2]


@pytest.mark.timeout(600)
@pytest.mark.skipif(RF < 3, reason="a follower needs replication factor 3")
def test_follower_cut_off_from_leader(net_cluster, tmp_path):
    cluster, net = net_cluster
    w = Workload(cluster, TOPIC, PARTS, tmp_path / "history.jsonl").start()
    w.wait_progress(100)
    leader = cluster.leader_of(TOPIC, 0)
    _, replicas, _ = cluster.partitions(TOPIC)[0]
    follower = next(r for r in replicas if r != leader)
    t_cut = time.time()
    net.drop(follower, [cluster.nodes[leader].port])
    deadline = time.time() + LAG_MS / 1000 + 60
    while follower in _isr(cluster, 0):
        assert time.time() < deadline, f"follower {follower} still in the ISR {_isr(cluster, 0)} " \
                                       f"{time.time() - t_cut:.0f}s after it was cut off"
        time.sleep(0.2)
    shrink_s = time.time() - t_cut
    # With 2 in-sync replicas (= min.insync.replicas) acks=all writes go on.
    w.wait_progress(200)
    net.heal()
    t_heal = time.time()
    rejoin_s = cluster.wait_full_isr(TOPIC, PARTS, timeout=90)
    print(f"follower {follower} cut off from leader {leader}: out of the ISR after {shrink_s:.1f}s "
          f"(replica.lag.time.max.ms {LAG_MS}), back {rejoin_s:.1f}s after healing")
    w.wait_progress(100)
    v = w.finish()
    assert v.ok >= 300 and v.valid, v.summary()
    assert time.time() - t_heal < 200


@pytest.mark.timeout(600)
@pytest.mark.skipif(RF < 3, reason="failover needs replication factor 3")
def test_leader_cut_off_from_controllers(net_cluster, tmp_path):
    cluster, net = net_cluster
    quorum_leader, _ = cluster.wait_for_leader()
    parts = cluster.partitions(TOPIC)
    part = next((p for p, (l, _, _) in sorted(parts.items()) if l != quorum_leader), None)
    assert part is not None, f"every partition is led by the active controller {quorum_leader}: {parts}"
    leader = parts[part][0]
    w = Workload(cluster, TOPIC, PARTS, tmp_path / "history.jsonl").start()
    w.wait_progress(100)
    others = [n for i, n in cluster.nodes.items() if i != leader]
    t0 = time.monotonic()
    net.drop(leader, [n.controller_port for n in others])
    new_leader = cluster.leader_of(TOPIC, part, not_node=leader, timeout=SESSION_MS / 1000 + 60)
    took = w.first_ack_after(part, t0)
    print(f"leader {leader} of p{part} cut off from the controllers: new leader {new_leader}; next acks=all "
          f"produce {took:.1f}s after the cut (broker.session.timeout.ms {SESSION_MS})")
    # Keep it cut off for a while: clients with stale metadata may still write to it.
    time.sleep(SESSION_MS / 1000)
    net.heal()
    cluster.wait_full_isr(TOPIC, PARTS, timeout=120)
    w.wait_progress(100)
    v = w.finish()
    assert v.ok >= 300 and v.valid, v.summary()


def _quorum_via(node, timeout: float = 10) -> dict | None:
    """DescribeQuorum through one broker (`samsa cluster describe --output json`), or None."""
    try:
        out = subprocess.run([samsa_bin(), "cluster", "describe", "--bootstrap-server", node.bootstrap, "--output", "json"],
                             capture_output=True, text=True, timeout=timeout + 5)
    except subprocess.TimeoutExpired:
        return None   # forwarded to a controller that does not answer (yet)
    if out.returncode != 0:
        return None
    try:
        return json.loads(out.stdout).get("quorum")
    except json.JSONDecodeError:
        return None


def _topic_known(node, topic: str) -> bool:
    try:
        out = subprocess.run([samsa_bin(), "topic", "describe", topic, "--bootstrap-server", node.bootstrap, "--output", "json"],
                             capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return False
    return out.returncode == 0 and topic in out.stdout


def _wait(what: str, fn, timeout: float):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"{what} not within {timeout:.0f}s (last: {last})")


@pytest.mark.timeout(600)
def test_active_controller_partitioned_from_the_other_voters(net_cluster, tmp_path):
    """Issue 11, a partitioned network: the active controller is cut off from the two other
    voters both ways (what it sends to their controller ports and what they send to its own).
    The majority elects a new quorum leader; the old one steps down by check-quorum (no
    majority fetched from it within 1.5 x controller.quorum.fetch.timeout.ms), so it never
    commits alone; a topic created through a majority broker during the partition is applied
    by both majority brokers; acks=all writes go on. After healing, the old controller follows
    again and catches up (DescribeQuorum: every voter at lag 0), learns the topic, and the
    checker reads back every acknowledged record.

    Without pre-vote (KIP-996, not built: the specs here have Vote v0-1 only) the cut-off
    node's candidacies raise its epoch, and on healing it forces one more election."""
    cluster, net = net_cluster
    old, old_epoch = cluster.wait_for_leader()
    majority = [n for i, n in cluster.nodes.items() if i != old]
    w = Workload(cluster, TOPIC, PARTS, tmp_path / "history.jsonl").start()
    w.wait_progress(100)
    log_mark = cluster.nodes[old].log_path.stat().st_size
    t0 = time.monotonic()
    net.drop(old, [n.controller_port for n in majority])
    for n in majority:
        net.drop(n.node_id, [cluster.nodes[old].controller_port])

    def new_leader():
        q = _quorum_via(majority[0])
        return q if q and q["leaderId"] not in (-1, old) and q["leaderEpoch"] > old_epoch else None

    q = _wait("a new quorum leader in the majority", new_leader, 90)
    elected = time.monotonic() - t0

    def stepped_down():
        text = cluster.nodes[old].log_path.read_bytes()[log_mark:].decode(errors="replace")
        return "Quorum: Leader -> " in text
    _wait(f"node {old} leaving the leader state while cut off", stepped_down, 60)

    # The majority takes metadata changes during the partition.
    admin = AdminClient({"bootstrap.servers": majority[0].bootstrap})
    admin.create_topics([NewTopic("made-while-split", num_partitions=2, replication_factor=2)])["made-while-split"].result(60)
    for n in majority:
        _wait(f"broker {n.node_id} applying the topic made during the partition", lambda n=n: _topic_known(n, "made-while-split"), 60)
    w.wait_progress(100)
    print(f"node {old} (epoch {old_epoch}) cut off: node {q['leaderId']} leads epoch {q['leaderEpoch']} "
          f"{elected:.1f}s after the cut")

    net.heal()
    old_node = cluster.nodes[old]
    _wait(f"node {old} learning the topic made while it was cut off", lambda: _topic_known(old_node, "made-while-split"), 120)

    def caught_up():
        q2 = _quorum_via(majority[0])
        if not q2 or q2["leaderId"] < 0:
            return None
        voters = [r for r in q2["replicas"] if r.get("isVoter")]
        return q2 if len(voters) == 3 and all(r["lag"] == 0 for r in voters) else None
    q2 = _wait("every voter caught up after healing", caught_up, 120)
    print(f"healed: node {q2['leaderId']} leads epoch {q2['leaderEpoch']}, every voter at lag 0")
    cluster.wait_full_isr(TOPIC, PARTS, timeout=120)
    w.wait_progress(100)
    v = w.finish()
    assert v.ok >= 300 and v.valid, v.summary()
