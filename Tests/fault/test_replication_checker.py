"""Unit tests of replication_checker.check (no broker): each violation it must find, on a
small hand-made history, and the histories Kafka allows that it must accept."""

from __future__ import annotations

import json

from replication_checker import FAIL, INFO, OK, History, check, from_faultcheck_acks

T = "t"


def send(c, p, o, v, s=OK, t0=None, t1=None):
    return {"e": "send", "c": c, "t": T, "p": p, "o": o, "v": v, "s": s, "t0": t0, "t1": t1}


def poll(c, p, o, v):
    return {"e": "poll", "c": c, "t": T, "p": p, "o": o, "v": v}


def hw(c, p, n, t0, t1):
    return {"e": "hw", "c": c, "t": T, "p": p, "hw": n, "t0": t0, "t1": t1}


def rb(*vals, p=0, start=0):
    return {(T, p): {start + i: v for i, v in enumerate(vals)}}


def test_clean_run_is_valid():
    ev = [send("a", 0, 0, "a-0", t0=0, t1=1), send("a", 0, 1, "a-1", t0=0.5, t1=1.5),
          send("a", 0, None, "a-2", INFO, 1, 2), send("a", 0, None, "a-3", FAIL, 1, 2),
          poll("c", 0, 0, "a-0"), poll("c", 0, 1, "a-1"),
          hw("w", 0, 1, 1.1, 1.2), hw("w", 0, 2, 1.6, 1.7)]
    v = check(ev, rb("a-0", "a-1", "a-2"))
    assert v.valid, v.summary()
    assert (v.sends, v.ok, v.failed, v.info, v.confirmed, v.read) == (4, 2, 1, 1, 2, 3)


def test_lost_acknowledged_write():
    v = check([send("a", 0, 0, "a-0"), send("a", 0, 1, "a-1")], rb("a-0"))
    assert not v.valid and len(v.lost) == 1 and v.lost[0][3] == 1, v.summary()


def test_acknowledged_offset_holding_another_value_is_lost_and_reused():
    v = check([send("a", 0, 0, "a-0"), send("a", 0, 1, "a-1")], rb("a-0", "b-7"))
    assert len(v.lost) == 1 and "holds b-7" in v.lost[0][5]
    assert len(v.reused) == 1, v.summary()


def test_acknowledged_without_offset_found_anywhere_in_partition():
    # The Swift CLI reports success per run, not per record: the value must be somewhere.
    ok = check([send("swift", 0, None, "s-1")], rb("x", "s-1"))
    assert ok.valid and ok.confirmed == 1
    bad = check([send("swift", 0, None, "s-2")], rb("x", "s-1"))
    assert len(bad.lost) == 1
    # Unknown partition too: any partition of the topic will do.
    anyp = check([send("swift", None, None, "s-3")], {**rb("x"), **rb("s-3", p=1)})
    assert anyp.valid, anyp.summary()


def test_offset_reused_across_polls_and_readback():
    # A consumer saw a-1 at offset 1 during the run; after a bad failover offset 1 holds b-1
    # and a-1 (never acknowledged, so not lost) is gone.
    ev = [send("a", 0, None, "a-1", INFO), poll("c", 0, 1, "a-1")]
    v = check(ev, rb("a-0", "b-1"), idempotent=False)
    assert len(v.reused) == 1 and not v.lost, v.summary()


def test_duplicate_only_with_idempotence():
    ev = [send("a", 0, 0, "a-0"), send("a", 0, None, "a-1", INFO)]
    back = rb("a-0", "a-1", "a-1")
    assert len(check(ev, back, idempotent=True).duplicate) == 1
    assert check(ev, back, idempotent=False).valid


def test_read_of_failed_write_is_aborted_read_but_info_may_appear():
    ev = [send("a", 0, None, "a-0", FAIL), send("a", 0, None, "a-1", INFO)]
    v = check(ev, rb("a-0", "a-1"))
    assert len(v.aborted) == 1 and v.aborted[0][3] == "a-0", v.summary()
    v2 = check([send("a", 0, None, "a-0", FAIL), poll("c", 0, 5, "a-0")], rb("z"))
    assert len(v2.aborted) == 1 and v2.aborted[0][4] == "polled"


def test_producer_offsets_going_backwards():
    ev = [send("a", 0, 5, "a-0", t0=0, t1=1), send("a", 0, 3, "a-1", t0=0, t1=2)]
    v = check(ev, {(T, 0): {3: "a-1", 5: "a-0"}})
    assert len(v.producer_order) == 1, v.summary()


