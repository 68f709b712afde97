#!/usr/bin/env bash
# Long run of the data-path replication simulation (Tests/BrokerTests/ReplicationSimulation.swift):
# many seeded runs of 3 brokers, one partition at RF 3 / min.insync.replicas 2, with kills, power
# loss, cut links, zombie leaders and delayed answers. CI runs the short form
# (ReplicationSimulationTests.defaultRuns seeds from seed 1) as part of scripts/test.sh.
#   scripts/replication-sim.sh [runs] [base]      default: 2000 runs from a random base
# A failure prints its seed; replay it with the trace:
#   SAMSA_REPL_SEED=<seed> swift test --skip-build --filter ReplicationSimulationTests/testReplaySeed
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
base="${2:-$(( (RANDOM << 15 | RANDOM) + 1000 ))}"
echo "replication simulation: ${1:-2000} runs from seed $base"
SAMSA_REPL_RUNS="${1:-2000}" SAMSA_REPL_SEED_BASE="$base" \
  swift test --skip-build --filter 'BrokerTests.ReplicationSimulationTests/testSeeds'
