#!/usr/bin/env bash
# The README's first command: install what is missing, build the quickstart demo and
# run it (orders on in-memory shards).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset quickstart
echo
build/release/examples/quickstart