def test_realtime_order_across_producers():
    # b started after a's send was acknowledged, yet got a lower offset.
    ev = [send("a", 0, 1, "a-0", t0=0, t1=1), send("b", 0, 0, "b-0", t0=2, t1=3)]
    v = check(ev, rb("b-0", "a-0"))
    assert len(v.realtime) == 1, v.summary()
    # Concurrent sends (b started before a was acknowledged) may land in either order.
    ev2 = [send("a", 0, 1, "a-0", t0=0, t1=1), send("b", 0, 0, "b-0", t0=0.5, t1=3)]
    assert check(ev2, rb("b-0", "a-0")).valid


def test_consumer_offsets_going_backwards_unless_reassigned():
    ev = [poll("c", 0, 0, "a"), poll("c", 0, 1, "b"), poll("c", 0, 1, "b")]
    assert len(check(ev, rb("a", "b")).consumer_order) == 1
    ev2 = [poll("c", 0, 0, "a"), poll("c", 0, 1, "b"),
           {"e": "assign", "c": "c", "t": T, "p": 0}, poll("c", 0, 0, "a")]
    assert check(ev2, rb("a", "b")).valid


def test_high_watermark_going_backwards_in_real_time():
    ev = [hw("w1", 0, 10, 0, 1), hw("w2", 0, 7, 2, 3)]
    v = check(ev, rb())
    assert len(v.hw_backwards) == 1, v.summary()
    # Overlapping requests may be answered from before and after an advance.
    ev2 = [hw("w1", 0, 10, 0, 2), hw("w2", 0, 7, 1, 3)]
    assert check(ev2, rb()).valid


def test_history_file_round_trip_ignores_torn_line(tmp_path):
    path = tmp_path / "h.jsonl"
    h = History(str(path))
    h.send("a", T, 0, 0, "a-0", OK, 0.0, 1.0)
    h.hw("w", T, 0, 1, 1.0, 1.1)
    h.close()
    with open(path, "a") as f:
        f.write('{"e": "send", "c": "a", "t"')  # killed mid-write
    ev = History.load(str(path))
    assert [e["e"] for e in ev] == ["send", "hw"]
    assert check(ev, rb("a-0")).valid


def test_faultcheck_acks_convert(tmp_path):
    path = tmp_path / "acks.jsonl"
    path.write_text(json.dumps({"t": T, "p": 0, "o": 0, "k": "k0", "v": "fc-0"}) + "\n")
    ev = from_faultcheck_acks(str(path))
    assert check(ev, rb("fc-0")).valid
    assert not check(ev, rb("other")).valid


def test_read_back_waits_until_every_broker_names_the_same_leader():
    """wait_for_agreement against three fake brokers answering Metadata v7: a stale one (the
    zombie, still naming itself leader in epoch 0) for its first answers, then the new view;
    one that is down. It must not return while the brokers disagree, and returns the leader
    and epoch they agree on."""
    import socket
    import struct
    import threading

    from kafka_wire import array, i8, i16, i32, string
    from replication_checker import wait_for_agreement

    def metadata_v7(leader: int, epoch: int) -> bytes:
        part = i16(0) + i32(0) + i32(leader) + i32(epoch) + array([i32(1), i32(2), i32(3)]) \
            + array([i32(1), i32(2)]) + array([])
        topic = i16(0) + string(T) + i8(0) + array([part])
        return i32(0) + array([]) + string("c") + i32(1) + array([topic])

    def serve(views):
        """A broker that answers each Metadata request with the next view (the last repeats)."""
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(16)
        answered = []

        def run():
            while True:
                try:
                    conn, _ = srv.accept()
                except OSError:
                    return
                with conn:
                    size = struct.unpack(">i", conn.recv(4))[0]
                    frame = b""
                    while len(frame) < size:
                        frame += conn.recv(size - len(frame))
                    correlation = frame[4:8]
                    leader, epoch = views[min(len(answered), len(views) - 1)]
                    answered.append((leader, epoch))
                    body = correlation + metadata_v7(leader, epoch)
                    conn.sendall(i32(len(body)) + body)

        threading.Thread(target=run, daemon=True).start()
        return srv, answered

    new_a, seen_a = serve([(1, 1)])
    new_b, _ = serve([(1, 1)])
    zombie, seen_z = serve([(3, 0)] * 4 + [(1, 1)])
    down = socket.socket()
    down.bind(("127.0.0.1", 0))  # bound, never listening: connection refused
    addresses = [f"127.0.0.1:{s.getsockname()[1]}" for s in (new_a, new_b, zombie, down)]
    try:
        agreed = wait_for_agreement(",".join(addresses), T, 1, timeout=20)
        assert agreed == {0: (1, 1)}
        # It returned only after the zombie's stale answers: all four, then the new view.
        assert seen_z[:5] == [(3, 0)] * 4 + [(1, 1)], seen_z
        assert len(seen_a) == 5
    finally:
        for s in (new_a, new_b, zombie, down):
            s.close()
