// Instruction counts of one inline gather beside the hand-written loop, for
// scripts/count-instructions.sh (valgrind --tool=callgrind): unlike wall-clock time on a
// shared machine, these are exact and repeatable. Usage: fanout_calls SHARDS ROWS.
#include "fanout_common.hpp"

#include <sg/merge/concat.hpp>
#include <sg/pipeline.hpp>

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

using sg_bench::noop_shard;

[[gnu::noinline]] std::size_t hand_loop_rows(std::vector<noop_shard> const& shards) {
  return sg_bench::hand_loop(shards).size();
}

template <class Pipe>
[[gnu::noinline]] std::size_t pipeline_inline(Pipe const& pipe) {
  return pipe(1).value.size();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s SHARDS ROWS\n", argv[0]);
    return 2;
  }
  const std::vector<noop_shard> shards(std::strtoul(argv[1], nullptr, 10),
                                       noop_shard{std::atoi(argv[2])});
  const auto pipe = sg::scatter(shards) | sg::gather(sg::merge::concat());
  std::size_t total = 0;
  for (int i = 0; i < 10000; ++i) total += hand_loop_rows(shards) + pipeline_inline(pipe);
  std::printf("%zu\n", total);
  return 0;
}
