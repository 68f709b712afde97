#!/usr/bin/env python3
"""replication_checker: did a replicated cluster keep Kafka's promise through the faults?

Issue 12 item 7, the checker of kafka-replication-notes.md §5.7 C. A fault test records a
*history* while it runs (every send with its outcome, what consumers polled, every high
watermark a client saw) and, once the cluster is healed, a *read-back* of every partition from
its start to its high watermark. `check(history, readback)` then judges the run:

  lost        an acknowledged (:ok) send is not in the read-back at its offset with its value
              (for a send whose offset the client did not report, e.g. `samsa produce`, its
              value is nowhere in the partition)
  reused      one (topic, partition, offset) held two different values across every send,
              poll and the read-back: an offset was handed out twice (a log that lost records
              and accepted new ones at the same offsets)
  duplicate   with idempotence, one value appears at two offsets of a partition
  aborted     a value whose send definitely failed (:fail, never appended) was read
  producer-order  one producer's acknowledged offsets on a partition went backwards in the
              order the acknowledgements arrived
  realtime    a send that started after another one on the same partition was acknowledged
              got a lower offset (Redpanda's real-time order check)
  consumer-order  one consumer's offsets on a partition went backwards between polls without
              a re-assignment in between
  hw-backwards    a high watermark a client read is lower than one another read that was
              answered before this request was sent (KIP-207's OFFSET_NOT_AVAILABLE aside,
              Kafka's HW never goes backwards as seen by clients)

Outcomes: `ok` (acknowledged), `fail` (definitely not appended: rejected before the append or
never sent), `info` (indeterminate: a timeout or a lost connection; may or may not be in the
log, and may be read). Kafka allows losing acks=0/1 writes on failover: record those as
`info`, not `ok`.

History format (JSONL, one event per line; append-only so a killed writer leaves a usable
file, a torn last line is ignored):
  {"e": "send", "c": client, "t": topic, "p": partition|null, "o": offset|null, "v": value,
   "s": "ok"|"fail"|"info", "t0": start, "t1": end}
  {"e": "poll", "c": client, "t": topic, "p": p, "o": offset, "v": value}
  {"e": "assign", "c": client, "t": topic, "p": p}        (a consumer (re)positioned itself)
  {"e": "hw", "c": client, "t": topic, "p": p, "hw": n, "t0": start, "t1": end}
Values are strings (latin-1 for raw bytes, as faultcheck.py stores them). Times are
time.monotonic() seconds of one machine.

Read-back format: {(topic, partition): {offset: value}} (`read_back` builds it with
confluent-kafka, a client we did not write).

Also usable from the command line: `replication_checker.py check --history h.jsonl
--bootstrap host:port [--idempotent]` reads back every partition named in the history and
prints the verdict (exit 1 on any violation). `faultcheck.py`'s acks files convert with
`from_faultcheck_acks`.
"""

from __future__ import annotations

import argparse
import bisect
import json
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

OK, FAIL, INFO = "ok", "fail", "info"

# librdkafka delivery errors that mean the record was definitely not appended (never sent, or
# refused before the leader appended it). Everything else after a send is indeterminate.
DEFINITE_FAILURES = {
    "_PURGE_QUEUE", "_MSG_SIZE_TOO_LARGE", "_UNKNOWN_TOPIC", "_UNKNOWN_PARTITION",
    "MSG_SIZE_TOO_LARGE", "RECORD_LIST_TOO_LARGE", "INVALID_RECORD", "TOPIC_AUTHORIZATION_FAILED",
    "NOT_ENOUGH_REPLICAS", "INVALID_REQUIRED_ACKS", "CORRUPT_MESSAGE",
}


# ---------------------------------------------------------------------------------------------
# History


class History:
    """Thread-safe append-only recorder of a run (see the module doc for the format)."""

    def __init__(self, path: str | None = None):
        self.events: list[dict] = []
        self._lock = threading.Lock()
        self._out = open(path, "a", buffering=1) if path else None

    def add(self, event: dict) -> None:
        with self._lock:
            self.events.append(event)
            if self._out:
                self._out.write(json.dumps(event) + "\n")

    def send(self, client, topic, partition, offset, value, status, t0, t1=None):
        assert status in (OK, FAIL, INFO), status
        self.add({"e": "send", "c": client, "t": topic, "p": partition, "o": offset, "v": value,
                  "s": status, "t0": t0, "t1": time.monotonic() if t1 is None else t1})

    def poll(self, client, topic, partition, offset, value):
        self.add({"e": "poll", "c": client, "t": topic, "p": partition, "o": offset, "v": value})

    def assign(self, client, topic, partition):
        self.add({"e": "assign", "c": client, "t": topic, "p": partition})

    def hw(self, client, topic, partition, hw, t0, t1=None):
        self.add({"e": "hw", "c": client, "t": topic, "p": partition, "hw": hw, "t0": t0,
                  "t1": time.monotonic() if t1 is None else t1})

    def close(self):
        if self._out:
            self._out.close()
            self._out = None

    @staticmethod
    def load(path: str) -> list[dict]:
        events = []
        with open(path) as f:
            for line in f:
                try:
                    events.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a torn last line: the writer was killed mid-write
        return events

    def summary(self) -> str:
        sends = [e for e in self.events if e["e"] == "send"]
        by = defaultdict(int)
        for e in sends:
            by[e["s"]] += 1
        return f"history: {len(sends)} sends ({by[OK]} ok, {by[FAIL]} fail, {by[INFO]} info)"


