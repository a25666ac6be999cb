#!/usr/bin/env bash
# Prints the SQL sg renders for each typed row query shape on PostgreSQL and the plan the
# server chooses (EXPLAIN), over ROWS generated orders on one local server:
#   scripts/pg-explain.sh [ROWS]        # default 200000; builds examples/postgres_explain (test preset)
# docs/adapters.md ("Typed row queries on PostgreSQL") shows its output.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-200000}
cmake --preset test >/dev/null
cmake --build --preset test -j 2 --target postgres_explain >/dev/null
dir=$(mktemp -d /tmp/sg-pg-explain.XXXXXX)
trap 'scripts/pg-cluster.sh stop "$dir" >/dev/null' EXIT
scripts/pg-cluster.sh start "$dir" 1 >/dev/null
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), PostgreSQL $(ls -d /usr/lib/postgresql/*/ | sort -V | tail -1 | xargs basename), $rows rows, load $(cut -d' ' -f1-3 /proc/loadavg)"
build/test/examples/postgres_explain "$dir/conninfo" "$rows"
