#!/usr/bin/env bash
# The README's first command: install what is missing, build the demo and run it —
# a million generated orders split by customer over four SQLite shard files in a
# temporary directory, five typed queries answered by the databases and merged by sg,
# each checked against one database holding every row (examples/orders_sqlite.cpp).
# Arguments go to the demo: [orders] [shards] [--keep].
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset demo
echo
build/release/examples/orders_sqlite "$@"
