#!/usr/bin/env bash
# The project's test command (README.md): builds every target, the `samsa` executable
# included, then runs every unit test. Extra arguments go to `swift test`, for example
# `scripts/test.sh --filter KafkaProtocolTests`.
# Building first and testing with --skip-build keeps compile errors and test failures
# in two clearly separate steps of the log.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test --skip-build "$@"
