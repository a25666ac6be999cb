#!/usr/bin/env python3
"""Ratios between benchmarks of one Google Benchmark JSON file, as a Markdown table.

  bench-ratios.py RESULT.json NUMERATOR:DENOMINATOR [...]
  bench-ratios.py RESULT.json NUMERATOR-DENOMINATOR [...]

For each pair and each argument set both benchmarks ran with (the part of the name after
the first '/'), prints time(NUMERATOR) / time(DENOMINATOR), using the median when the run
had repetitions, else the single run's real time. A ratio below 1 means NUMERATOR is faster.
With '-', prints (cpu(NUMERATOR) - cpu(DENOMINATOR)) / real(NUMERATOR) in percent: the share
of NUMERATOR's wall time its extra work on this process's CPU takes (benchmarks/postgres.cpp:
what sg's pipeline and merge add to a query on real servers).
Ratios, not absolute times, are what we record: these machines are shared and noisy.
"""
import json
import sys
from collections import defaultdict


def load(path):
    with open(path) as f:
        data = json.load(f)
    times = defaultdict(dict)  # name -> args -> (time, unit)
    medians = {b["run_name"] for b in data["benchmarks"] if b.get("aggregate_name") == "median"}
    for b in data["benchmarks"]:
        if b["run_name"] in medians and b.get("aggregate_name") != "median":
            continue
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name, _, args = b["run_name"].partition("/")
        args = args.removesuffix("/real_time")
        times[name][args] = (b["real_time"], b["cpu_time"])
    return data.get("context", {}), times


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    context, times = load(argv[1])
    print(f"host: {context.get('num_cpus', '?')} CPUs, {context.get('date', '')}\n")
    for pair in argv[2:]:
        extra_cpu = "-" in pair
        num, _, den = pair.partition("-" if extra_cpu else ":")
        if extra_cpu:
            print(f"| {num} | cpu({num}) − cpu({den}), % of real({num}) |")
            cell = lambda n, d: f"{100 * (n[1] - d[1]) / n[0]:.2f} %"
        else:
            print(f"| {num} / {den} | ratio |")
            cell = lambda n, d: f"{n[0] / d[0]:.3g}"
        print("|---|---|")
        for args, t in times[num].items():
            if args in times[den]:
                print(f"| {args} | {cell(t, times[den][args])} |")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
