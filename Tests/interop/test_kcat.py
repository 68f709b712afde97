"""kcat (Debian's, librdkafka 2.0.2, against our broker): metadata, produce in every codec,
consume, offset queries. Issue 4 item 5."""

from __future__ import annotations

import time

import pytest

import kafka_wire
from helpers import INTEROP_RF, create_topic, high_watermark, kcat, kcat_metadata, run

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def test_metadata_lists_broker_and_partitions(broker, topic_name):
    create_topic(broker, topic_name, partitions=3)
    md = kcat_metadata(broker, topic_name)
    host, port = broker.bootstrap.rsplit(":", 1)
    brokers = {b["id"]: b["name"] for b in md["brokers"]}
    assert f"{host}:{port}" in brokers.values(), md["brokers"]
    (topic,) = md["topics"]
    assert topic["topic"] == topic_name
    assert "error" not in topic, topic
    parts = sorted(topic["partitions"], key=lambda p: p["partition"])
    assert [p["partition"] for p in parts] == [0, 1, 2]
    rf = INTEROP_RF if broker.is_samsa else 1
    for p in parts:
        assert p["leader"] in brokers, p
        replicas = [r["id"] for r in p["replicas"]]
        isr = [r["id"] for r in p["isrs"]]
        assert len(set(replicas)) == rf and p["leader"] in replicas, p
        assert p["leader"] in isr and set(isr) <= set(replicas), p
        if rf == 1:
            assert replicas == isr == [p["leader"]], p


def _payload(i: int) -> str:
    # Repetitive enough that every codec really shrinks it, distinct per record.
    return f"value-{i:05d}-" + "abcdefgh" * 12


@pytest.mark.parametrize("codec", CODECS)
def test_produce_and_consume_each_codec(broker, topic_name, codec):
    partitions, count = 3, 600
    create_topic(broker, topic_name, partitions=partitions)
    lines = "".join(f"key-{i % 40:02d}:{_payload(i)}\n" for i in range(count)).encode()
    kcat(broker, "-P", "-t", topic_name, "-K", ":", "-z", codec, "-X", "linger.ms=20", input=lines)

    out = kcat(broker, "-C", "-t", topic_name, "-o", "beginning", "-e", "-q",
               "-f", "%p\t%o\t%k\t%s\n").stdout.decode()
    rows = [line.split("\t") for line in out.splitlines()]
    assert len(rows) == count, f"consumed {len(rows)} of {count}"
    # Every record exactly once with its own key.
    values = sorted(int(v.split("-")[1]) for _, _, _, v in rows)
    assert values == list(range(count))
    per_partition: dict[int, list[tuple[int, int]]] = {}
    key_partition: dict[str, int] = {}
    for p, o, k, v in rows:
        i = int(v.split("-")[1])
        assert k == f"key-{i % 40:02d}" and v == _payload(i)
        # The same key always lands on the same partition.
        assert key_partition.setdefault(k, int(p)) == int(p), f"key {k} on two partitions"
        per_partition.setdefault(int(p), []).append((int(o), i))
    # Per partition: offsets 0..n-1 in order, and the produce order kept.
    for p, recs in per_partition.items():
        assert [o for o, _ in recs] == list(range(len(recs))), f"partition {p} offsets"
        seq = [i for _, i in recs]
        assert seq == sorted(seq), f"partition {p} out of produce order"
    # The log holds batches in the codec kcat used (compression.type=producer), CRC intact,
    # and the high watermark is exactly the record count.
    for p in range(partitions):
        n = len(per_partition.get(p, []))
        assert high_watermark(broker, topic_name, p) == n, f"partition {p}: {n} records"
        batches = kafka_wire.fetch_all(broker.bootstrap, topic_name, p, n)
        assert sum(b.record_count for b in batches) == n
        for b in batches:
            assert b.crc_ok, f"partition {p}: batch at {b.base_offset} fails its CRC"
            assert b.codec == codec, f"partition {p}: batch at {b.base_offset} is {b.codec}"


@pytest.mark.tansu_quirk("ListOffsets LATEST returns base offset of the last batch + 1")
def test_offset_queries_latest_and_earliest(broker, topic_name):
    create_topic(broker, topic_name, partitions=1)
    for chunk in range(3):  # three produce requests, so several batches
        kcat(broker, "-P", "-t", topic_name, "-p", "0",
             input="".join(f"r{chunk}-{i}\n" for i in range(7)).encode())
    assert _query(broker, topic_name, 0, -1) == 21
    assert _query(broker, topic_name, 0, -2) == 0


def test_offset_query_by_timestamp(broker, topic_name):
    create_topic(broker, topic_name, partitions=1)
    for chunk in range(3):
        kcat(broker, "-P", "-t", topic_name, "-p", "0",
             input="".join(f"c{chunk}-{i}\n" for i in range(5)).encode())
        time.sleep(0.05)  # distinct CreateTime per chunk
    out = kcat(broker, "-C", "-t", topic_name, "-o", "beginning", "-e", "-q", "-f", "%o %T\n").stdout
    stamps = [tuple(map(int, line.split())) for line in out.decode().splitlines()]
    assert [o for o, _ in stamps] == list(range(15))
    # Kafka answers the first record whose timestamp is >= the target, inside a batch too.
    # Tansu answers at batch granularity (the base offset of the first batch whose max
    # timestamp is >= the target), so against it only each chunk's first timestamp, a batch
    # boundary, has a defined answer: records within one kcat batch can differ by a ms.
    targets = {ts for _, ts in stamps} if broker.is_samsa else {stamps[c * 5][1] for c in range(3)}
    for target in sorted(targets):
        expected = min(o for o, ts in stamps if ts >= target)
        assert _query(broker, topic_name, 0, target) == expected, f"timestamp {target}"
    # A timestamp after every record: Kafka answers offset -1 (no such record); Tansu says 0.
    if broker.is_samsa:
        assert _query(broker, topic_name, 0, stamps[-1][1] + 60_000) == -1


def _query(broker, topic: str, partition: int, ts: int) -> int:
    out = kcat(broker, "-Q", "-t", f"{topic}:{partition}:{ts}").stdout.decode()
    # "<topic> [<p>] offset <n>"
    line = [x for x in out.splitlines() if " offset " in x]
    assert line, out
    return int(line[0].rsplit(" ", 1)[1])


def test_produce_to_auto_created_topic_through_every_broker(broker, topic_name):
    """kcat produces to a topic that does not exist yet, bootstrapping from each broker in turn:
    the broker auto-creates it (auto.create.topics.enable) and the message is delivered. On a
    cluster the broker asked is often not the controller: it answered UNKNOWN_TOPIC_OR_PARTITION
    until it had applied the new topic, and librdkafka then failed the message after
    topic.metadata.propagation.max.ms instead of retrying."""
    md = kcat_metadata(broker)
    addresses = sorted(b["name"] for b in md["brokers"])
    for i, address in enumerate(addresses):
        name = f"{topic_name}-{i}"
        run([broker.kcat, "-b", address, "-P", "-t", name, "-X", "message.timeout.ms=20000"],
            input=f"auto-{i}\n".encode(), timeout=60)
        got = run([broker.kcat, "-b", address, "-C", "-t", name, "-o", "beginning", "-e", "-q", "-c", "1"],
                  timeout=60)
        assert got.stdout.decode().strip() == f"auto-{i}", (address, got.stdout)
