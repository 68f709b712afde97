"""A restart under a low open-file limit must never delete data (issue 9 item 1).

150 partitions with several segments each, a clean stop, then a restart under
`ulimit -n 256` (RLIMIT_NOFILE soft = hard = 256, set in the child like a subshell's ulimit):
rebuilding producer state opens every older segment, which once hit EMFILE, left those
partitions unhosted, and `KafkaBroker` then deleted them as "Removing stray log" (10,710 of
13,500 acknowledged records gone after the next normal restart).

Either outcome of the limited run is acceptable: the broker serves every partition (a bounded
descriptor cache makes that possible), or it stops non-zero naming the failure. What is never
acceptable: a deleted log, or a partition that reads back short. A normal restart then finds
every acknowledged record."""

from __future__ import annotations

import os

from conftest import assert_all_acked_readable, faultcheck
from helpers import create_topic

PARTITIONS = 150
RECORDS = 13_500


def _segment_files(log_dir) -> dict[str, int]:
    out = {}
    for d in sorted(os.listdir(log_dir)):
        if d.startswith("many-"):
            out[d] = sum(1 for f in os.listdir(log_dir / d) if f.endswith(".log"))
    return out


def test_restart_under_low_nofile_deletes_nothing(make_broker, tmp_path):
    broker = make_broker()
    broker.start()
    create_topic(broker, "many", partitions=PARTITIONS, config={"segment.bytes": "3000"})
    acks = tmp_path / "acks.jsonl"
    r = faultcheck.produce(broker.bootstrap, "many", str(acks), count=RECORDS, partitions=PARTITIONS,
                           value_size=100, prefix="nofile", extra_config={"batch.size": 1400})
    print(r.summary())
    assert r.acked == RECORDS, r.summary()
    assert broker.terminate() == 0
    before = _segment_files(broker.log_dir)
    assert len(before) == PARTITIONS and min(before.values()) >= 3, f"want >= 3 segments each: {before}"

    broker.nofile = 256
    broker.spawn()
    code = broker.wait_ready_or_exit(timeout=60)
    out = broker.run_output()
    assert "Removing stray log" not in out, out[-3000:]
    if code is None:
        # It came up under the limit: then it must serve every record right now.
        assert_all_acked_readable(broker.bootstrap, acks, minimum=RECORDS)
        broker.terminate()
    else:
        assert code != 0, f"exit code 0 after failing to load logs:\n{out[-3000:]}"
        assert "Too many open files" in out, f"no clear reason in the log:\n{out[-3000:]}"
    after = _segment_files(broker.log_dir)
    assert after == before, f"segment files changed under the limit: {before} -> {after}"

    broker.nofile = None
    broker.start()
    assert_all_acked_readable(broker.bootstrap, acks, minimum=RECORDS)
