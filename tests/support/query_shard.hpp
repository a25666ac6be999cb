// An in-memory shard that answers the shard half of any typed query, and a row for it.
#pragma once

#include <sg/query/local.hpp>

#include <vector>

namespace sg_test {

struct sale {
  int region;
  long cents;
  friend bool operator==(sale const&, sale const&) = default;
};

struct query_shard {
  std::vector<sale> rows_;
  auto execute(auto const& q) const { return sg::local::run(q, rows_); }
};

}  // namespace sg_test
