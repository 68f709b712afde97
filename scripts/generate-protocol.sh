#!/usr/bin/env bash
# Regenerates Sources/KafkaProtocol/Messages/ (and the test samples) from Kafka's JSON specs:
# message/*.json -> Messages/, metadata/*.json (the __cluster_metadata records) -> Messages/Metadata/.
# Usage: scripts/generate-protocol.sh [specDir]   (default: $SAMSA_KAFKA_SPECS or ../shared/kafka-protocol/message;
#        the metadata specs are read from the sibling directory <specDir>/../metadata)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
default="$root/../shared/kafka-protocol/message"
# Git worktrees live one level deeper (e.g. wt/<branch>), so look there too.
[ -d "$default" ] || default="$root/../../shared/kafka-protocol/message"
specs="${1:-${SAMSA_KAFKA_SPECS:-$default}}"
metadata_specs="$(cd "$specs/.." && pwd)/metadata"
cd "$root"
swift build --product samsa-protocol-generator
generator="$(swift build --show-bin-path)/samsa-protocol-generator"
"$generator" "$specs" Sources/KafkaProtocol/Messages Tests/KafkaProtocolTests/Generated/MessageSamples.swift
"$generator" --metadata "$metadata_specs" Sources/KafkaProtocol/Messages/Metadata \
    Tests/KafkaProtocolTests/Generated/MetadataRecordSamples.swift
