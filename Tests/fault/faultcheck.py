#!/usr/bin/env python3
"""faultcheck: did the broker keep every record it acknowledged? (issue 9's fault checker)

A third-party client (confluent-kafka / librdkafka) does the producing and the reading, so
the check does not trust our own client. Two modes, usable from the command line or imported
by the pytest files beside this one (and by the replication work later):

  produce  acks=all, enable.idempotence=true; every acknowledged record is appended to a JSONL
           file as {"t": topic, "p": partition, "o": offset, "k": key, "v": value} and flushed at
           once, so the file is complete even when the producer or the broker is killed.
           Stops after --count records, after --duration seconds, or (--until-error) at the
           first delivery error (e.g. the broker stopped on a full disk).
  verify   reads every partition named in the JSONL back from the lowest acknowledged offset to
           the highest and fails if an acknowledged record is missing at its offset, has a
           different key or value, or if one offset was acknowledged twice with different data
           (an offset reused after the log lost records).

Both print one summary line, e.g. `faultcheck verify: acked 3000, verified 3000, missing 0,
mismatched 0, reused 0: OK`; verify exits 1 when anything is wrong.

Keys and values are stored as latin-1 strings (one code point per byte, so any bytes round-trip
through JSON). Compaction and retention may legitimately remove acknowledged records: verify
only topics whose cleanup policy keeps everything.

Examples:
  faultcheck.py produce --bootstrap 127.0.0.1:9092 --topic t --partitions 4 --count 3000 --acks acks.jsonl
  faultcheck.py verify  --bootstrap 127.0.0.1:9092 --acks acks.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition


def _enc(b: bytes | None) -> str | None:
    return None if b is None else b.decode("latin-1")


def _dec(s: str | None) -> bytes | None:
    return None if s is None else s.encode("latin-1")


@dataclass
class ProduceResult:
    acked: int = 0
    errors: list[str] = field(default_factory=list)
    attempted: int = 0

    def summary(self) -> str:
        first = f", first error: {self.errors[0]}" if self.errors else ""
        return (f"faultcheck produce: attempted {self.attempted}, acked {self.acked}, "
                f"failed {len(self.errors)}{first}")


def produce(bootstrap: str, topic: str, acks_path: str, *, count: int | None = None,
            duration: float | None = None, until_error: bool = False, partitions: int | None = None,
            value_size: int = 100, key_space: int = 1000, prefix: str = "fc",
            message_timeout_ms: int = 30000, extra_config: dict | None = None,
            stop=None) -> ProduceResult:
    """Produces records (keys `k<i % key_space>`, values `<prefix>-<i>-` padded to value_size)
    and appends every acknowledgement to `acks_path`. `partitions`, when given, spreads the
    records round-robin over that many partitions explicitly; otherwise the key decides.
    `stop`, a callable, ends the stream early when it returns True (checked between records)."""
    result = ProduceResult()
    out = open(acks_path, "a", buffering=1)  # line-buffered: each ack is on disk as it arrives
    conf = {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
            "linger.ms": 5, "message.timeout.ms": message_timeout_ms,
            "reconnect.backoff.max.ms": 500}
    conf.update(extra_config or {})
    producer = Producer(conf)

    def on_delivery(err, msg):
        if err is not None:
            result.errors.append(str(err))
            return
        out.write(json.dumps({"t": msg.topic(), "p": msg.partition(), "o": msg.offset(),
                              "k": _enc(msg.key()), "v": _enc(msg.value())}) + "\n")
        result.acked += 1

    started = time.time()
    i = 0
    try:
        while True:
            if count is not None and i >= count:
                break
            if duration is not None and time.time() - started >= duration:
                break
            if until_error and result.errors:
                break
            if stop is not None and stop():
                break
            key = f"k{i % key_space}".encode()
            head = f"{prefix}-{i:09d}-".encode()
            value = head + b"x" * max(0, value_size - len(head))
            kwargs = {"key": key, "value": value, "on_delivery": on_delivery}
            if partitions:
                kwargs["partition"] = i % partitions
            try:
                producer.produce(topic, **kwargs)
            except BufferError:
                producer.poll(0.05)
                continue
            i += 1
            result.attempted = i
            producer.poll(0)
        # Wait for every outstanding delivery report (success or final failure).
        remaining = producer.flush(message_timeout_ms / 1000 + 30)
        if remaining:
            result.errors.append(f"{remaining} records still undelivered after flush")
    finally:
        out.close()
    return result


@dataclass
class VerifyResult:
    acked: int = 0
    verified: int = 0
    missing: list[tuple] = field(default_factory=list)
    mismatched: list[tuple] = field(default_factory=list)
    reused: list[tuple] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.mismatched or self.reused or self.errors)

    def summary(self) -> str:
        s = (f"faultcheck verify: acked {self.acked}, verified {self.verified}, "
             f"missing {len(self.missing)}, mismatched {len(self.mismatched)}, "
             f"reused {len(self.reused)}, read errors {len(self.errors)}: {'OK' if self.ok else 'FAIL'}")
        for name, items in (("missing", self.missing), ("mismatched", self.mismatched),
                            ("reused", self.reused), ("read error", self.errors)):
            for item in items[:5]:
                s += f"\n  {name}: {item}"
        return s


def load_acks(acks_path: str) -> tuple[dict, list[tuple]]:
    """{(topic, partition): {offset: (key, value)}} and the offsets acknowledged twice with
    different data. A torn last line (the writer was killed) is ignored."""
    acked: dict[tuple[str, int], dict[int, tuple]] = defaultdict(dict)
    reused: list[tuple] = []
    with open(acks_path) as f:
        for line in f:
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            tp, off, kv = (r["t"], r["p"]), r["o"], (_dec(r["k"]), _dec(r["v"]))
            prev = acked[tp].get(off)
            if prev is not None and prev != kv:
                reused.append((tp[0], tp[1], off, prev[1][:40] if prev[1] else prev[1],
                               kv[1][:40] if kv[1] else kv[1]))
            acked[tp][off] = kv
    return acked, reused


def verify(bootstrap: str, acks_path: str, *, timeout: float = 60.0) -> VerifyResult:
    """Reads every acknowledged offset back (see the module doc)."""
    acked, reused = load_acks(acks_path)
    result = VerifyResult(acked=sum(len(v) for v in acked.values()), reused=reused)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "faultcheck-verify",
                         "enable.auto.commit": False, "enable.partition.eof": True,
                         "auto.offset.reset": "error", "isolation.level": "read_uncommitted",
                         "fetch.error.backoff.ms": 100})
    try:
        for (topic, partition), offsets in sorted(acked.items()):
            lo, hi = min(offsets), max(offsets)
            seen: dict[int, tuple] = {}
            consumer.assign([TopicPartition(topic, partition, lo)])
            deadline = time.time() + timeout
            done = False
            while not done and time.time() < deadline:
                for m in consumer.consume(num_messages=1000, timeout=0.5):
                    if done:
                        break  # past the last acknowledged offset: what follows is not ours to judge
                    err = m.error()
                    if err is not None:
                        if err.code() == KafkaError._PARTITION_EOF:
                            done = True  # nothing more in the log: what was not seen is missing
                            continue
                        result.errors.append(f"{topic}[{partition}]: {err}")
                        done = True
                        break
                    seen[m.offset()] = (m.key(), m.value())
                    if m.offset() >= hi:
                        done = True
            if not done:
                result.errors.append(f"{topic}[{partition}]: timed out reading offsets {lo}..{hi}")
            for off, kv in sorted(offsets.items()):
                got = seen.get(off)
                if got is None:
                    result.missing.append((topic, partition, off))
                elif got != kv:
                    result.mismatched.append((topic, partition, off, kv[1][:40] if kv[1] else kv[1],
                                              got[1][:40] if got[1] else got[1]))
                else:
                    result.verified += 1
            consumer.unassign()
    finally:
        consumer.close()
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("produce", help="produce and record every acknowledgement")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--acks", required=True, help="JSONL file the acknowledgements are appended to")
    p.add_argument("--count", type=int)
    p.add_argument("--duration", type=float)
    p.add_argument("--until-error", action="store_true")
    p.add_argument("--partitions", type=int, help="spread round-robin over this many partitions")
    p.add_argument("--value-size", type=int, default=100)
    p.add_argument("--prefix", default="fc", help="value prefix; use a new one per run")
    v = sub.add_parser("verify", help="read every acknowledged record back")
    v.add_argument("--bootstrap", required=True)
    v.add_argument("--acks", required=True)
    v.add_argument("--timeout", type=float, default=60.0, help="seconds per partition")
    a = ap.parse_args(argv)
    if a.mode == "produce":
        if a.count is None and a.duration is None and not a.until_error:
            ap.error("produce needs --count, --duration or --until-error")
        r = produce(a.bootstrap, a.topic, a.acks, count=a.count, duration=a.duration,
                    until_error=a.until_error, partitions=a.partitions, value_size=a.value_size,
                    prefix=a.prefix)
        print(r.summary())
        return 0 if (a.until_error or not r.errors) else 1
    r = verify(a.bootstrap, a.acks, timeout=a.timeout)
    print(r.summary())
    return 0 if r.ok else 1


if __name__ == "__main__":
    sys.exit(main())
