// The shard and the hand-written baseline shared by benchmarks/fanout.cpp (timed) and
// benchmarks/fanout_calls.cpp (instruction counts), so both measure the same thing.
#pragma once

#include <cstddef>
#include <vector>

namespace sg_bench {

// A shard that answers at once with `rows` copies of the request. Not inlined: a real
// shard call never is.
struct noop_shard {
  int rows = 0;
  [[gnu::noinline]] std::vector<int> execute(int request) const {
    return std::vector<int>(static_cast<std::size_t>(rows), request);
  }
};

// What a user would write instead of sg: call each shard, append its rows.
[[gnu::noinline]] inline std::vector<int> hand_loop(std::vector<noop_shard> const& shards) {
  std::vector<int> out;
  for (auto const& s : shards) {
    auto r = s.execute(1);
    if (out.empty())
      out = std::move(r);
    else
      out.insert(out.end(), r.begin(), r.end());
  }
  return out;
}

}  // namespace sg_bench
