// sg/query/fwd.hpp — the names of a typed query that code reading a query needs before
// the query itself: no_clause, has_clause, and a declaration of sg::typed_query (defined
// in sg/query/query.hpp). sg/query/explain.hpp reads queries through these alone, so the
// dependency between the two headers runs one way: query.hpp includes explain.hpp (every
// translation unit that sees a typed query sees its plan text), never the reverse.
// Example: tests/query/query.cpp.
#pragma once

#include <type_traits>

namespace sg {

// An absent clause of a typed query.
struct no_clause {};

// Whether a query has a clause (T, the type of one of its parts, is not no_clause).
template <class T>
inline constexpr bool has_clause = !std::is_same_v<T, no_clause>;

// A query: one member per clause, no_clause where absent (sg/query/query.hpp).
template <class Where, class GroupBy, class Aggregate, class Having, class Distinct, class OrderBy, class Limit,
          class Colocated>
struct typed_query;

}  // namespace sg
