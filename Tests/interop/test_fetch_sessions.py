"""Incremental fetch sessions (KIP-227) with a real client that uses them: kafka-python 3.0's
consumer opens a session with a full fetch (epoch 0) and then sends incremental fetches
(only changed partitions; the broker answers only partitions with news). librdkafka sends
sessionless fetches, so this is the interop check of the session path.

Own broker with metrics (own_broker.OwnBroker), so the FetchSessionCache gauges show that the
consumer's session exists; kafka-python's own log must not report a session the broker
refused or an invalid incremental response (it would fall back to full fetches silently).
"""

from __future__ import annotations

import logging
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from own_broker import OwnBroker, free_port
from test_metrics import scrape, value


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_kafka_python_consumes_through_an_incremental_session(tmp_path):
    mport = free_port()
    broker = OwnBroker(tmp_path, extra={"metrics.listener": f"http://127.0.0.1:{mport}", "num.partitions": "6"})
    broker.start()
    log = logging.getLogger("kafka.consumer.fetcher")
    cap = Capture()
    log.addHandler(cap)
    old_level = log.level
    log.setLevel(logging.DEBUG)
    try:
        topic, partitions = "sessions", 6
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest",
                                 enable_auto_commit=False, fetch_max_wait_ms=100)
        # Create the topic (auto-create on metadata) and assign every partition.
        producer.send(topic, value=b"w0-0", partition=0).get(timeout=30)
        consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
        got: dict[int, list[bytes]] = {p: [] for p in range(partitions)}
        sent: dict[int, list[bytes]] = {p: [] for p in range(partitions)}
        sent[0].append(b"w0-0")
        # Waves: each touches a few partitions, so most incremental answers carry a subset.
        for wave in range(1, 13):
            for i in range(5):
                p = (wave + i * (wave % 3 + 1)) % partitions
                v = f"w{wave}-{i}".encode()
                producer.send(topic, value=v, partition=p)
                sent[p].append(v)
            producer.flush(30)
            deadline = time.time() + 20
            while time.time() < deadline and any(len(got[p]) < len(sent[p]) for p in sent):
                for tp, msgs in consumer.poll(timeout_ms=200).items():
                    for m in msgs:
                        assert m.offset == len(got[tp.partition]), f"p{tp.partition}: offset {m.offset}"
                        got[tp.partition].append(m.value)
            assert got == sent, f"wave {wave}: read {got}, sent {sent}"
            if wave == 6:
                samples = scrape(mport)
                assert value(samples, "kafka_server_fetchsessioncache_numincrementalfetchsessions") >= 1
                assert value(samples, "kafka_server_fetchsessioncache_numincrementalfetchpartitionscached") >= partitions
        consumer.close()
        producer.close()
        text = "\n".join(cap.lines)
        assert "created a new incremental fetch session" in text, text[-3000:]
        assert "incremental fetch response for session" in text, text[-3000:]
        for bad in ("unable to process the fetch request", "invalid full fetch response", "invalid incremental fetch response"):
            assert bad not in text, f"kafka-python logged '{bad}':\n{text[-3000:]}"
    finally:
        log.removeHandler(cap)
        log.setLevel(old_level)
        broker.stop()
