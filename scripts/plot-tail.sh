#!/usr/bin/env bash
# Plots query latency against quantile, without hedging and with sg::hedge at each
# shard's p95, from the file `tail --cdf FILE` writes: the PNG docs/resilience.md shows.
# Installs gnuplot (gnuplot-nox) if it is missing.
#   build/bench/benchmarks/tail --cdf tail.cdf
#   scripts/plot-tail.sh tail.cdf docs/tail-latency.png
set -euo pipefail
cd "$(dirname "$0")/.."
cdf=${1:?usage: plot-tail.sh TAIL.cdf OUT.png}
png=${2:?usage: plot-tail.sh TAIL.cdf OUT.png}
command -v gnuplot >/dev/null || scripts/install-deps.sh gnuplot-nox >/dev/null
gnuplot <<GP
set terminal pngcairo size 800,480 font ",11" noenhanced
set output "$png"
set title "Fan-out to 100 shards, 1% stragglers (simulated; lower is better)"
set xlabel "query latency quantile"
set ylabel "query latency, ms"
set logscale y
set xtics ("p50" 0.30103, "p90" 1, "p99" 2, "p99.9" 3)
set key top left
set grid
# x axis: -log10(1 - q), so p50 .. p99.9 are evenly spaced
f(q) = -log10(1 - q)
set xrange [0.2:3.4]
plot "$cdf" using (f(\$1)):2 with linespoints lw 2 title "no hedging", \
     "$cdf" using (f(\$1)):3 with linespoints lw 2 title "sg::hedge at each shard's p95"
GP
echo "wrote $png"
