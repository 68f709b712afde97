"""kill -9 with acknowledged records in the log, then a restart: faultcheck reads every
acknowledged record back (issue 9, the fault checker's baseline), also when the partition's
`leader-epoch-checkpoint` is gone or garbled after the crash (issue 9 item 2: that once cut
every partition to nothing and new writes reused offsets 0..299).

The recovery-point checkpoint interval is set to 10 minutes so the restart re-validates every
segment, as after a crash in the first minute of a broker's life."""

from __future__ import annotations

import pytest

from conftest import assert_all_acked_readable, faultcheck
from helpers import create_topic

NO_CHECKPOINTS = {"log.flush.offset.checkpoint.interval.ms": "600000"}


def _produce(broker, topic, acks, count, prefix, partitions=3):
    r = faultcheck.produce(broker.bootstrap, topic, str(acks), count=count, partitions=partitions,
                           prefix=prefix)
    print(r.summary())
    assert r.acked == count and not r.errors, r.summary()


def test_kill9_then_restart_keeps_every_ack(make_broker, tmp_path):
    broker = make_broker(extra=NO_CHECKPOINTS)
    broker.start()
    create_topic(broker, "k9", partitions=3)
    acks = tmp_path / "acks.jsonl"
    _produce(broker, "k9", acks, 3000, "run1")
    broker.kill9()
    broker.start()
    # Later appends get fresh offsets (a reused offset with other data fails the check).
    _produce(broker, "k9", acks, 300, "run2")
    assert_all_acked_readable(broker.bootstrap, acks, minimum=3300)


@pytest.mark.parametrize("damage", ["missing", "garbage", "empty"])
def test_kill9_then_leader_epoch_checkpoint_lost(make_broker, tmp_path, damage):
    broker = make_broker(extra=NO_CHECKPOINTS)
    broker.start()
    create_topic(broker, "epochs", partitions=3)
    acks = tmp_path / "acks.jsonl"
    _produce(broker, "epochs", acks, 3000, "run1")
    broker.kill9()
    damaged = 0
    for part in range(3):
        path = broker.log_dir / f"epochs-{part}" / "leader-epoch-checkpoint"
        assert path.exists(), f"{path} missing before the test damaged it"
        if damage == "missing":
            path.unlink()
        elif damage == "garbage":
            path.write_bytes(b"\x00\x17garbage\nnot a checkpoint\n")
        else:
            path.write_bytes(b"")
        damaged += 1
    assert damaged == 3
    broker.start()
    out = broker.run_output()
    assert "truncated" not in out, f"recovery cut data:\n{out[-3000:]}"
    if damage == "garbage":
        # A malformed file is reported, naming it, and then ignored.
        assert "leader-epoch-checkpoint" in out, f"no warning naming the malformed file:\n{out[-3000:]}"
    _produce(broker, "epochs", acks, 300, "run2")
    assert_all_acked_readable(broker.bootstrap, acks, minimum=3300)
    # And after a normal restart, too (the cache rebuilt from the batches was written back).
    assert broker.terminate() == 0
    broker.start()
    assert_all_acked_readable(broker.bootstrap, acks, minimum=3300)
