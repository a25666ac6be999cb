#!/usr/bin/env bash
# Instructions per call of an inline gather and of the hand-written loop doing the same
# calls (benchmarks/fanout_calls.cpp), counted by callgrind: exact and repeatable, unlike
# wall-clock time on a shared machine. Needs valgrind and a built bench preset:
#   cmake --workflow ... or: cmake --preset bench && cmake --build --preset bench
#   scripts/count-instructions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
binary=build/bench/benchmarks/fanout_calls
command -v valgrind >/dev/null || { echo "count-instructions: needs valgrind" >&2; exit 1; }
[[ -x $binary ]] || { echo "count-instructions: build the bench preset first" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "| shards | rows | hand loop | pipeline | ratio |"
echo "|---|---|---|---|---|"
for shards in 1 8 64; do
  for rows in 0 1 100; do
    valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$binary" "$shards" "$rows" >/dev/null 2>&1
    callgrind_annotate --inclusive=yes "$out/cg" > "$out/txt" 2>/dev/null
    count() { grep -E "^ *[0-9,]+ \(.*[: ]$1" "$out/txt" | head -1 | awk '{gsub(",", "", $1); print $1}'; }
    hand=$(count '\(anonymous namespace\)::hand_loop_rows')
    pipe=$(count 'unsigned long \(anonymous namespace\)::pipeline_inline')
    awk -v s="$shards" -v r="$rows" -v h="$hand" -v p="$pipe" \
      'BEGIN { printf "| %d | %d | %.0f | %.0f | %.2f |\n", s, r, h / 10000, p / 10000, p / h }'
  done
done
