#!/usr/bin/env bash
# Plots sorted-merge throughput against k (sg, GNU multiway_merge, std::priority_queue, and
# std::copy as the floor) from a bench_merge JSON file, as the PNG docs/merges.md shows.
# Installs gnuplot (gnuplot-nox) if it is missing.
#   build/bench/benchmarks/bench_merge --benchmark_filter='^(merge_(sg|gnu|heap)|copy_floor)/' \
#       --benchmark_repetitions=3 --benchmark_out=merge.json --benchmark_out_format=json
#   SG_BENCH_LOAD="3.5 -> 4.0" scripts/plot-merge.sh merge.json docs/merge-throughput.png
# The plot says when the run was (the JSON's date) and, from SG_BENCH_LOAD, under what load
# average (scripts/figures.sh records it around the run).
set -euo pipefail
cd "$(dirname "$0")/.."
json=${1:?usage: plot-merge.sh RESULT.json OUT.png}
png=${2:?usage: plot-merge.sh RESULT.json OUT.png}
command -v gnuplot >/dev/null || scripts/install-deps.sh gnuplot-nox >/dev/null
data=$(mktemp)
trap 'rm -f "$data"' EXIT
# One line per k: k, then million items per second for sg, GNU, heap, copy (medians).
python3 - "$json" > "$data" <<'PY'
import json, sys
from collections import defaultdict
runs = json.load(open(sys.argv[1]))["benchmarks"]
has_median = {b["run_name"] for b in runs if b.get("aggregate_name") == "median"}
rate = defaultdict(dict)
for b in runs:
    if b["run_name"] in has_median and b.get("aggregate_name") != "median":
        continue
    name, _, arg = b["run_name"].partition("/")
    if name in ("merge_sg", "merge_gnu", "merge_heap", "copy_floor") and "items_per_second" in b:
        rate[int(arg)][name] = b["items_per_second"] / 1e6
for k in sorted(rate):
    r = rate[k]
    print(k, *(r.get(n, "NaN") for n in ("merge_sg", "merge_gnu", "merge_heap", "copy_floor")))
PY
when=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["context"]["date"])' "$json")
load=${SG_BENCH_LOAD:-not recorded}
gnuplot <<GP
set terminal pngcairo size 800,480 font ",11" noenhanced
set output "$png"
set title "Sorted k-way merge of 16M int64 (higher is better)\nrun $when, load average $load"
set xlabel "k (runs)"
set ylabel "million rows per second"
set logscale x 2
set key outside right
set grid
plot "$data" using 1:2 with linespoints lw 2 title "sg::merge::sorted", \
     "$data" using 1:3 with linespoints lw 2 title "GNU multiway_merge", \
     "$data" using 1:4 with linespoints lw 2 title "std::priority_queue", \
     "$data" using 1:5 with lines dashtype 2 title "std::copy (floor)"
GP
echo "plot-merge: wrote $png"
