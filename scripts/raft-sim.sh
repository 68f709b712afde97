#!/usr/bin/env bash
# Long run of the KRaft quorum simulation (Tests/QuorumTests/RaftSimulation.swift): many
# seeded runs from a random base, 3 and 5 voters alternating. CI runs the short form
# (RaftSimulationTests.defaultRuns seeds from seed 1) as part of scripts/test.sh.
#   scripts/raft-sim.sh [runs] [base|random]     default: 5000 runs, random base
# A failure prints its seed; replay it with the trace:
#   SAMSA_RAFT_SEED=<seed> SAMSA_RAFT_VOTERS=<3|5> swift test --skip-build --filter QuorumTests.RaftSimulationTests/testSeededRuns
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
SAMSA_RAFT_RUNS="${1:-5000}" SAMSA_RAFT_SEED_BASE="${2:-random}" \
  swift test --skip-build --filter 'QuorumTests.RaftSimulationTests/testSeededRuns'
