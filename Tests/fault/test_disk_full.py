"""A full disk (issue 9 item 6): the broker stops non-zero with a clear line, loses nothing
acknowledged, and a restart once there is space again recovers everything, consumer groups
included.

log.dirs lives on a 16 MiB tmpfs (needs root and permission to mount; skipped with the reason
otherwise). A producer (acks=all, idempotent) writes until the disk is full, recording every
acknowledgement; the broker must exit non-zero, name ENOSPC in words ("No space left on
device"), and not claim "Shut down cleanly". Then the tmpfs is remounted larger (its files
stay), the broker restarts, every acknowledged record reads back, and the group that committed
before the failure still has its offsets and can commit again (no COORDINATOR_NOT_AVAILABLE)."""

from __future__ import annotations

import subprocess
import time

import pytest
from confluent_kafka import Consumer, TopicPartition

from conftest import assert_all_acked_readable, faultcheck
from helpers import create_topic


@pytest.fixture
def small_tmpfs(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        reason = f"cannot mount a tmpfs here (need root and CAP_SYS_ADMIN): {p.stderr.strip()}"
        print(reason)
        pytest.skip(reason)
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_disk_full_stops_broker_then_recovers(make_broker, small_tmpfs, tmp_path):
    broker = make_broker(log_dir=small_tmpfs / "logs",
                         extra={"log.segment.bytes": "1048576", "offsets.topic.num.partitions": "1"})
    broker.start()
    create_topic(broker, "full", partitions=2)

    group = "disk-full-group"
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition("full", 0, 0), TopicPartition("full", 1, 0)], asynchronous=False)
    c.close()

    acks = tmp_path / "acks.jsonl"
    r = faultcheck.produce(broker.bootstrap, "full", str(acks), until_error=True, partitions=2,
                           value_size=2000, prefix="full", message_timeout_ms=15000,
                           stop=lambda: broker.proc.poll() is not None)
    print(r.summary())
    assert r.acked > 1000, f"too few records before the disk filled: {r.summary()}"

    code = broker.wait_exit(timeout=60)
    out = broker.run_output()
    assert code is not None, f"the broker kept running on a full disk:\n{out[-3000:]}"
    assert code != 0, f"exit code 0 after a storage failure:\n{out[-3000:]}"
    assert "No space left on device" in out, f"no clear reason in the log:\n{out[-3000:]}"
    assert "Shut down cleanly" not in out, out[-3000:]

    subprocess.run(["mount", "-o", "remount,size=64m", str(small_tmpfs)], check=True)
    broker.start()
    assert_all_acked_readable(broker.bootstrap, acks, minimum=1000)

    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False})
    deadline = time.time() + 30
    while True:
        try:
            got = c.committed([TopicPartition("full", 0), TopicPartition("full", 1)], timeout=10)
            break
        except Exception as e:  # noqa: BLE001 - report what the group coordinator said
            assert time.time() < deadline, f"committed offsets unavailable after the restart: {e}"
            time.sleep(0.5)
    assert [tp.offset for tp in got] == [0, 0], got
    c.commit(offsets=[TopicPartition("full", 0, 5), TopicPartition("full", 1, 7)], asynchronous=False)
    c.close()
