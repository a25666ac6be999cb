// Shared by sg's libFuzzer targets: an invariant check that aborts with a message (so
// libFuzzer saves the input), whatever NDEBUG says.
#pragma once

#include <cstdio>
#include <cstdlib>

#define SG_FUZZ_CHECK(cond)                                                              \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)
