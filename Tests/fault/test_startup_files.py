"""Smaller start-up faults (issue 9 item 8): Kafka's `log.cleaner.*` keys are accepted, a
`log.dirs` path whose parent does not exist is created (not "cannot lock"), and a restart of
a broker with idle (empty) partitions rewrites no `leader-epoch-checkpoint` (on a full disk
that rewrite failed on its `.tmp` file)."""

from __future__ import annotations

from conftest import assert_all_acked_readable, faultcheck
from helpers import create_topic

CLEANER_KEYS = {
    "log.cleaner.enable": "true",
    "log.cleaner.threads": "1",
    "log.cleaner.io.max.bytes.per.second": "1.7976931348623157E308",
    "log.cleaner.dedupe.buffer.size": "134217728",
    "log.cleaner.io.buffer.size": "524288",
    "log.cleaner.io.buffer.load.factor": "0.9",
    "log.cleaner.backoff.ms": "15000",
    "log.cleaner.min.cleanable.ratio": "0.5",
    "log.cleaner.min.compaction.lag.ms": "0",
    "log.cleaner.max.compaction.lag.ms": "9223372036854775807",
    "log.cleaner.delete.retention.ms": "86400000",
}


def test_cleaner_keys_and_missing_parent_dir(make_broker, tmp_path):
    log_dir = tmp_path / "does" / "not" / "exist" / "logs"
    broker = make_broker(log_dir=log_dir, extra=CLEANER_KEYS)
    log_dir.rmdir()  # OwnBroker made it; the broker must create it and its parents itself
    (tmp_path / "does").rename(tmp_path / "gone")
    broker.start()
    out = broker.run_output()
    for key in CLEANER_KEYS:
        assert key not in out, f"{key} reported at start-up:\n{out[-2000:]}"
    assert log_dir.is_dir()
    acks = tmp_path / "acks.jsonl"
    create_topic(broker, "t", partitions=1)
    r = faultcheck.produce(broker.bootstrap, "t", str(acks), count=100, partitions=1)
    assert r.acked == 100, r.summary()
    assert_all_acked_readable(broker.bootstrap, acks, minimum=100)


def test_restart_rewrites_no_epoch_checkpoint_of_idle_partitions(make_broker, tmp_path):
    broker = make_broker()
    broker.start()
    create_topic(broker, "idle", partitions=4)
    create_topic(broker, "busy", partitions=1)
    acks = tmp_path / "acks.jsonl"
    r = faultcheck.produce(broker.bootstrap, "busy", str(acks), count=200, partitions=1)
    assert r.acked == 200, r.summary()
    assert broker.terminate() == 0
    # The metadata log (__cluster_metadata-0) is the quorum's: each start of a single voter
    # begins a new leader epoch (Raft), so its checkpoint rightly changes. Partitions only here.
    paths = sorted(p for p in broker.log_dir.glob("*/leader-epoch-checkpoint")
                   if p.parent.name != "__cluster_metadata-0")
    assert len(paths) >= 5, paths
    # A rewrite is temp file + rename: a new inode. None may appear.
    before = {p: (p.stat().st_ino, p.read_text()) for p in paths}
    broker.start()
    assert broker.terminate() == 0
    after = {p: (p.stat().st_ino, p.read_text()) for p in paths}
    changed = [str(p) for p in paths if before[p] != after[p]]
    assert not changed, f"rewritten at start-up: {changed}"
    broker.start()
    assert_all_acked_readable(broker.bootstrap, acks, minimum=200)
