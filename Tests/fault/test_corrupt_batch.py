"""A damaged batch header in an older segment is reported, never skipped (issue 9 item 3).

A batch length overwritten with 7 in a non-active segment once made Fetch answer NONE with
the batches of the next segment, so librdkafka jumped from 1499 to 2010 and nothing was
logged. Kafka answers CORRUPT_MESSAGE (2) and logs it; so must we, with the partition, the
segment file, the byte position and what is wrong. Everything before the damage stays
readable, and so is every later segment (by offset)."""

from __future__ import annotations

import json
import struct

import kafka_wire
from conftest import assert_all_acked_readable, faultcheck
from helpers import create_topic

CORRUPT_MESSAGE = 2


def _batches(path):
    """(position, base offset, batch length) of every batch in a segment file."""
    data = path.read_bytes()
    pos, out = 0, []
    while pos + 12 <= len(data):
        base, length = struct.unpack(">qi", data[pos:pos + 12])
        out.append((pos, base, length))
        pos += 12 + length
    return out


def test_corrupt_batch_header_in_old_segment_is_reported(make_broker, tmp_path):
    broker = make_broker()
    broker.start()
    create_topic(broker, "damaged", partitions=1, config={"segment.bytes": "16384"})
    acks = tmp_path / "acks.jsonl"
    r = faultcheck.produce(broker.bootstrap, "damaged", str(acks), count=3000, partitions=1,
                           value_size=60, prefix="dmg",
                           extra_config={"linger.ms": 0, "batch.num.messages": 10})
    print(r.summary())
    assert r.acked == 3000, r.summary()
    assert broker.terminate() == 0

    part = broker.log_dir / "damaged-0"
    segments = sorted(part.glob("*.log"))
    assert len(segments) >= 3, f"want several segments: {segments}"
    victim = segments[1]            # an older, non-active segment
    next_base = int(segments[2].stem)
    batches = _batches(victim)
    assert len(batches) >= 4
    pos, corrupt_base, _ = batches[2]
    with open(victim, "r+b") as f:   # the batch length field: bytes 8..11 of the batch
        f.seek(pos + 8)
        f.write(struct.pack(">i", 7))
    broker.start()                  # clean shutdown before: no recovery, the damage stays

    with kafka_wire.Connection(broker.bootstrap) as c:
        error, _, got = c.fetch("damaged", 0, corrupt_base)
        assert error == CORRUPT_MESSAGE, \
            f"fetch at the damaged batch: error {error}, batches from {[b.base_offset for b in got][:3]}"
        # Before the damage: data, no error, and nothing at or past the damaged batch.
        error, _, got = c.fetch("damaged", 0, batches[0][1])
        assert error == 0 and got, error
        assert max(b.base_offset + b.last_offset_delta for b in got) < corrupt_base
        # Later segments are intact and readable by offset.
        error, _, got = c.fetch("damaged", 0, next_base)
        assert error == 0 and got and got[0].base_offset == next_base

    out = broker.run_output()
    assert "damaged-0" in out and victim.name in out and f"at byte {pos}" in out, \
        f"the broker log does not name the partition, file and position:\n{out[-3000:]}"

    # Every acknowledged record outside the damaged segment reads back at its offset.
    readable = tmp_path / "readable.jsonl"
    with open(acks) as src, open(readable, "w") as dst:
        for line in src:
            if json.loads(line)["o"] < corrupt_base:
                dst.write(line)
    assert_all_acked_readable(broker.bootstrap, readable, minimum=100)
