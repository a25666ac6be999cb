// Instruction counts of one inline gather beside the hand-written loop, for
// scripts/count-instructions.sh (valgrind --tool=callgrind): unlike wall-clock time on a
// shared machine, these are exact and repeatable. Usage: fanout_calls SHARDS ROWS.
#include <sg/merge/concat.hpp>
#include <sg/pipeline.hpp>

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

struct noop_shard {
  int rows = 0;
  [[gnu::noinline]] std::vector<int> execute(int request) const {
    return std::vector<int>(static_cast<std::size_t>(rows), request);
  }
};

[[gnu::noinline]] std::size_t hand_loop(std::vector<noop_shard> const& shards) {
  std::vector<int> out;
  for (auto const& s : shards) {
    auto r = s.execute(1);
    if (out.empty())
      out = std::move(r);
    else
      out.insert(out.end(), r.begin(), r.end());
  }
  return out.size();
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
  for (int i = 0; i < 10000; ++i) total += hand_loop(shards) + pipeline_inline(pipe);
  std::printf("%zu\n", total);
  return 0;
}
