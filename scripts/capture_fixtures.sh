#!/usr/bin/env bash
# Regenerates Tests/KafkaProtocolTests/Fixtures/clients/: the request frames real clients
# send (ApiVersions, Metadata, Produce with record batches in every codec), captured through
# scripts/capture_frames.py between each client and a throwaway Tansu broker.
#
# Clients: kcat216 (Debian's kcat on librdkafka 2.16 from the confluent-kafka wheel),
# confluent-kafka (Python, librdkafka 2.16), both against Tansu; and Debian's kcat
# (librdkafka 2.0.2), which cannot parse Tansu's ApiVersions reply (peers README), against our
# own broker (SAMSA_BIN). Needs ../shared/peers/install.sh to have run. The fixtures are committed; CI does not
# regenerate them (the clients' bytes differ per run: timestamps, producer ids, CRCs).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=Tests/KafkaProtocolTests/Fixtures/clients
PY=${PEERS_VENV:-/opt/peers-venv}/bin/python
KCAT216=${KCAT216:-/opt/peers/bin/kcat216}
TANSU=${TANSU_BIN:-/opt/peers/bin/tansu}
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP=$(free_port)
PROXY=$(free_port)
LOG=$(mktemp /tmp/capture-tansu.XXXXXX.log)
# Tansu listens on UP but advertises the proxy, so every connection goes through it.
"$TANSU" broker --listener-url "tcp://127.0.0.1:$UP" --advertised-listener-url "tcp://127.0.0.1:$PROXY" \
  --storage-engine memory://tansu/ >"$LOG" 2>&1 </dev/null &
TANSU_PID=$!
trap 'kill -KILL $TANSU_PID 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$UP") 2>/dev/null && break; sleep 0.1; done

rm -rf "$OUT"
mkdir -p "$OUT"
RDKAFKA216=$("$KCAT216" -V 2>&1 | grep -o 'librdkafka [0-9.]*' | head -1)
RDKAFKA202=$(kcat -V 2>&1 | grep -o 'librdkafka [0-9.]*' | head -1)
CK=$("$PY" -c 'import confluent_kafka as c; print("confluent-kafka", c.version(), "librdkafka", c.libversion()[0])')
cap() { "$PY" scripts/capture_frames.py --upstream "127.0.0.1:$UP" --listen "$PROXY" --out "$OUT" "$@"; }

for codec in none gzip snappy lz4 zstd; do
  "$TANSU" topic create --broker "tcp://127.0.0.1:$UP" --partitions 1 "fixture-$codec" >/dev/null
  printf 'key-1:value one\nkey-2:value two, a little longer to compress: aaaaaaaaaaaaaaaaaaaaaaaa\n:value without key\nkey-4:\nkey-5:last value\n' >"$LOG.in"
  cap --client kcat216 --client-version "$RDKAFKA216" --codec "$codec" -- \
    sh -c "exec $KCAT216 -b {bootstrap} -P -t fixture-$codec -p 0 -z $codec -K : -H trace=abc -H empty= -X linger.ms=200 -X api.version.request=true <$LOG.in"
  cap --client confluent-kafka --client-version "$CK" --codec "$codec" -- \
    "$PY" -c "
import sys
from confluent_kafka import Producer
p = Producer({'bootstrap.servers': sys.argv[1], 'compression.type': sys.argv[2], 'linger.ms': 200,
              'enable.idempotence': True, 'client.id': 'fixture-producer'})
for i in range(5):
    p.produce('fixture-' + sys.argv[2], key=None if i == 2 else b'key-%d' % i, value=b'value %d ' % i * (i + 1),
              partition=0, headers=[('h', b'v%d' % i)] if i % 2 else None, timestamp=1700000000000 + i)
assert p.flush(30) == 0
" "{bootstrap}" "$codec"
done
rm -f "$LOG.in"
# Debian's kcat (librdkafka 2.0.2) cannot parse Tansu's ApiVersions response (peers README),
# so its frames are captured against our own broker, which advertises the proxy the same way.
SAMSA_BIN=${SAMSA_BIN:-.build/debug/samsa}
"$SAMSA_BIN" broker --help 2>/dev/null | grep -q 'USAGE: samsa broker' || {
  echo "no 'samsa broker' in $SAMSA_BIN: build it first (swift build --product samsa)" >&2; exit 1; }
kill -KILL "$TANSU_PID"; wait "$TANSU_PID" 2>/dev/null || true
DATA=$(mktemp -d /tmp/capture-samsa.XXXXXX)
"$SAMSA_BIN" broker --override node.id=1 \
  --override "listeners=PLAINTEXT://127.0.0.1:$UP" --override "advertised.listeners=PLAINTEXT://127.0.0.1:$PROXY" \
  --override "log.dirs=$DATA" >"$LOG" 2>&1 </dev/null &
SAMSA_PID=$!
trap 'kill -KILL $SAMSA_PID 2>/dev/null || true; rm -rf "$LOG" "$DATA"' EXIT
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$UP") 2>/dev/null && break; sleep 0.1; done
for codec in none gzip snappy lz4 zstd; do
  printf 'key-1:value one\nkey-2:value two, a little longer to compress: aaaaaaaaaaaaaaaaaaaaaaaa\n:value without key\nkey-4:\nkey-5:last value\n' >"$LOG.in"
  "$SAMSA_BIN" topic create "fixture-$codec" --partitions 1 --replication-factor 1 --bootstrap-server "127.0.0.1:$UP" >/dev/null
  cap --client kcat-debian --client-version "$RDKAFKA202" --codec "$codec" -- \
    sh -c "exec kcat -b {bootstrap} -P -t fixture-$codec -p 0 -z $codec -K : -H trace=abc -H empty= -X linger.ms=200 <$LOG.in"
done
rm -f "$LOG.in"
ls -la "$OUT" | tail -n +2 | wc -l
du -sh "$OUT"
