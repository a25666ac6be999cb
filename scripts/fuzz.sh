#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang++ 14, -fsanitize=fuzzer with
# ASan and UBSan) and runs each for N seconds (default 20), starting from its seed corpus
# in tests/fuzz/corpus/<target>/. New inputs go to build/fuzz/corpus/<target>/ (the seeds
# in the repository are only read); a failing input is saved as
# build/fuzz/artifacts/<target>/crash-* (or timeout-*, oom-*) and the script exits non-zero.
#
#   scripts/fuzz.sh            # every target, 20 s each
#   scripts/fuzz.sh 600        # every target, 10 minutes each
#   scripts/fuzz.sh 60 kll     # one target
#   SG_FUZZ_ARGS="-jobs=4 -workers=4" scripts/fuzz.sh 3600 kll   # more libFuzzer flags
#   build/fuzz/tests/fuzz/sg_fuzz_kll build/fuzz/artifacts/kll/crash-...   # replay one input
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(partition retry kll hyperloglog wire); fi

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "${targets[@]/#/sg_fuzz_}"

status=0
for t in "${targets[@]}"; do
  work="build/fuzz/corpus/$t"
  artifacts="build/fuzz/artifacts/$t"
  mkdir -p "$work" "$artifacts"
  echo "== sg_fuzz_$t: ${seconds} s"
  # -timeout: one input may take at most 10 s; -rss_limit_mb: a run may use at most 2 GB
  if ! "build/fuzz/tests/fuzz/sg_fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" ${SG_FUZZ_ARGS:-} "$work" "tests/fuzz/corpus/$t" \
      2>"build/fuzz/$t.log"; then
    echo "sg_fuzz_$t FAILED: see build/fuzz/$t.log and $artifacts/" >&2
    grep -E "invariant failed|runtime error|ERROR: (AddressSanitizer|libFuzzer)" "build/fuzz/$t.log" | head -5 >&2 || true
    status=1
  else
    grep -E "^stat::number_of_executed_units|^Done" "build/fuzz/$t.log" || true
  fi
done
exit $status
