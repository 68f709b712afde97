"""Issue 9 item 4: a compacted topic cleaned many times stays small and a real librdkafka
consumer (Debian's kcat, librdkafka 2.0.2) reads it from the beginning without errors.

Before the fix every cleaning pass kept the last emptied batch of each segment group and
copied every earlier empty batch again, so empty batches piled up and whole segments held
nothing else. A Fetch answer made only of record-less batches is, to librdkafka, a sign that
its fetch size is too small: it doubles the size, and once that reached 1 GiB it reported
`MSG_SIZE_TOO_LARGE` ("Message at offset N might be too large to fetch") on every further
such answer (rdkafka_msgset_reader.c, rd_kafka_msgset_reader_run).

Idempotent producers, one per round, as short-lived Java/Samsa clients are: each producer's
last batch legitimately survives as an empty batch (Kafka's RETAIN_EMPTY, while the producer
is within producer.id.expiration.ms), so the read path must not answer with those alone either.
"""

from __future__ import annotations

import time

from confluent_kafka import Producer

from helpers import create_topic, run

ROUNDS = 40
KEYS = 30


def _segment_files(broker, topic):
    return sorted(p.name for p in (broker.log_dir / f"{topic}-0").glob("*.log"))


def test_kcat_reads_a_many_times_compacted_topic(make_broker):
    broker = make_broker(extra={"log.cleaner.backoff.ms": "100"})
    broker.start()
    topic = "changelog"
    create_topic(broker, topic, partitions=1, config={
        "cleanup.policy": "compact", "segment.bytes": "600",
        "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "100"})
    latest: dict[str, str] = {}
    for rnd in range(ROUNDS):
        p = Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": True,
                      "linger.ms": 0, "batch.num.messages": 1})
        errors = []
        for k in range(KEYS):
            key, value = f"key{k:02d}", f"round{rnd:02d}-value{k:02d}"
            p.produce(topic, key=key, value=value, partition=0,
                      on_delivery=lambda err, msg: errors.append(err) if err else None)
            p.flush(10)          # one batch per record, so cleaning has batches to empty
            latest[key] = value
        assert not errors, errors
        time.sleep(0.3)          # let the cleaner run (log.cleaner.backoff.ms=100)
    time.sleep(1.5)
    segments = _segment_files(broker, topic)
    print(f"{len(segments)} segments after {ROUNDS} rounds of {KEYS} keys")

    out = run(["kcat", "-C", "-b", broker.bootstrap, "-t", topic, "-p", "0", "-o", "beginning", "-e",
               "-f", "%k=%s\\n", "-X", "fetch.wait.max.ms=50"], timeout=120, check=False)
    stderr = out.stderr.decode(errors="replace")
    assert out.returncode == 0, stderr[-2000:]
    assert "MSG_SIZE_TOO_LARGE" not in stderr and "too large" not in stderr, stderr[-2000:]
    seen: dict[str, str] = {}
    for line in out.stdout.decode().splitlines():
        k, _, v = line.partition("=")
        seen[k] = v
    assert seen == latest, "the latest value of every key must still be readable"
    # Live data is KEYS records of ~70 bytes: a handful of 600-byte segments plus the dirty tail
    # the cleaner has not reached yet (16 seen), not hundreds.
    assert len(segments) <= 40, segments
