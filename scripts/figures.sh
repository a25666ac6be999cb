#!/usr/bin/env bash
# Regenerates every figure in docs/ from a fresh build of the benchmarks, and writes beside
# each the run's date and load average, so that a figure always says when and under what
# load it was taken:
#   docs/merge-throughput.png   bench_merge (sorted merge against k) → scripts/plot-merge.sh
#   docs/tail-latency.png       tail --cdf (hedged fan-out)          → scripts/plot-tail.sh
# The benchmark JSON and CDF files stay in build/figures/ for scripts/bench-ratios.py
# (the ratios docs/merges.md and docs/benchmarks.md quote).
#   scripts/figures.sh            # both figures
#   scripts/figures.sh merge      # only the merge figure (or: tail)
# Installs gnuplot-nox when it is missing (the plot scripts do). Takes about 10 minutes
# on 2 cores (the merge benchmark runs 5 interleaved repetitions).
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
out=build/figures
mkdir -p "$out"

cmake --preset bench >/dev/null
targets=()
[[ $which == all || $which == merge ]] && targets+=(bench_merge)
[[ $which == all || $which == tail ]] && targets+=(tail)
cmake --build --preset bench -j 2 --target "${targets[@]}"

load() { cut -d' ' -f1 /proc/loadavg; }

if [[ $which == all || $which == merge ]]; then
  before=$(load)
  build/bench/benchmarks/bench_merge --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
    --benchmark_display_aggregates_only=true --benchmark_out="$out/merge.json" --benchmark_out_format=json \
    --benchmark_filter='^(merge_(sg|gnu|heap)|copy_floor)/(2|8|64|1024)$|^(merge_sg_portable|merge_sg_moved|merge_sg_into|merge_gnu_into)/(8|64)$|generic|top_k'
  after=$(load)
  echo "$(date -u +%FT%TZ) load average $before -> $after" > "$out/merge.load"
  SG_BENCH_LOAD="$before -> $after" scripts/plot-merge.sh "$out/merge.json" docs/merge-throughput.png
  scripts/bench-ratios.py "$out/merge.json" merge_gnu:merge_sg merge_gnu:merge_sg_portable \
    merge_gnu_into:merge_sg_into merge_gnu:merge_sg_moved copy_floor:merge_sg \
    'merge_gnu_generic<std::string, true>:merge_sg_generic<std::string>' \
    'merge_gnu_generic<pair_key, true>:merge_sg_generic<pair_key>' top_k_nth_element:top_k_sg \
    > "$out/merge-ratios.md"
  echo "figures: merge ratios in $out/merge-ratios.md ($(cat "$out/merge.load"))"
fi

if [[ $which == all || $which == tail ]]; then
  before=$(load)
  build/bench/benchmarks/tail --cdf "$out/tail.cdf"
  after=$(load)
  echo "$(date -u +%FT%TZ) load average $before -> $after" > "$out/tail.load"
  scripts/plot-tail.sh "$out/tail.cdf" docs/tail-latency.png
  echo "figures: tail latency ($(cat "$out/tail.load")); the tail benchmark is simulated time"
fi
