#!/usr/bin/env bash
# Regenerates Sources/KafkaProtocol/Messages/ (and the test samples) from Kafka's JSON specs.
# Usage: scripts/generate-protocol.sh [specDir]   (default: $SAMSA_KAFKA_SPECS or ../shared/kafka-protocol/message)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
default="$root/../shared/kafka-protocol/message"
# Git worktrees live one level deeper (e.g. wt/<branch>), so look there too.
[ -d "$default" ] || default="$root/../../shared/kafka-protocol/message"
specs="${1:-${SAMSA_KAFKA_SPECS:-$default}}"
cd "$root"
swift build --product samsa-protocol-generator
"$(swift build --show-bin-path)/samsa-protocol-generator" "$specs" \
    Sources/KafkaProtocol/Messages Tests/KafkaProtocolTests/Generated/MessageSamples.swift
