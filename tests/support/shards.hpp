// Test shards: in-memory rows that answer, throw, or return an error, as told.
#pragma once

#include <sg/error.hpp>

#include <boost/system/result.hpp>

#include <cstddef>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace sg_test {

enum class mode { answer, throw_system_error, throw_exception, throw_int, return_error };

struct scripted_shard {
  std::vector<int> rows;
  mode behaviour = mode::answer;

  // The request is a threshold: answer the rows >= it.
  boost::system::result<std::vector<int>> execute(int min) const {
    switch (behaviour) {
      case mode::throw_system_error:
        throw std::system_error(std::make_error_code(std::errc::connection_reset), "lost");
      case mode::throw_exception:
        throw std::runtime_error("disk on fire");
      case mode::throw_int:
        throw 42;
      case mode::return_error:
        return boost::system::error_code(sg::errc::timeout);
      case mode::answer:
        break;
    }
    std::vector<int> out;
    for (int r : rows)
      if (r >= min) out.push_back(r);
    return out;
  }
};

inline std::vector<scripted_shard> random_shards(std::mt19937_64& rng, double failure_rate) {
  std::uniform_int_distribution<std::size_t> count(0, 24), size(0, 20);
  std::uniform_int_distribution<int> value(0, 99);
  std::bernoulli_distribution fails(failure_rate);
  std::uniform_int_distribution<int> how(1, 4);
  std::vector<scripted_shard> shards(count(rng));
  for (auto& s : shards) {
    s.rows.resize(size(rng));
    for (auto& r : s.rows) r = value(rng);
    if (fails(rng)) s.behaviour = static_cast<mode>(how(rng));
  }
  return shards;
}

// What a pipeline must return: the answering shards' rows, in shard order.
inline std::vector<int> reference(std::vector<scripted_shard> const& shards, int min) {
  std::vector<int> out;
  for (auto const& s : shards)
    if (s.behaviour == mode::answer)
      for (int r : s.rows)
        if (r >= min) out.push_back(r);
  return out;
}

inline std::size_t answering(std::vector<scripted_shard> const& shards) {
  std::size_t n = 0;
  for (auto const& s : shards) n += s.behaviour == mode::answer;
  return n;
}

}  // namespace sg_test
