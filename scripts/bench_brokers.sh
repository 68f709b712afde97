#!/usr/bin/env bash
# Side-by-side benchmark of the Samsa broker (writing to disk) and Tansu (memory storage)
# in one run, with the same C client (kcat on librdkafka 2.16, the command lines of
# ../shared/peers/bench_kcat.sh), for issue 4 item 8.
#
# Usage: scripts/bench_brokers.sh [COUNT] [SIZE] [RUNS] [ACKS_LIST] [PARTS_LIST]
#   defaults: 1000000 100 3 "1 all" "1 8"
# Env:
#   SAMSA_PORT (49092), TANSU_PORT (49192)  listeners on 127.0.0.1
#   BROKERS ("samsa tansu")                 which brokers to run
#   SKIP_BUILD=1                            reuse .build/release/samsa as it is
#   SAMSA_BIN                               a samsa binary to use instead of building one
#   SAMSA_OVERRIDES                         extra "key=value ..." for samsa's --override
#   BASELINE_OVERRIDES                      the "base" broker's --overrides (default: SAMSA_OVERRIDES), so
#                                           one binary can run as samsa and base with different
#                                           configs (metrics on vs off: BENCHMARKS.md, issue 15)
#   BASELINE_BIN                            a second samsa binary (e.g. before a change), run as
#                                           broker "base" on SAMSA_PORT+1 in the same rotation
#   PEERS (/work/shared/peers), KCAT (/opt/peers/bin/kcat216), PY (/opt/peers-venv/bin/python)
#   OUT (/tmp/bench_brokers.$USER)          raw results, broker logs, the data file
#
# Per broker and per (acks, partitions) cell, RUNS times: create a fresh topic, produce COUNT
# records of SIZE bytes from a pre-made file (timed), consume them all from the beginning
# (timed, `-c COUNT` as bench_kcat.sh), count the whole topic once more untimed (a run whose
# topic does not hold exactly COUNT records is marked FAIL), delete the topic. The
# brokers take turns run by run (ABAB, then BABA) so that a burst of load from other jobs
# on the machine hits both. Around every produce and consume the script reads the broker's
# CPU time (utime+stime, /proc/PID/stat) and resets then reads its peak RSS (writes 5 to
# /proc/PID/clear_refs, reads VmHWM from /proc/PID/status), so "peak RSS" is per run.
# Idle RSS is VmRSS 3 s after start-up, before any topic exists, and again 3 s after the
# last run (all bench topics deleted by then).
# Rates are records / wall time of the kcat process (it includes kcat's start-up: connect
# and metadata, a few ms); MB = 10^6 bytes of record values. The table shows medians over
# RUNS and the ratio Samsa / Tansu.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
COUNT="${1:-1000000}"
SIZE="${2:-100}"
RUNS="${3:-3}"
ACKS_LIST="${4:-1 all}"
PARTS_LIST="${5:-1 8}"
SAMSA_PORT="${SAMSA_PORT:-49092}"
TANSU_PORT="${TANSU_PORT:-49192}"
BROKERS="${BROKERS:-samsa tansu}"
PEERS="${PEERS:-/work/shared/peers}"
PY="${PY:-/opt/peers-venv/bin/python}"
if [ -z "${KCAT:-}" ]; then
  if [ -x /opt/peers/bin/kcat216 ]; then KCAT=/opt/peers/bin/kcat216; else KCAT=kcat; fi
fi
OUT="${OUT:-/tmp/bench_brokers.${USER:-$(id -un)}}"
mkdir -p "$OUT"
RESULTS="$OUT/results.tsv"
DATA="$OUT/data-${SIZE}x${COUNT}.txt"
CLK_TCK=$(getconf CLK_TCK)

# --- build ------------------------------------------------------------------------------
if [[ " $BROKERS " != *" samsa "* ]]; then
  SAMSA_BIN=/bin/true
elif [ -n "${SAMSA_BIN:-}" ]; then
  :
elif [ "${SKIP_BUILD:-0}" = 1 ]; then
  SAMSA_BIN="$ROOT/.build/release/samsa"
