// sg/detail/plan_text.hpp — whether a merge value can say in words what it does, for the
// statistics of sg::collect_stats. A typed query can (sg::explain; the specialization is in
// sg/query/explain.hpp, which sg/query/query.hpp includes, so every translation unit that
// sees a typed query sees it too). Private to sg.
#pragma once

namespace sg::detail {

template <class Merge>
struct plan_text {
  static constexpr bool available = false;
};

}  // namespace sg::detail
