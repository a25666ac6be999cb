#!/usr/bin/env bash
# The README's second command: install what is missing, build everything (release code, -O1) and
# run the whole test suite: unit and property tests, compile-fail tests, the header
# check, the packaging consumers, the examples and a smoke run of every benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --workflow --preset test
