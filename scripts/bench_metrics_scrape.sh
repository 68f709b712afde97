#!/usr/bin/env bash
# Time of one Prometheus scrape of a broker hosting many partitions (issue 15).
#
# Usage: scripts/bench_metrics_scrape.sh [PARTITIONS] [SCRAPES] [TOPICS]
#   defaults: 10000 20 10 (TOPICS topics of PARTITIONS/TOPICS partitions each)
# Env: SAMSA_BIN (default .build/release/samsa), PORT (49592), METRICS_PORT (49594)
#
# Starts a broker with metrics.listener on a temp log dir, creates the topics with
# `samsa topic create`, writes one record to every partition of the first topic (so
# BrokerTopicMetrics series exist), then times SCRAPES sequential `curl` scrapes of /metrics
# and prints min / median / max seconds, the body size and the sample count.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PARTS="${1:-10000}"; SCRAPES="${2:-20}"; TOPICS="${3:-10}"
BIN="${SAMSA_BIN:-$ROOT/.build/release/samsa}"
PORT="${PORT:-49592}"; MPORT="${METRICS_PORT:-49594}"
DIR=$(mktemp -d /tmp/bench-scrape.XXXXXX)
"$BIN" broker --config "$ROOT/config/server.properties" --override "listeners=PLAINTEXT://127.0.0.1:$PORT" \
  --override "advertised.listeners=PLAINTEXT://127.0.0.1:$PORT" --override "log.dirs=$DIR/logs" \
  --override "metrics.listener=http://127.0.0.1:$MPORT" --override "max.broker.partitions=$((PARTS + 100))" \
  --override "offsets.topic.num.partitions=1" > "$DIR/broker.log" 2>&1 < /dev/null &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$MPORT/metrics" && break; sleep 0.1; done
per=$((PARTS / TOPICS))
start=$(date +%s)
for t in $(seq 1 "$TOPICS"); do
  "$BIN" topic create "scrape-$t" --partitions "$per" --bootstrap-server "127.0.0.1:$PORT" > /dev/null
done
echo "created $TOPICS topics x $per partitions in $(( $(date +%s) - start )) s"
seq 1 "$per" | awk '{print "v" $1}' | "$BIN" produce --topic scrape-1 --bootstrap-server "127.0.0.1:$PORT" > /dev/null 2>&1 || true
times=()
for _ in $(seq 1 "$SCRAPES"); do
  times+=("$(curl -s -o "$DIR/scrape.txt" -w '%{time_total}' "http://127.0.0.1:$MPORT/metrics")")
done
sorted=$(printf '%s\n' "${times[@]}" | sort -g)
echo "scrapes: $SCRAPES, min $(echo "$sorted" | head -1) s, median $(echo "$sorted" | sed -n "$(( (SCRAPES + 1) / 2 ))p") s, max $(echo "$sorted" | tail -1) s"
echo "body: $(wc -c < "$DIR/scrape.txt") bytes, $(grep -vc '^#' "$DIR/scrape.txt") samples, partitions: $(grep -c '^kafka_log_log_size{' "$DIR/scrape.txt")"
