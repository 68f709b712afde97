"""Outgoing node-to-node TLS picks up renewed certificates without a restart.

Three combined KRaft nodes on `CONTROLLER:SSL` with client certificates required (the setup of
test_controller_tls.py). The operator renews every node's key store and trust store IN PLACE to
a NEW CA. Within the 5 s check every node reloads its listener AND the client TLS its Raft
transport and controller channel connect with (one log line each). Then:

1. one follower X is restarted (it now trusts only the new CA and presents a new-CA certificate:
   its own outgoing connections work on any build, as the others' listeners reloaded);
2. the quorum leader L is killed (-9), so X and the third node Y must make the quorum alone;
3. a topic is created: the new controller must commit, which needs the other voter to fetch
   from it.

Whichever of X and Y wins the election, Y has to open NEW connections to X (Y's Vote request to
X for Y to win; Y's fetches and controller channel to X when X wins): X's listener was started from the new
files, so it presents a new-CA certificate and requires a new-CA client certificate. Before this
change Y's outgoing connections were built once at start-up (old-CA client certificate, only the
old CA trusted): those handshakes fail both ways, Y never fetches from X, nothing commits and the
topic is never created. Checked against that build (the watcher not reloading the client TLS):
Y logs CERTIFICATE_VERIFY_FAILED connecting to X, X logs TLSV1_ALERT_UNKNOWN_CA, X wins an
election, resigns when Y never fetches, and elections repeat: no leader is reported within 30 s.
Established connections are not needed to fail for this: Y's connections to X are new because X
restarted.
"""

from __future__ import annotations

from confluent_kafka.admin import AdminClient, NewTopic

from own_cluster import OwnCluster
from test_controller_tls import controller_ssl, make_pki, wait_for

CLIENT_RELOAD = "Reloaded the client TLS of the controller connections"
LISTENER_RELOAD = "Listener CONTROLLER: reloaded its TLS key store and trust store"


def renew_to_new_ca(pki):
    """A new CA and a node certificate it signed, written over ca.pem and node-keystore.pem in place."""
    new = pki / "renewed"
    make_pki(new)
    for name in ("ca.pem", "node-keystore.pem"):
        with open(pki / name, "r+b") as f:   # same inode: an in-place rewrite, as `cp new old` does
            f.truncate(0)
            f.write((new / name).read_bytes())


def test_renewed_ca_reaches_new_outgoing_controller_connections(tmp_path):
    pki = tmp_path / "pki"
    make_pki(pki)
    cluster = OwnCluster(tmp_path / "cluster", controllers=3, combined=True, extra=controller_ssl(pki))
    try:
        cluster.start()
        leader, _ = cluster.wait_for_leader(timeout=30)
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})
        wait_for("three registered brokers", lambda: sorted(admin.list_topics(timeout=10).brokers) == [1, 2, 3], timeout=30)

        renew_to_new_ca(pki)
        for n in cluster.nodes.values():
            wait_for(f"node {n.node_id} reloads its listener and client TLS",
                     lambda n=n: CLIENT_RELOAD in n.run_output() and LISTENER_RELOAD in n.run_output(), timeout=15)
            out = n.run_output()
            assert out.count(CLIENT_RELOAD) == 1, "one log line per reload"
            assert "cannot be used, keeping the previous ones" not in out

        x, y = [i for i in cluster.voter_ids if i != leader]
        y_mark = len(cluster.nodes[y].run_output())
        cluster.nodes[x].terminate()
        cluster.nodes[x].spawn()
        assert cluster.nodes[x].wait_ready_or_exit(30) is None, cluster.nodes[x].tail()
        # kill -9, not a graceful stop: a leader shutting down still grants its vote, which let
        # Y win the election without X and hid the broken direction.
        cluster.nodes[leader].kill9()

        new_leader, _ = cluster.wait_for_leader(not_node=leader, timeout=30)
        assert new_leader in (x, y)
        survivors = AdminClient({"bootstrap.servers": cluster.bootstrap()})

        def create():
            try:
                survivors.create_topics([NewTopic("after-renewal", 1, 2)], request_timeout=10)["after-renewal"].result(timeout=15)
            except Exception as e:  # noqa: BLE001 - retried until the bound
                if "TOPIC_ALREADY_EXISTS" not in str(e):
                    raise
            return True
        wait_for("a topic created by the quorum of the restarted node and a node that only reloaded", create, timeout=30)
        assert "after-renewal" in survivors.list_topics(timeout=10).topics
        # Y's handshakes with X succeeded: no verification failure in Y's log since the reload.
        assert "CERTIFICATE_VERIFY_FAILED" not in cluster.nodes[y].run_output()[y_mark:]
    finally:
        cluster.stop()
