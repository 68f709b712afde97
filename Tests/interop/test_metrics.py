"""Issue 15: the broker's Prometheus endpoint (metrics.listener), scraped with the
prometheus_client text parser while confluent-kafka produces and consumes, plus the console
reading the same endpoint (`samsa console --once --metrics`).

Each test runs its own broker (own_broker.OwnBroker) so the counters start at zero and move
only with this test's traffic.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from confluent_kafka import Consumer, Producer
from prometheus_client.parser import text_string_to_metric_families

from own_broker import OwnBroker, free_port, samsa_bin


def scrape(port: int) -> dict:
    """name -> list of (labels, value) for every sample, through prometheus_client's parser."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = r.read().decode()
    out: dict = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def value(samples: dict, name: str, **labels) -> float:
    """The one sample of `name` whose labels include `labels` (0 if absent)."""
    found = [v for (l, v) in samples.get(name, []) if all(l.get(k) == str(w) for k, w in labels.items())]
    assert len(found) <= 1, f"{name}{labels}: {found}"
    return found[0] if found else 0.0


@pytest.fixture
def metrics_broker(tmp_path):
    mport = free_port()
    broker = OwnBroker(tmp_path, extra={"metrics.listener": f"http://127.0.0.1:{mport}"})
    broker.start()
    broker.metrics_port = mport
    yield broker
    broker.stop()


def test_counters_move_by_the_traffic_sent(metrics_broker):
    b, mport = metrics_broker, metrics_broker.metrics_port
    topic = "metrics-e2e"
    before = scrape(mport)
    assert value(before, "kafka_server_brokertopicmetrics_messagesin_total", topic=topic) == 0
    assert value(before, "kafka_server_app_info_start_time_ms", id=1) > 1.6e12

    n, size = 200, 100
    p = Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 5, "compression.type": "none",
                  "enable.idempotence": False, "acks": "all"})
    for i in range(n):
        p.produce(topic, key=f"k{i}".encode(), value=bytes([65 + i % 26]) * size)
    assert p.flush(30) == 0

    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "metrics-e2e", "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([topic])
    got = 0
    deadline = time.time() + 30
    while got < n and time.time() < deadline:
        m = c.poll(1.0)
        if m is not None and m.error() is None:
            got += 1
    c.close()
    assert got == n

    after = scrape(mport)
    # Exactly the records produced (no retries: acks=all on a healthy single node).
    assert value(after, "kafka_server_brokertopicmetrics_messagesin_total", topic=topic) == n
    bytes_in = value(after, "kafka_server_brokertopicmetrics_bytesin_total", topic=topic)
    assert n * size < bytes_in < n * (size + 100), bytes_in
    # The consumer read every batch once at least; bytes out covers bytes in.
    assert value(after, "kafka_server_brokertopicmetrics_bytesout_total", topic=topic) >= bytes_in
    # The log holds what was appended: its size equals the bytes in.
    assert value(after, "kafka_log_log_size", topic=topic, partition=0) == bytes_in
    assert value(after, "kafka_log_log_logendoffset", topic=topic, partition=0) == n
    produce_requests = sum(v for (l, v) in after["kafka_network_requestmetrics_requests_total"] if l["request"] == "Produce")
    assert produce_requests >= 1
    assert value(after, "kafka_server_brokertopicmetrics_totalproducerequests_total", topic=topic) == produce_requests
    # Every produce request answered NONE for its one partition; histograms counted each.
    assert value(after, "kafka_network_requestmetrics_errors_total", request="Produce", error="NONE") == produce_requests
    assert value(after, "kafka_network_requestmetrics_totaltimems_count", request="Produce") == produce_requests
    assert value(after, "kafka_network_requestmetrics_totaltimems_count", request="FetchConsumer") >= 1
    assert value(after, "kafka_log_logflushstats_logflushrateandtimems_count") >= 1, "acks=all flushes are timed"
    assert value(after, "kafka_server_replicamanager_underreplicatedpartitions") == 0
    assert value(after, "kafka_server_replicamanager_leadercount") >= 1
    assert value(after, "kafka_controller_kafkacontroller_activecontrollercount") == 1
    assert value(after, "kafka_coordinator_group_groupmetadatamanager_numgroups") >= 1
    assert value(after, "kafka_server_socket_server_metrics_connection_count", listener="PLAINTEXT") >= 0
    # The network threads' idle fraction since the previous scrape: one per num.network.threads
    # (3 by default), each in [0, 1], and below 1 since they served the traffic above.
    idle = after["kafka_network_processor_idlepercent"]
    assert sorted(l["networkProcessor"] for (l, _) in idle) == ["0", "1", "2"], idle
    assert all(0.0 <= v <= 1.0 for (_, v) in idle), idle
    avg = value(after, "kafka_network_socketserver_networkprocessoravgidlepercent")
    assert 0.0 <= avg < 1.0, avg
    assert abs(avg - sum(v for (_, v) in idle) / 3) < 1e-9

    # The console reads the same endpoint: per-broker rates need two samples.
    out = subprocess.run([samsa_bin(), "console", "--once", "--output", "json", "--samples", "2", "--refresh", "0.5",
                          "--bootstrap-server", b.bootstrap, "--metrics", f"http://127.0.0.1:{mport}"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    snap = json.loads(out.stdout)
    m = snap["brokers"][0]["metrics"]
    assert m["endpoint"] == f"http://127.0.0.1:{mport}/metrics"
    assert m["underReplicated"] == 0
    assert m["requestsPerSecond"] > 0, m   # the console's own requests between its two samples
    assert m.get("produceP99Ms") is None, "no produce requests between the two samples"


def test_unknown_path_and_method(metrics_broker):
    mport = metrics_broker.metrics_port
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"http://127.0.0.1:{mport}/nope", timeout=10)
    assert e.value.code == 404
    req = urllib.request.Request(f"http://127.0.0.1:{mport}/metrics", data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 405


def test_a_metrics_port_in_use_is_a_one_line_startup_error(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        b = OwnBroker(tmp_path, extra={"metrics.listener": f"http://127.0.0.1:{port}"})
        b.spawn()
        code = b.wait_exit(60)
        out = b.run_output()
        b.stop()
    finally:
        taken.close()
    assert code == 1, out
    lines = [l for l in out.splitlines() if "metrics.listener" in l]
    assert len(lines) == 1 and f"http://127.0.0.1:{port}: address already in use" in lines[0], out