def from_faultcheck_acks(path: str, client: str = "faultcheck") -> list[dict]:
    """faultcheck.py's acks JSONL (acknowledged records only) as history send events."""
    out = []
    with open(path) as f:
        for line in f:
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            out.append({"e": "send", "c": client, "t": r["t"], "p": r["p"], "o": r["o"], "v": r["v"],
                        "s": OK, "t0": None, "t1": None})
    return out


# ---------------------------------------------------------------------------------------------
# The check


@dataclass
class Verdict:
    sends: int = 0
    ok: int = 0
    failed: int = 0
    info: int = 0
    read: int = 0
    confirmed: int = 0
    lost: list = field(default_factory=list)
    reused: list = field(default_factory=list)
    duplicate: list = field(default_factory=list)
    aborted: list = field(default_factory=list)
    producer_order: list = field(default_factory=list)
    realtime: list = field(default_factory=list)
    consumer_order: list = field(default_factory=list)
    hw_backwards: list = field(default_factory=list)

    KINDS = ("lost", "reused", "duplicate", "aborted", "producer_order", "realtime",
             "consumer_order", "hw_backwards")

    @property
    def valid(self) -> bool:
        return not any(getattr(self, k) for k in self.KINDS)

    def summary(self) -> str:
        s = (f"replication check: {self.sends} sends ({self.ok} ok, {self.failed} fail, {self.info} info), "
             f"{self.read} records read back, {self.confirmed} acknowledged confirmed; "
             + ", ".join(f"{k.replace('_', '-')} {len(getattr(self, k))}" for k in self.KINDS)
             + f": {'OK' if self.valid else 'FAIL'}")
        for k in self.KINDS:
            for item in getattr(self, k)[:5]:
                s += f"\n  {k.replace('_', '-')}: {item}"
        return s


def _short(v):
    return v if v is None or len(v) <= 40 else v[:40] + "..."


