#!/usr/bin/env bash
# Compile cost of <sg/sg.hpp> against its dependencies alone: the same compiler parses
# (a) a file including <sg/sg.hpp> and (b) a file including exactly the non-sg headers
# that the sg headers <sg/sg.hpp> reaches include (its closure: not the adapters, which
# need <sqlite3.h> or <libpq-fe.h> and which sg.hpp leaves out); prints the median of RUNS
# timings of each and the ratio.
# The goal is a ratio of at most 1.5. Usage: scripts/compile-cost.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
cxx=${CXX:-g++}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo '#include <sg/sg.hpp>' > "$work/sg.cpp"
# The headers <sg/sg.hpp> reaches, followed include by include; their other includes.
python3 - > "$work/deps.cpp" <<'PY'
import re
seen, todo, deps = set(), ["sg/sg.hpp"], set()
while todo:
    header = todo.pop()
    if header in seen:
        continue
    seen.add(header)
    for line in open("include/" + header):
        m = re.match(r"#include <([^>]+)>", line)
        if m:
            (todo.append if m.group(1).startswith("sg/") else deps.add)(m.group(1))
print("\n".join(f"#include <{d}>" for d in sorted(deps)))
PY

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
time_one() {  # seconds to compile $1 (full -c at -O0: what a user's debug build pays)
  local start end
  start=$(date +%s.%N)
  "$cxx" -std=c++20 -Iinclude -c "$1" -o "$work/out.o"
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}
"$cxx" -std=c++20 -Iinclude -c "$work/sg.cpp" -o "$work/out.o"  # warm the file cache
for _ in $(seq "$runs"); do time_one "$work/deps.cpp"; done | median > "$work/deps.t"
for _ in $(seq "$runs"); do time_one "$work/sg.cpp"; done | median > "$work/sg.t"
deps=$(cat "$work/deps.t")
sg=$(cat "$work/sg.t")
echo "dependencies alone ($(wc -l < "$work/deps.cpp") headers): ${deps} s"
echo "<sg/sg.hpp>:                            ${sg} s"
awk -v a="$sg" -v b="$deps" 'BEGIN { printf "ratio: %.2f\n", a / b }'
