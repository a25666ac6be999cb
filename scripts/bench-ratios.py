#!/usr/bin/env python3
"""Ratios between benchmarks of one Google Benchmark JSON file, as a Markdown table.

  bench-ratios.py RESULT.json NUMERATOR:DENOMINATOR [...]
  bench-ratios.py RESULT.json NUMERATOR-DENOMINATOR [...]

For each pair and each argument set both benchmarks ran with (the part of the name after
the first '/'), prints time(NUMERATOR) / time(DENOMINATOR), using the median when the run
had repetitions, else the single run's real time. When the file also holds every
repetition (--benchmark_display_aggregates_only rather than report_aggregates_only), it
prints the median of the ratios of repetition i to repetition i instead, with their
range: with --benchmark_enable_random_interleaving each such pair ran close together, so
a machine whose load changes during the run moves both. A ratio below 1 means NUMERATOR
is faster.
With '-', prints (cpu(NUMERATOR) - cpu(DENOMINATOR)) / real(NUMERATOR) in percent: the share
of NUMERATOR's wall time its extra work on this process's CPU takes (benchmarks/postgres.cpp:
what sg's pipeline and merge add to a query on real servers).
Ratios, not absolute times, are what we record: these machines are shared and noisy.
"""
import json
import statistics
import sys
from collections import defaultdict


def load(path):
    with open(path) as f:
        data = json.load(f)
    times = defaultdict(dict)  # name -> args -> (real time, cpu time)
    reps = defaultdict(lambda: defaultdict(dict))  # name -> args -> repetition -> real time
    medians = {b["run_name"] for b in data["benchmarks"] if b.get("aggregate_name") == "median"}
    for b in data["benchmarks"]:
        if b.get("run_type") == "iteration" and b["run_name"] in medians:
            name, _, args = b["run_name"].partition("/")
            reps[name][args.removesuffix("/real_time")][b.get("repetition_index", 0)] = b["real_time"]
        if b["run_name"] in medians and b.get("aggregate_name") != "median":
            continue
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name, _, args = b["run_name"].partition("/")
        args = args.removesuffix("/real_time")
        times[name][args] = (b["real_time"], b["cpu_time"])
    return data.get("context", {}), times, reps


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    context, times, reps = load(argv[1])
    print(f"host: {context.get('num_cpus', '?')} CPUs, {context.get('date', '')}\n")
    for pair in argv[2:]:
        # The separator is the ':' (or '-') outside a template's <…>: names may hold '::'.
        depth, cut = 0, None
        for i, c in enumerate(pair):
            depth += (c == "<") - (c == ">")
            if depth == 0 and cut is None and (c == "-" or (c == ":" and pair[i - 1:i + 2].count(":") == 1)):
                cut = i
        if cut is None:
            print(f"no ':' or '-' in {pair}", file=sys.stderr)
            return 2
        extra_cpu = pair[cut] == "-"
        num, den = pair[:cut], pair[cut + 1:]
        if extra_cpu:
            print(f"| {num} | cpu({num}) − cpu({den}), % of real({num}) |")
            cell = lambda n, d: f"{100 * (n[1] - d[1]) / n[0]:.2f} %"
        else:
            print(f"| {num} / {den} | ratio |")
            cell = lambda n, d: f"{n[0] / d[0]:.3g}"
        print("|---|---|")
        # Argument sets both ran with; a benchmark without arguments pairs with every
        # argument set of the other.
        if set(times[num]) == {""}:
            pairs = [(d, "", d) for d in times[den]]
        elif set(times[den]) == {""}:
            pairs = [(n, n, "") for n in times[num]]
        else:
            pairs = [(n, n, n) for n in times[num] if n in times[den]]
        for label, args, dargs in pairs:
            t = times[num][args]
            a, b = reps[num].get(args, {}), reps[den].get(dargs, {})
            both = sorted(set(a) & set(b))
            if not extra_cpu and len(both) > 1:
                ratios = sorted(a[i] / b[i] for i in both)
                print(f"| {label} | {statistics.median(ratios):.3g} "
                      f"({ratios[0]:.3g}–{ratios[-1]:.3g}, {len(ratios)} pairs) |")
            else:
                print(f"| {label} | {cell(t, times[den][dargs])} |")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
