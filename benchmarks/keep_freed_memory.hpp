// benchmarks/keep_freed_memory.hpp — keep_freed_memory(): freed memory stays in the
// process, as a server's allocator keeps it. By default glibc maps each block over its
// (moving) threshold afresh and returns the heap's top to the kernel, so a plan whose
// buffers cross the threshold pays for zeroing new pages on every run — up to 60 times the
// same plan one size smaller (docs/cost.md, docs/queries.md) — and a benchmark measures
// the kernel, not the code. A no-op where the C library is not glibc.
#pragma once

#include <cstdlib>
#include <limits>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

inline void keep_freed_memory() {
  if (std::getenv("SG_BENCH_FRESH_MEMORY") != nullptr) return;
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
#endif
}
