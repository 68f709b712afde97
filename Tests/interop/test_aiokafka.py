"""aiokafka 0.14: producer and group consumer. Issue 4 item 5."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from helpers import create_topic, high_watermark, read_all


def test_producer(broker, topic_name):
    partitions, count = 2, 200
    create_topic(broker, topic_name, partitions=partitions)

    async def produce():
        # Tansu 0.6.0 answers aiokafka's InitProducerId v0 with UNKNOWN_SERVER_ERROR.
        p = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", compression_type="gzip",
                             enable_idempotence=broker.is_samsa)
        await p.start()
        try:
            return {i: await p.send_and_wait(topic_name, value=f"ai-{i:04d}".encode(), key=f"{i % 5}".encode())
                    for i in range(count)}
        finally:
            await p.stop()

    meta = asyncio.run(asyncio.wait_for(produce(), 120))
    by_partition = read_all(broker, topic_name, partitions, count)
    for part, msgs in by_partition.items():
        for m in msgs:
            i = int(m.value().split(b"-")[1])
            assert (meta[i].partition, meta[i].offset) == (part, m.offset())
            assert m.key() == f"{i % 5}".encode()
        seqs = [int(m.value().split(b"-")[1]) for m in msgs]
        assert seqs == sorted(seqs)
    assert sum(len(v) for v in by_partition.values()) == count


def test_group_consumer(broker, topic_name, group_name):
    partitions, count = 3, 150
    create_topic(broker, topic_name, partitions=partitions)

    async def run():
        p = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
        await p.start()
        try:
            for i in range(count):
                await p.send(topic_name, value=f"{i}".encode(), partition=i % partitions)
            await p.flush()
        finally:
            await p.stop()
        c = AIOKafkaConsumer(topic_name, bootstrap_servers=broker.bootstrap, group_id=group_name,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             session_timeout_ms=6000, heartbeat_interval_ms=500)
        await c.start()
        got: dict[int, list[tuple[int, int]]] = {}
        try:
            while sum(map(len, got.values())) < count:
                batch = await c.getmany(timeout_ms=1000)
                for tp, msgs in batch.items():
                    got.setdefault(tp.partition, []).extend((m.offset, int(m.value)) for m in msgs)
            await c.commit()
            committed = {part: await c.committed(TopicPartition(topic_name, part)) for part in range(partitions)}
        finally:
            await c.stop()
        return got, committed

    got, committed = asyncio.run(asyncio.wait_for(run(), 120))
    for part in range(partitions):
        expected = list(range(part, count, partitions))
        assert got[part] == list(enumerate(expected)), f"partition {part}"
        assert committed[part] == len(expected)
        assert high_watermark(broker, topic_name, part) - committed[part] == 0