def check(events: list[dict], readback: dict, *, idempotent: bool = True) -> Verdict:
    """Judges a run; see the module doc. `readback` is {(topic, partition): {offset: value}}
    covering each partition from its log start to its high watermark after healing."""
    v = Verdict()
    sends = [e for e in events if e["e"] == "send"]
    v.sends = len(sends)
    v.ok = sum(1 for e in sends if e["s"] == OK)
    v.failed = sum(1 for e in sends if e["s"] == FAIL)
    v.info = sum(1 for e in sends if e["s"] == INFO)
    v.read = sum(len(m) for m in readback.values())

    # Where each value was read back, per partition and per topic.
    where: dict[tuple, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for tp, offsets in readback.items():
        for off, val in offsets.items():
            where[tp][val].append(off)

    # 1. Every acknowledged send is at its offset (or, offset unknown, somewhere).
    for e in sends:
        if e["s"] != OK:
            continue
        topic, p, off, val = e["t"], e["p"], e["o"], e["v"]
        if off is not None and p is not None:
            got = readback.get((topic, p), {}).get(off)
            if got == val:
                v.confirmed += 1
            else:
                v.lost.append((e["c"], topic, p, off, _short(val),
                               "absent" if got is None else f"holds {_short(got)}"))
        else:
            parts = [p] if p is not None else sorted(q for (t, q) in readback if t == topic)
            if any(where[(topic, q)].get(val) for q in parts):
                v.confirmed += 1
            else:
                v.lost.append((e["c"], topic, p, None, _short(val), "value nowhere in the partition"))

    # 2. No offset ever maps to two values (sends with offsets, polls, read-back).
    seen: dict[tuple, tuple[str, str]] = {}

    def note(tp, off, val, source):
        key = (tp[0], tp[1], off)
        prev = seen.get(key)
        if prev is None:
            seen[key] = (val, source)
        elif prev[0] != val:
            v.reused.append((tp[0], tp[1], off, f"{prev[1]}: {_short(prev[0])}", f"{source}: {_short(val)}"))

    for tp, offsets in sorted(readback.items()):
        for off, val in sorted(offsets.items()):
            note(tp, off, val, "read-back")
    for e in events:
        if e["e"] == "send" and e["s"] == OK and e["o"] is not None and e["p"] is not None:
            note((e["t"], e["p"]), e["o"], e["v"], f"ack to {e['c']}")
        elif e["e"] == "poll":
            note((e["t"], e["p"]), e["o"], e["v"], f"poll by {e['c']}")

    # 3. No duplicates with idempotence; no read of a definitely failed write.
    if idempotent:
        for tp, vals in sorted(where.items()):
            for val, offs in vals.items():
                if len(offs) > 1:
                    v.duplicate.append((tp[0], tp[1], _short(val), sorted(offs)))
    failed_vals = defaultdict(set)
    for e in sends:
        if e["s"] == FAIL:
            failed_vals[e["t"]].add(e["v"])
    polled = defaultdict(set)
    for e in events:
        if e["e"] == "poll":
            polled[e["t"]].add((e["p"], e["o"], e["v"]))
    for (topic, p), vals in where.items():
        for val, offs in vals.items():
            if val in failed_vals.get(topic, ()):
                v.aborted.append((topic, p, offs, _short(val), "in the read-back"))
    for topic, items in polled.items():
        for p, off, val in items:
            if val in failed_vals.get(topic, ()) and off not in where[(topic, p)].get(val, []):
                v.aborted.append((topic, p, [off], _short(val), "polled"))

    # 4a. Per producer and partition, acknowledged offsets rise in acknowledgement order.
    per_prod = defaultdict(list)
    for i, e in enumerate(sends):
        if e["s"] == OK and e["o"] is not None and e["p"] is not None:
            per_prod[(e["c"], e["t"], e["p"])].append((e["t1"] if e["t1"] is not None else i, i, e["o"]))
    for key, acks in per_prod.items():
        acks.sort()
        for (_, _, a), (_, _, b) in zip(acks, acks[1:]):
            if b <= a:
                v.producer_order.append((*key, a, b))

    # 5. Real-time order: a send started after another was acknowledged gets a higher offset.
    per_part = defaultdict(list)
    for e in sends:
        if e["s"] == OK and e["o"] is not None and e["p"] is not None and e["t0"] is not None and e["t1"] is not None:
            per_part[(e["t"], e["p"])].append(e)
    for tp, es in per_part.items():
        by_end = sorted(es, key=lambda e: e["t1"])
        ends = [e["t1"] for e in by_end]
        best = []  # running max offset (and its send) over sends acknowledged by ends[i]
        for e in by_end:
            if not best or e["o"] > best[-1]["o"]:
                best.append(e)
            else:
                best.append(best[-1])
        for e in es:
            i = bisect.bisect_left(ends, e["t0"])  # sends acknowledged strictly before e started
            if i > 0 and best[i - 1]["o"] >= e["o"]:
                b = best[i - 1]
                v.realtime.append((tp[0], tp[1], f"{b['c']} acked at {b['o']}", f"later {e['c']} acked at {e['o']}"))

    # 4b. Per consumer and partition, polled offsets rise between re-assignments.
    last: dict[tuple, int] = {}
    for e in events:
        if e["e"] == "assign":
            for k in [k for k in last if k[0] == e["c"] and k[1] == e["t"] and (e["p"] is None or k[2] == e["p"])]:
                del last[k]
        elif e["e"] == "poll":
            k = (e["c"], e["t"], e["p"])
            if k in last and e["o"] <= last[k]:
                v.consumer_order.append((*k, last[k], e["o"]))
            last[k] = e["o"]

    # 6. High watermarks seen by clients never go backwards in real time.
    per_hw = defaultdict(list)
    for e in events:
        if e["e"] == "hw" and e["hw"] is not None and e["hw"] >= 0:
            per_hw[(e["t"], e["p"])].append(e)
    for tp, es in per_hw.items():
        by_end = sorted(es, key=lambda e: e["t1"])
        ends = [e["t1"] for e in by_end]
        run_max = []
        for e in by_end:
            run_max.append(e if not run_max or e["hw"] > run_max[-1]["hw"] else run_max[-1])
        for e in es:
            i = bisect.bisect_left(ends, e["t0"])
            if i > 0 and run_max[i - 1]["hw"] > e["hw"]:
                b = run_max[i - 1]
                v.hw_backwards.append((tp[0], tp[1], f"{b['c']} saw {b['hw']}", f"later {e['c']} saw {e['hw']}"))
        # Per client, in the order of the answers, too (covers clients without t0).
    return v


# ---------------------------------------------------------------------------------------------
# Clients that record into a History (confluent-kafka: librdkafka, a client we did not write)


def _enc(b: bytes | None) -> str | None:
    return None if b is None else b.decode("latin-1")


def classify_error(err) -> str:
    """fail for a librdkafka delivery error that means "never appended", else info."""
    name = err.name() if hasattr(err, "name") else str(err)
    return FAIL if name in DEFINITE_FAILURES else INFO


class RecordingProducer:
    """A confluent-kafka producer (acks=all, idempotence by default) whose every send lands in
    `history` as ok/fail/info with its offset and its start/ack times. Values are unique:
    `<client>-<seq>`."""

    def __init__(self, bootstrap: str, history: History, client: str, extra: dict | None = None):
        from confluent_kafka import Producer
        self.history = history
        self.client = client
        conf = {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                "linger.ms": 2, "message.timeout.ms": 60000, "request.timeout.ms": 10000,
                "reconnect.backoff.max.ms": 500, "retry.backoff.ms": 100,
                "topic.metadata.refresh.interval.ms": 1000}
        conf.update(extra or {})
        self.idempotent = bool(conf.get("enable.idempotence"))
        self.p = Producer(conf)
        self.seq = 0
        self.acked = 0
        self.errors: list[str] = []
        self.last_ack: float | None = None

    def send(self, topic: str, partition: int | None = None) -> None:
        value = f"{self.client}-{self.seq:08d}"
        self.seq += 1
        t0 = time.monotonic()

        def done(err, msg, value=value, t0=t0):
            if err is None:
                self.acked += 1
                self.last_ack = time.monotonic()
                self.history.send(self.client, msg.topic(), msg.partition(), msg.offset(), value, OK, t0)
            else:
                self.errors.append(str(err))
                self.history.send(self.client, topic, partition, None, value, classify_error(err), t0)

        kwargs = {"value": value.encode(), "on_delivery": done}
        if partition is not None:
            kwargs["partition"] = partition
        while True:
            try:
                self.p.produce(topic, **kwargs)
                break
            except BufferError:
                self.p.poll(0.05)
        self.p.poll(0)

    def poll(self, timeout: float = 0) -> None:
        self.p.poll(timeout)

    def flush(self, timeout: float = 90) -> int:
        """Waits for every outstanding delivery report; what is still queued after `timeout`
        is purged and recorded as info (it may have been sent)."""
        left = self.p.flush(timeout)
        if left:
            self.p.purge()
            self.p.flush(10)
        return left


def watermarks(bootstrap: str, topic: str, partitions: int, history: History | None = None,
               client: str = "hw-watcher", timeout: float = 5.0) -> dict[int, int]:
    """The high watermark of each partition (ListOffsets latest), recorded as hw events."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "replication-checker-hw",
                  "enable.auto.commit": False})
    out = {}
    try:
        for p in range(partitions):
            t0 = time.monotonic()
            try:
                lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout, cached=False)
            except Exception:  # noqa: BLE001 - a partition without a leader right now
                continue
            out[p] = hi
            if history is not None:
                history.hw(client, topic, p, hi, t0)
    finally:
        c.close()
    return out


def wait_for_agreement(bootstrap: str, topic: str, partitions: int, timeout: float = 60.0) -> dict[int, tuple[int, int]]:
    """Waits until every broker of `bootstrap` that answers names the same leader and leader
    epoch for each partition (Metadata v7, asked of each broker directly), and returns them:
    {partition: (leader, leader_epoch)}.

    Why: a broker that was cut off from the controllers (or stopped past its session) still
    believes it leads until it replays the metadata that fenced it, and answers Metadata,
    ListOffsets and Fetch from its stale state, as a Kafka broker does. A read-back through it
    sees its old high watermark and would report every record the real leader acknowledged
    since as lost (CI and local runs of test_leader_cut_off_from_controllers and
    test_sigstop_leader[long] did, until this wait). Once the brokers agree, the stale one has
    stepped down, and what the read-back sees is the cluster's log."""
    interop = str(Path(__file__).resolve().parent.parent / "interop")
    if interop not in sys.path:  # run as a script (scripts/replication-faults.sh)
        sys.path.insert(0, interop)
    from kafka_wire import Connection
    addresses = [a.strip() for a in bootstrap.split(",") if a.strip()]
    t0 = time.time()
    deadline = t0 + timeout
    last: dict = {}
    rounds, disagreed = 0, {}
    while True:
        views: dict[str, dict] = {}
        for address in addresses:
            try:
                with Connection(address, timeout=3) as c:
                    views[address] = c.partition_states(topic)
            except (OSError, ValueError) as e:  # down (killed, stopped): not asked
                last[address] = f"unreachable: {e}"
        agreed: dict[int, tuple[int, int]] = {}
        for p in range(partitions):
            seen = {(v.get(p, {}).get("leader", -1), v.get(p, {}).get("leader_epoch", -1)) for v in views.values()}
            if len(seen) == 1 and next(iter(seen))[0] >= 0:
                agreed[p] = next(iter(seen))
        if views and len(agreed) == partitions:
            if rounds:
                print(f"read-back: waited {time.time() - t0:.1f}s ({rounds} rounds) for the brokers to agree on "
                      f"{topic}'s leaders; they disagreed: {disagreed}")
            return agreed
        rounds += 1
        disagreed = {a: {p: (s.get("leader"), s.get("leader_epoch")) for p, s in v.items()} for a, v in views.items()}
        last.update({a: {p: (s.get("leader"), s.get("leader_epoch")) for p, s in v.items()} for a, v in views.items()})
        if time.time() > deadline:
            raise AssertionError(f"{topic}: the brokers do not agree on the partition leaders within {timeout}s: {last}")
        time.sleep(0.2)


def read_back(bootstrap: str, topic: str, partitions: int, *, timeout: float = 120.0,
              history: History | None = None) -> dict:
    """Every record of each partition from the log start to its high watermark:
    {(topic, p): {offset: value}}. Waits first until the brokers agree on who leads each
    partition (``wait_for_agreement``), then retries until every partition is read to a high
    watermark obtained after that (a partition that never answers fails the test)."""
    from confluent_kafka import Consumer, KafkaError, TopicPartition, OFFSET_BEGINNING
    out: dict = {}
    deadline = time.time() + timeout
    wait_for_agreement(bootstrap, topic, partitions, timeout=timeout / 2)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "replication-checker-readback",
                  "enable.auto.commit": False, "enable.partition.eof": True,
                  "isolation.level": "read_uncommitted", "fetch.error.backoff.ms": 100,
                  "topic.metadata.refresh.interval.ms": 1000})
    try:
        for p in range(partitions):
            tp = TopicPartition(topic, p)
            hi = None
            while time.time() < deadline:
                t0 = time.monotonic()
                try:
                    _, hi = c.get_watermark_offsets(tp, timeout=5, cached=False)
                    if history is not None:
                        history.hw("read-back", topic, p, hi, t0)
                    break
                except Exception:  # noqa: BLE001 - no leader yet
                    time.sleep(0.3)
            if hi is None:
                raise AssertionError(f"{topic}[{p}]: no high watermark within {timeout}s")
            got: dict[int, str] = {}
            c.assign([TopicPartition(topic, p, OFFSET_BEGINNING)])
            done = hi == 0
            while not done and time.time() < deadline:
                for m in c.consume(num_messages=1000, timeout=0.5):
                    err = m.error()
                    if err is not None:
                        if err.code() == KafkaError._PARTITION_EOF:
                            if m.offset() >= hi:
                                done = True
                            continue
                        continue  # transient (leader moved): librdkafka retries
                    got[m.offset()] = _enc(m.value())
                    if m.offset() >= hi - 1:
                        done = True
            c.unassign()
            if not done:
                raise AssertionError(f"{topic}[{p}]: read {len(got)} records, not to the high watermark {hi}, "
                                     f"within {timeout}s")
            out[(topic, p)] = got
    finally:
        c.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("check", help="read back every partition named in a history and judge it")
    c.add_argument("--history", required=True, action="append", help="history JSONL (repeatable)")
    c.add_argument("--faultcheck-acks", action="append", default=[], help="faultcheck.py acks JSONL (repeatable)")
    c.add_argument("--bootstrap", required=True)
    c.add_argument("--idempotent", action="store_true")
    c.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args(argv)
    events = [e for h in a.history for e in History.load(h)]
    for path in a.faultcheck_acks:
        events += from_faultcheck_acks(path)
    parts = defaultdict(int)
    for e in events:
        if e.get("p") is not None and "t" in e:
            parts[e["t"]] = max(parts[e["t"]], e["p"] + 1)
    readback = {}
    for topic, n in parts.items():
        readback.update(read_back(a.bootstrap, topic, n, timeout=a.timeout))
    verdict = check(events, readback, idempotent=a.idempotent)
    print(verdict.summary())
    return 0 if verdict.valid else 1


if __name__ == "__main__":
    sys.exit(main())