else
  echo "building samsa (release) in $ROOT/.build ..." >&2
  (cd "$ROOT" && swift build -c release --product samsa >&2)
  SAMSA_BIN="$ROOT/.build/release/samsa"
fi
[ -x "$SAMSA_BIN" ] || { echo "no samsa binary at $SAMSA_BIN" >&2; exit 1; }

# --- the data file: COUNT printable lines of SIZE bytes (same generator as bench_kcat.sh) --
if [ ! -s "$DATA" ]; then
  "$PY" - "$DATA" "$COUNT" "$SIZE" <<'EOF'
import base64, os, sys
path, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path + ".tmp", "wb") as f:
    buf = []
    for _ in range(n):
        buf.append(base64.b64encode(os.urandom(size))[:size])
        if len(buf) == 10000:
            f.write(b"\n".join(buf) + b"\n"); buf = []
    if buf:
        f.write(b"\n".join(buf) + b"\n")
os.rename(path + ".tmp", path)
EOF
fi

# --- helpers -----------------------------------------------------------------------------
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
cpu_s() { # utime+stime of PID in seconds (fields 14 and 15; the command name may hold spaces)
  local s; s=$(cat "/proc/$1/stat"); s="${s##*) }"
  set -- $s
  echo "scale=2; (${12} + ${13}) / $CLK_TCK" | bc
}
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
reset_hwm() { echo 5 > "/proc/$1/clear_refs" 2>/dev/null || true; }
now_ns() { date +%s%N; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

declare -A PID BOOT
SAMSA_DIRS=()
cleanup() {
  for b in "${!PID[@]}"; do
    kill "${PID[$b]}" 2>/dev/null || true
  done
  for b in "${!PID[@]}"; do
    for _ in $(seq 1 100); do kill -0 "${PID[$b]}" 2>/dev/null || break; sleep 0.1; done
  done
  for d in "${SAMSA_DIRS[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT

run_samsa() { # NAME BINARY PORT OVERRIDES: a samsa broker with its own temp log dir
  local name=$1 bin=$2 port=$3 extra=$4 dir
  port_open "$port" && { echo "something already listens on 127.0.0.1:$port" >&2; exit 1; }
  dir=$(mktemp -d /tmp/bench-samsa.XXXXXX)
  SAMSA_DIRS+=("$dir")
  local overrides=(--override "listeners=PLAINTEXT://127.0.0.1:$port"
                   --override "advertised.listeners=PLAINTEXT://127.0.0.1:$port"
                   --override "log.dirs=$dir/logs")
  for kv in $extra; do overrides+=(--override "$kv"); done
  "$bin" broker --config "$ROOT/config/server.properties" "${overrides[@]}" > "$OUT/$name.log" 2>&1 < /dev/null &
  PID[$name]=$!
  BOOT[$name]="127.0.0.1:$port"
  for _ in $(seq 1 300); do
    port_open "$port" && return 0
    kill -0 "${PID[$name]}" 2>/dev/null || { echo "$name exited; log:" >&2; tail -20 "$OUT/$name.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "$name did not open port $port in 30 s" >&2; exit 1
}
start_samsa() { run_samsa samsa "$SAMSA_BIN" "$SAMSA_PORT" "${SAMSA_OVERRIDES:-}"; }
start_base() { run_samsa base "$BASELINE_BIN" "$((SAMSA_PORT + 1))" "${BASELINE_OVERRIDES-${SAMSA_OVERRIDES:-}}"; }

start_tansu() {
  PID[tansu]=$(TANSU_LOG="$OUT/tansu.log" "$PEERS/start_tansu.sh" "$TANSU_PORT")
  BOOT[tansu]="127.0.0.1:$TANSU_PORT"
}

create_topic() { # BOOT TOPIC PARTS
  "$PY" - "$@" <<'EOF'
import sys, time
from confluent_kafka.admin import AdminClient, NewTopic
b, t, p = sys.argv[1], sys.argv[2], int(sys.argv[3])
a = AdminClient({"bootstrap.servers": b})
for f in a.create_topics([NewTopic(t, p, 1)], request_timeout=15).values():
    f.result(timeout=20)
for _ in range(50):
    md = a.list_topics(t, timeout=5)
    if t in md.topics and len(md.topics[t].partitions) == p and not md.topics[t].error:
        break
    time.sleep(0.1)
EOF
}

delete_topic() { # BOOT TOPIC
  "$PY" - "$@" <<'EOF'
import sys
from confluent_kafka.admin import AdminClient
a = AdminClient({"bootstrap.servers": sys.argv[1]})
for f in a.delete_topics([sys.argv[2]], request_timeout=15).values():
    try: f.result(timeout=20)
    except Exception as e: print("delete:", e, file=sys.stderr)
EOF
}

# One timed kcat phase; appends a line to $RESULTS.
# phase: produce | consume
measure() { # BROKER ACKS PARTS RUN PHASE TOPIC
  local b=$1 acks=$2 parts=$3 run=$4 phase=$5 topic=$6 pid=${PID[$1]} boot=${BOOT[$1]}
  local c0 c1 t0 t1 n=$COUNT ok=ok rc=0
  reset_hwm "$pid"
  c0=$(cpu_s "$pid"); t0=$(now_ns)
  if [ "$phase" = produce ]; then
    timeout 600 $KCAT -b "$boot" -P -t "$topic" -l "$DATA" -X acks="$acks" -X linger.ms=5 -X batch.size=1000000 \
      -X queue.buffering.max.messages=2000000 -X queue.buffering.max.kbytes=2097151 \
      2> "$OUT/kcat-$phase.err" || rc=$?
    [ "$rc" = 0 ] && ! grep -qi 'fail\|error' "$OUT/kcat-$phase.err" || ok=FAIL
  else
    n=$(timeout 600 $KCAT -b "$boot" -C -t "$topic" -o beginning -e -q -c "$COUNT" -f '%o\n' \
          -X fetch.queue.backoff.ms=10 -X queued.min.messages=1000000 -X queued.max.messages.kbytes=262144 \
          2> "$OUT/kcat-$phase.err" | wc -l) || rc=$?
    [ "$rc" = 0 ] && [ "$n" = "$COUNT" ] || ok=FAIL
  fi
  t1=$(now_ns); c1=$(cpu_s "$pid")
  local hwm; hwm=$(status_kb "$pid" VmHWM)
  if [ "$phase" = consume ] && [ "$ok" = ok ]; then
    # Untimed: count to the end of every partition (no -c, so kcat waits for EOF), so a
    # topic holding more than COUNT records (a retried, duplicated batch) fails too.
    n=$(timeout 600 $KCAT -b "$boot" -C -t "$topic" -o beginning -e -q -f '%o\n' -X fetch.queue.backoff.ms=10 \
          2>/dev/null | wc -l) || true
    [ "$n" = "$COUNT" ] || ok=FAIL
  fi
  if [ "$ok" != ok ]; then
    echo "  $b $phase acks=$acks p=$parts run$run: FAIL (rc=$rc, records=$n): $(tail -c 300 "$OUT/kcat-$phase.err")" >&2
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$b" "$acks" "$parts" "$run" "$phase" \
    "$(( t1 - t0 ))" "$(echo "$c1 - $c0" | bc)" "$hwm" "$n" "$ok" "$(loadavg | cut -d' ' -f1)" >> "$RESULTS"
}

[ -n "${BASELINE_BIN:-}" ] && BROKERS="$BROKERS base"

# --- run ----------------------------------------------------------------------------------
: > "$RESULTS"
LOAD_START=$(loadavg)
echo "load average at start: $LOAD_START" >&2
IDLE=""
for b in $BROKERS; do
  "start_$b"
done
sleep 3
for b in $BROKERS; do
  IDLE+="$b=$(( $(status_kb "${PID[$b]}" VmRSS) / 1024 )) "
done
echo "idle RSS (MiB): $IDLE" >&2

TAG=$(date +%s)
for ACKS in $ACKS_LIST; do
  for PARTS in $PARTS_LIST; do
    for RUN in $(seq 1 "$RUNS"); do
      ORDER=$BROKERS
      if [ $(( RUN % 2 )) = 0 ]; then ORDER=$(echo "$BROKERS" | tr ' ' '\n' | tac | tr '\n' ' '); fi
      for B in $ORDER; do
        TOPIC="bb-${TAG}-a${ACKS}-p${PARTS}-r${RUN}"
        create_topic "${BOOT[$B]}" "$TOPIC" "$PARTS"
        measure "$B" "$ACKS" "$PARTS" "$RUN" produce "$TOPIC"
        measure "$B" "$ACKS" "$PARTS" "$RUN" consume "$TOPIC"
        delete_topic "${BOOT[$B]}" "$TOPIC"
        tail -2 "$RESULTS" | awk -F'\t' -v c="$COUNT" '{ printf "  %-5s acks=%-3s p=%s run%s %-7s %8.0f rec/s  cpu %5.2f s  peak %4d MiB  %s (load %s)\n", $1, $2, $3, $4, $5, c / ($6 / 1e9), $7, $8 / 1024, $10, $11 }' >&2
      done
    done
  done
done
LOAD_END=$(loadavg)
sleep 3
AFTER=""
for b in $BROKERS; do
  AFTER+="$b=$(( $(status_kb "${PID[$b]}" VmRSS) / 1024 )) "
done

# --- table --------------------------------------------------------------------------------
"$PY" - "$RESULTS" "$COUNT" "$SIZE" "$RUNS" "$BROKERS" "$IDLE" "$LOAD_START" "$LOAD_END" "$(nproc)" "$AFTER" <<'EOF'
import statistics, sys
path, count, size, runs, brokers, idle, load0, load1, ncpu, after = sys.argv[1:]
count, size, runs = int(count), int(size), int(runs)
brokers = brokers.split()
rows = {}
for line in open(path):
    b, acks, parts, run, phase, ns, cpu, hwm, n, ok, load = line.rstrip("\n").split("\t")
    rows.setdefault((acks, int(parts), phase, b), []).append((int(ns) / 1e9, float(cpu), int(hwm) / 1024, ok == "ok"))
print(f"Samsa vs Tansu: {count:,} records x {size} B, median of {runs} runs, kcat (librdkafka 2.16), {ncpu} CPUs")
print(f"load average (1/5/15 min) at start {load0}, at end {load1}")
print(f"idle RSS MiB after start-up: {idle}; RSS MiB 3 s after the last run (topics deleted): {after}")
print()
hdr = f"| phase   | acks | parts | broker | records/s | MB/s   | broker CPU s | peak RSS MiB | runs ok |"
print(hdr)
print("|" + "|".join("-" * (len(c)) for c in hdr.split("|")[1:-1]) + "|")
keys = sorted({(k[0], k[1], k[2]) for k in rows}, key=lambda k: (k[2] != "produce", k[0] != "1", k[1]))
for acks, parts, phase in keys:
    med = {}
    for b in brokers:
        r = rows.get((acks, parts, phase, b))
        if not r:
            continue
        good = [x for x in r if x[3]] or r
        t = statistics.median(x[0] for x in good)
        med[b] = count / t
        print(f"| {phase:<7} | {acks:<4} | {parts:<5} | {b:<6} | {count / t:>9,.0f} | {count * size / t / 1e6:>6.1f} | "
              f"{statistics.median(x[1] for x in good):>12.2f} | {max(x[2] for x in r):>12.0f} | "
              f"{sum(x[3] for x in r)}/{len(r):<5} |")
    if "samsa" in med and "tansu" in med:
        print(f"| {phase:<7} | {acks:<4} | {parts:<5} | ratio  | {med['samsa'] / med['tansu']:>8.2f}x | "
              f"{'':>6} | {'':>12} | {'':>12} | {'':<7} |")
EOF
echo "raw results: $RESULTS (broker acks parts run phase ns cpu_s hwm_kb records ok load1)" >&2
