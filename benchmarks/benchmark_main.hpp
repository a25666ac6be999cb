// benchmarks/benchmark_main.hpp — SG_BENCHMARK_MAIN(): Google Benchmark's main, run with freed
// memory kept in the process (keep_freed_memory.hpp), for benchmarks whose timed code
// allocates buffers large enough that glibc's defaults would measure the kernel.
#pragma once

#include <benchmark/benchmark.h>

#include "keep_freed_memory.hpp"

#define SG_BENCHMARK_MAIN()                                            \
  int main(int argc, char** argv) {                                    \
    keep_freed_memory();                                               \
    benchmark::Initialize(&argc, argv);                                \
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;  \
    benchmark::RunSpecifiedBenchmarks();                               \
    benchmark::Shutdown();                                             \
    return 0;                                                          \
  }                                                                    \
  static_assert(true, "SG_BENCHMARK_MAIN() ends with a semicolon")
