// sg/query/predicate.hpp — row predicates a query can read: comparisons of a column with a
// constant, BETWEEN, IN, LIKE, IS NULL, and AND / OR / NOT of those.
//
//   auto recent_eu = sg::eq(&order::region, "eu") && sg::ge(&order::day, 20'000) &&
//                    !sg::like(&order::sku, "TEST-%");
//   sg::query(sg::where(recent_eu), ...)
//
// A column is any projection of a row (a member pointer, a lambda); sg::named("region",
// &order::region) gives it a name that sg::explain prints. Unlike a lambda, these
// predicates say what they test, so a cost model can estimate their selectivity from
// statistics (sg/cost/selectivity.hpp) and a store can translate them (SQL adapters).
// Any other callable works too — sg::where(lambda), or sg::predicate(lambda, 0.1) with a
// selectivity hint — but is opaque to both.
//
// NULL: a column whose value is a std::optional is NULL when empty. Comparisons with NULL
// are UNKNOWN, and AND / OR / NOT follow SQL's three-valued (Kleene) logic; a row passes a
// WHERE only when the predicate is TRUE (so `!sg::eq(col, 3)` skips NULL rows, as in SQL).
// truth(row) gives the three-valued answer, p(row) whether the row passes. Comparisons
// use the column's own operators (== and <), so strings compare with string literals;
// two integers compare by value whatever their signedness (a count > 0u or > 0 alike),
// and an integer with a floating-point value exactly (INT64_MAX < 2^63, as SQLite has it).
// Floating point compares in sg's total order, as PostgreSQL's float8 operators do
// (sg/order.hpp; docs/reliability.md): NaN = NaN is TRUE, NaN > every number (+inf
// included), -0.0 = 0.0; so sg::gt(col, 1.0) passes NaN rows and sg::lt does not.
// Predicates are regular values, cheap to copy unless they hold strings or IN lists.
// Example: tests/query/predicate.cpp.
#pragma once

#include <sg/detail/type_traits.hpp>
#include <sg/order.hpp>

#include <boost/unordered/unordered_flat_set.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace sg {

// SQL's three truth values.
enum class truth : std::uint8_t { no, yes, unknown };

constexpr truth operator&&(truth a, truth b) noexcept {
  if (a == truth::no || b == truth::no) return truth::no;
  if (a == truth::unknown || b == truth::unknown) return truth::unknown;
  return truth::yes;
}
constexpr truth operator||(truth a, truth b) noexcept {
  if (a == truth::yes || b == truth::yes) return truth::yes;
  if (a == truth::unknown || b == truth::unknown) return truth::unknown;
  return truth::no;
}
constexpr truth operator!(truth a) noexcept {
  return a == truth::unknown ? truth::unknown : (a == truth::yes ? truth::no : truth::yes);
}
constexpr truth to_truth(bool b) noexcept { return b ? truth::yes : truth::no; }

// A projection with a name, for sg::explain and for statistics: sg::named("price", &row::price).
template <class Proj>
struct named_column {
  std::string_view name;
  Proj proj;

  template <class Row>
    requires std::invocable<Proj const&, Row const&>
  constexpr decltype(auto) operator()(Row const& row) const {
    return std::invoke(proj, row);
  }
};

// Names a column; `name` must outlive the query (a string literal does).
template <class Proj>
constexpr named_column<Proj> named(std::string_view name, Proj proj) {
  return {name, std::move(proj)};
}

namespace detail {

// A constant as a predicate keeps it: strings (literals, views) become std::string, since
// a predicate is a value and must not point into a caller's buffer.
template <class V>
using stored_constant_t =
    std::conditional_t<std::is_convertible_v<V, std::string_view>, std::string, std::remove_cvref_t<V>>;

// An integer i against a floating-point f that is not NaN, exactly (-1, 0, 1 for i < f,
// i == f, i > f): no rounding of i to f's type, so INT64_MAX is below 2^63 (which is what
// it rounds to as a double) and 2^53 + 1 is above 2^53. SQLite compares INTEGER with REAL
// exactly too; sg::sqlite binds such constants and must agree.
template <class I, class F>
constexpr int compare_integer_float(I i, F f) {
  using L = long double;
  if (f != f) return -1;  // NaN: above every number (not reached through value_less)
  // [lo, hi) holds every value of I, and both ends are exact powers of two in F (or ±inf).
  const L lo = std::is_signed_v<I> ? -static_cast<L>(std::numeric_limits<I>::max()) - 1 : L(0);
  const L hi = (static_cast<L>(std::numeric_limits<I>::max() / 2) + 1) * 2;
  const L x = static_cast<L>(f);
  if (x < lo) return 1;
  if (x >= hi) return -1;
  // lo <= x < hi: trunc(x) fits I exactly.
  const L t = x < 0 ? -static_cast<L>(static_cast<std::uintmax_t>(-x)) : static_cast<L>(static_cast<std::uintmax_t>(x));
  const I whole = static_cast<I>(t);
  if (std::cmp_less(i, whole)) return -1;
  if (std::cmp_less(whole, i)) return 1;
  return x > t ? -1 : x < t ? 1 : 0;
}

// a == b and a < b, exact across signedness for two integers (std::cmp_equal, cmp_less:
// a count compared with -1 is greater, not equal to a huge unsigned value), exact between
// an integer and a floating-point value (compare_integer_float), and in sg's total order
// for floating point (sg/order.hpp: NaN equals NaN and is above every number).
template <class A, class B>
constexpr bool value_equal(A const& a, B const& b) {
  if constexpr (is_integer<A> && is_integer<B>)
    return std::cmp_equal(a, b);
  else if constexpr (is_integer<A> && std::is_floating_point_v<B>)
    return b == b && compare_integer_float(a, b) == 0;
  else if constexpr (std::is_floating_point_v<A> && is_integer<B>)
    return a == a && compare_integer_float(b, a) == 0;
  else
    return total_equal(a, b);
}
template <class A, class B>
constexpr bool value_less(A const& a, B const& b) {
  if constexpr (is_integer<A> && is_integer<B>)
    return std::cmp_less(a, b);
  else if constexpr (is_integer<A> && std::is_floating_point_v<B>)
    return b != b || compare_integer_float(a, b) < 0;  // NaN above every number
  else if constexpr (std::is_floating_point_v<A> && is_integer<B>)
    return a == a && compare_integer_float(b, a) > 0;
  else
    return total_less(a, b);
}

// Stores a constant as stored_constant_t.
template <class V>
constexpr stored_constant_t<V> store(V&& v) {
  return stored_constant_t<V>(std::forward<V>(v));
}

// Calls f(value) with the column's value, or returns UNKNOWN when it is NULL.
template <class Proj, class Row, class F>
constexpr truth with_value(Proj const& proj, Row const& row, F&& f) {
  decltype(auto) v = std::invoke(proj, row);
  if constexpr (is_optional<std::remove_cvref_t<decltype(v)>>) {
    if (!v) return truth::unknown;
    return to_truth(f(*v));
  } else {
    return to_truth(f(v));
  }
}

// SQL LIKE: '%' matches any run of characters, '_' any one character, everything else
// itself (no escape character). Linear in text size times pattern pieces: the greedy
// match with one backtrack point, as glob matchers do.
constexpr bool like_match(std::string_view text, std::string_view pattern) noexcept {
  std::size_t t = 0, p = 0;
  std::size_t star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '_' || (pattern[p] != '%' && pattern[p] == text[t]))) {
      ++t;
      ++p;
    } else if (p < pattern.size() && pattern[p] == '%') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

}  // namespace detail

// The kinds of node a predicate tree has: six leaves (a comparison, BETWEEN, IN, LIKE,
// IS [NOT] NULL, a custom callable) and two inner nodes (AND / OR, NOT). Every node type
// below names its kind as `node`; sg::fold_predicate dispatches on it.
enum class predicate_kind : std::uint8_t { compare, between, in, like, null_test, custom, logic, negation };

// How a comparison compares the column (left) with the constant (right).
enum class compare_op : std::uint8_t { eq, ne, lt, le, gt, ge };

// column <op> value.
template <class Proj, class V, compare_op Op>
struct compare_predicate {
  using sg_predicate = void;
  static constexpr predicate_kind node = predicate_kind::compare;
  static constexpr compare_op op = Op;
  Proj column;
  V value;

  template <class Row>
    requires std::invocable<Proj const&, Row const&>
  constexpr truth truth_of(Row const& row) const {
    return detail::with_value(column, row, [&](auto const& x) -> bool {
      using detail::value_equal, detail::value_less;
      if constexpr (Op == compare_op::eq) return value_equal(x, value);
      else if constexpr (Op == compare_op::ne) return !value_equal(x, value);
      else if constexpr (Op == compare_op::lt) return value_less(x, value);
      else if constexpr (Op == compare_op::le) return !value_less(value, x);
      else if constexpr (Op == compare_op::gt) return value_less(value, x);
      else return !value_less(x, value);
    });
  }
  template <class Row>
    requires std::invocable<Proj const&, Row const&>
  constexpr bool operator()(Row const& row) const {
    return truth_of(row) == truth::yes;
  }
};

// lo <= column <= hi (SQL BETWEEN, both ends included).
template <class Proj, class V>
struct between_predicate {
  using sg_predicate = void;
  static constexpr predicate_kind node = predicate_kind::between;
  Proj column;
  V lo, hi;

  template <class Row>
    requires std::invocable<Proj const&, Row const&>
  constexpr truth truth_of(Row const& row) const {
    return detail::with_value(column, row, [&](auto const& x) -> bool { return !detail::value_less(x, lo) && !detail::value_less(hi, x); });
  }
  template <class Row>
    requires std::invocable<Proj const&, Row const&>
  constexpr bool operator()(Row const& row) const {
    return truth_of(row) == truth::yes;
  }
};

namespace detail {
// The longest IN list a row scans; a longer one is probed as a set or binary-searched.
inline constexpr std::size_t in_scan_limit = 16;
// What sg::in adds to a list of integers: a hash set of its values (see in_predicate).
struct no_index {};
template <class V>
using in_index_t = std::conditional_t<is_integer<V>, boost::unordered_flat_set<V>, no_index>;
}  // namespace detail

// column IN (values...). The builders sort the list and drop duplicates when its values
// are ordered (`sorted`). Beyond 16 values, a list of integers is also kept as a hash set
// (`index`, one probe a row, exact across signedness and widths), any other ordered list
// is binary-searched (O(log n) a row); a shorter list, or one of values without <, is
// scanned. Measured in benchmarks/query.cpp, a scan with the set is 2-24 times as fast as
// with a binary search of the same list, from 30 values to a million.
template <class Proj, class V>
struct in_predicate {
  using sg_predicate = void;
  static constexpr predicate_kind node = predicate_kind::in;
  Proj column;
  std::vector<V> values;
  bool sorted = false;               // values ascending and unique (set by sg::in)
  detail::in_index_t<V> index = {};  // integers: the values as a hash set, when sg::in built it

  // Whether a row's value is binary-searched in the list (sorted, longer than the scan
  // limit), when the hash set does not answer first; otherwise the list is scanned.
  bool searched() const noexcept { return sorted && values.size() > detail::in_scan_limit; }

  template <class Row>
    requires std::invocable<Proj const&, Row const&>
  truth truth_of(Row const& row) const {
    return detail::with_value(column, row, [&](auto const& x) -> bool {
      using X = std::remove_cvref_t<decltype(x)>;
      if constexpr (detail::is_integer<V> && detail::is_integer<X>) {
        if (!index.empty()) return std::in_range<V>(x) && index.contains(static_cast<V>(x));
      }
      if (searched())
        return std::ranges::binary_search(values, x, [](auto const& a, auto const& b) { return detail::value_less(a, b); });
      for (auto const& v : values)
        if (detail::value_equal(x, v)) return true;
      return false;
    });
  }
  template <class Row>
    requires std::invocable<Proj const&, Row const&>
  bool operator()(Row const& row) const {
    return truth_of(row) == truth::yes;
  }
};

// column LIKE pattern (see detail::like_match); the column must convert to std::string_view.
template <class Proj>
struct like_predicate {
  using sg_predicate = void;
  static constexpr predicate_kind node = predicate_kind::like;
  Proj column;
  std::string pattern;

  template <class Row>
    requires std::invocable<Proj const&, Row const&>
  truth truth_of(Row const& row) const {
    return detail::with_value(column, row, [&](auto const& x) -> bool {
      return detail::like_match(std::string_view(x), pattern);
    });
  }
  template <class Row>
    requires std::invocable<Proj const&, Row const&>
  bool operator()(Row const& row) const {
    return truth_of(row) == truth::yes;
  }
};

// column IS NULL (or IS NOT NULL when `negated`): never UNKNOWN.
template <class Proj>
struct null_predicate {
  using sg_predicate = void;
  static constexpr predicate_kind node = predicate_kind::null_test;
  Proj column;
  bool negated = false;

  template <class Row>
    requires std::invocable<Proj const&, Row const&>
  constexpr truth truth_of(Row const& row) const {
    decltype(auto) v = std::invoke(column, row);
    bool null = false;
    if constexpr (detail::is_optional<std::remove_cvref_t<decltype(v)>>) null = !v.has_value();
    return to_truth(null != negated);
  }
  template <class Row>
    requires std::invocable<Proj const&, Row const&>
  constexpr bool operator()(Row const& row) const {
    return truth_of(row) == truth::yes;
  }
};

// Any callable row -> bool, opaque to cost models; `selectivity` is the caller's estimate
// of the fraction of rows it passes (NaN: unknown, the model's default applies).
template <class F>
struct custom_predicate {
  using sg_predicate = void;
  static constexpr predicate_kind node = predicate_kind::custom;
  F test;
  double selectivity = std::numeric_limits<double>::quiet_NaN();

  template <class Row>
    requires std::predicate<F const&, Row const&>
  constexpr truth truth_of(Row const& row) const {
    return to_truth(static_cast<bool>(std::invoke(test, row)));
  }
  template <class Row>
    requires std::predicate<F const&, Row const&>
  constexpr bool operator()(Row const& row) const {
    return static_cast<bool>(std::invoke(test, row));
  }
};

enum class logic_op : std::uint8_t { and_, or_ };

// a AND b, a OR b (Kleene); the right side is not evaluated when the left decides.
template <class A, class B, logic_op Op>
struct logic_predicate {
  using sg_predicate = void;
  static constexpr predicate_kind node = predicate_kind::logic;
  static constexpr logic_op op = Op;
  A left;
  B right;

  template <class Row>
    requires requires(A const& a, B const& b, Row const& r) { a.truth_of(r); b.truth_of(r); }
  constexpr truth truth_of(Row const& row) const {
    const truth l = left.truth_of(row);
    if constexpr (Op == logic_op::and_) {
      if (l == truth::no) return truth::no;
      return l && right.truth_of(row);
    } else {
      if (l == truth::yes) return truth::yes;
      return l || right.truth_of(row);
    }
  }
  template <class Row>
    requires requires(A const& a, B const& b, Row const& r) { a.truth_of(r); b.truth_of(r); }
  constexpr bool operator()(Row const& row) const {
    return truth_of(row) == truth::yes;
  }
};

// NOT p.
template <class P>
struct not_predicate {
  using sg_predicate = void;
  static constexpr predicate_kind node = predicate_kind::negation;
  P operand;

  template <class Row>
    requires requires(P const& p, Row const& r) { p.truth_of(r); }
  constexpr truth truth_of(Row const& row) const {
    return !operand.truth_of(row);
  }
  template <class Row>
    requires requires(P const& p, Row const& r) { p.truth_of(r); }
  constexpr bool operator()(Row const& row) const {
    return truth_of(row) == truth::yes;
  }
};

// One of the predicate types above (which cost models and adapters can read).
template <class P>
concept predicate_expression = requires { typename std::remove_cvref_t<P>::sg_predicate; };

template <class A, class B>
  requires predicate_expression<A> && predicate_expression<B>
constexpr logic_predicate<std::remove_cvref_t<A>, std::remove_cvref_t<B>, logic_op::and_> operator&&(A&& a, B&& b) {
  return {std::forward<A>(a), std::forward<B>(b)};
}
template <class A, class B>
  requires predicate_expression<A> && predicate_expression<B>
constexpr logic_predicate<std::remove_cvref_t<A>, std::remove_cvref_t<B>, logic_op::or_> operator||(A&& a, B&& b) {
  return {std::forward<A>(a), std::forward<B>(b)};
}
template <class P>
  requires predicate_expression<P>
constexpr not_predicate<std::remove_cvref_t<P>> operator!(P&& p) {
  return {std::forward<P>(p)};
}

// --- the one walk of a predicate tree ----------------------------------------------------

// sg::fold_predicate(p, v): folds predicate tree p bottom-up with visitor v, the walk that
// every reader of a predicate (sg::explain, sg::cost::selectivity, the SQL renderer) uses.
// Each leaf is handed to v by kind — v.compare(n), v.between(n), v.in(n), v.like(n),
// v.null_test(n), v.custom(n) — and each inner node with its children already folded:
// v.logic(n, left, right) (n.op is AND or OR) and v.negation(n, operand). The left child is
// folded before the right, so a visitor that appends to a list (bound parameters) sees
// the nodes in the text order of the predicate. The leaves' results must share one type R
// (the result of v.compare or whichever leaf comes first); the walk is a compile-time
// recursion over the tree's type, one call a node. A visitor that lacks the handler a
// node needs is a compile-time sentence naming it. Example: tests/query/predicate.cpp.
struct fold_predicate_fn {
  template <class P, class V>
  constexpr decltype(auto) operator()(P const& p, V&& v) const {
    static_assert(predicate_expression<P>,
                  "sg::fold_predicate: P is not a predicate of sg/query/predicate.hpp (sg::eq, sg::in, sg::like, "
                  "sg::predicate(f), &&, ||, !, ...)");
    constexpr predicate_kind k = P::node;
    if constexpr (k == predicate_kind::logic) {
      static_assert(requires { v.logic(p, (*this)(p.left, v), (*this)(p.right, v)); },
                    "sg::fold_predicate: the visitor has no v.logic(node, left, right) for an AND / OR node");
      auto left = (*this)(p.left, v);  // left first: the text order
      auto right = (*this)(p.right, v);
      return v.logic(p, std::move(left), std::move(right));
    } else if constexpr (k == predicate_kind::negation) {
      static_assert(requires { v.negation(p, (*this)(p.operand, v)); },
                    "sg::fold_predicate: the visitor has no v.negation(node, operand) for a NOT node");
      return v.negation(p, (*this)(p.operand, v));
    } else if constexpr (k == predicate_kind::compare) {
      static_assert(requires { v.compare(p); }, "sg::fold_predicate: the visitor has no v.compare(node) for a comparison");
      return v.compare(p);
    } else if constexpr (k == predicate_kind::between) {
      static_assert(requires { v.between(p); }, "sg::fold_predicate: the visitor has no v.between(node) for BETWEEN");
      return v.between(p);
    } else if constexpr (k == predicate_kind::in) {
      static_assert(requires { v.in(p); }, "sg::fold_predicate: the visitor has no v.in(node) for an IN list");
      return v.in(p);
    } else if constexpr (k == predicate_kind::like) {
      static_assert(requires { v.like(p); }, "sg::fold_predicate: the visitor has no v.like(node) for LIKE");
      return v.like(p);
    } else if constexpr (k == predicate_kind::null_test) {
      static_assert(requires { v.null_test(p); }, "sg::fold_predicate: the visitor has no v.null_test(node) for IS NULL");
      return v.null_test(p);
    } else {
      static_assert(requires { v.custom(p); },
                    "sg::fold_predicate: the visitor has no v.custom(node) for a custom predicate (sg::predicate(f))");
      return v.custom(p);
    }
  }
};
inline constexpr fold_predicate_fn fold_predicate{};

// --- builders ---------------------------------------------------------------------------

// column == value (SQL =); UNKNOWN when the column is NULL.
template <class Proj, class V>
constexpr auto eq(Proj column, V&& value) {
  return compare_predicate<Proj, detail::stored_constant_t<V>, compare_op::eq>{std::move(column), detail::store(std::forward<V>(value))};
}
// column != value (SQL <>).
template <class Proj, class V>
constexpr auto ne(Proj column, V&& value) {
  return compare_predicate<Proj, detail::stored_constant_t<V>, compare_op::ne>{std::move(column), detail::store(std::forward<V>(value))};
}
// column < value.
template <class Proj, class V>
constexpr auto lt(Proj column, V&& value) {
  return compare_predicate<Proj, detail::stored_constant_t<V>, compare_op::lt>{std::move(column), detail::store(std::forward<V>(value))};
}
// column <= value.
template <class Proj, class V>
constexpr auto le(Proj column, V&& value) {
  return compare_predicate<Proj, detail::stored_constant_t<V>, compare_op::le>{std::move(column), detail::store(std::forward<V>(value))};
}
// column > value.
template <class Proj, class V>
constexpr auto gt(Proj column, V&& value) {
  return compare_predicate<Proj, detail::stored_constant_t<V>, compare_op::gt>{std::move(column), detail::store(std::forward<V>(value))};
}
// column >= value.
template <class Proj, class V>
constexpr auto ge(Proj column, V&& value) {
  return compare_predicate<Proj, detail::stored_constant_t<V>, compare_op::ge>{std::move(column), detail::store(std::forward<V>(value))};
}
// lo <= column <= hi.
template <class Proj, class V>
constexpr auto between(Proj column, V lo, V hi) {
  return between_predicate<Proj, detail::stored_constant_t<V>>{std::move(column), detail::store(std::move(lo)),
                                                               detail::store(std::move(hi))};
}
namespace detail {
// An IN list as sg::in keeps it: sorted and without duplicates when its values are ordered.
template <class Proj, class V>
in_predicate<Proj, V> in_list(Proj column, std::vector<V> values) {
  bool sorted = false;
  if constexpr (std::totally_ordered<V>) {
    auto less = [](V const& a, V const& b) { return value_less(a, b); };
    std::ranges::sort(values, less);
    values.erase(std::unique(values.begin(), values.end(), [](V const& a, V const& b) { return value_equal(a, b); }),
                 values.end());
    sorted = true;
  }
  in_index_t<V> index{};
  if constexpr (is_integer<V>) {
    if (values.size() > in_scan_limit) index.insert(values.begin(), values.end());
  }
  return {std::move(column), std::move(values), sorted, std::move(index)};
}
}  // namespace detail

// column IN (values...).
template <class Proj, class V>
auto in(Proj column, std::initializer_list<V> values) {
  using stored = detail::stored_constant_t<V>;
  return detail::in_list(std::move(column), std::vector<stored>(values.begin(), values.end()));
}
template <class Proj, std::ranges::input_range Values>
auto in(Proj column, Values const& values) {
  using stored = detail::stored_constant_t<std::ranges::range_value_t<Values>>;
  std::vector<stored> v;
  for (auto const& x : values) v.emplace_back(x);
  return detail::in_list(std::move(column), std::move(v));
}
// column LIKE pattern ('%' any run, '_' any one character).
template <class Proj>
auto like(Proj column, std::string pattern) {
  return like_predicate<Proj>{std::move(column), std::move(pattern)};
}
// column IS NULL (an empty std::optional; a column of another type is never NULL).
template <class Proj>
constexpr null_predicate<Proj> is_null(Proj column) {
  return {std::move(column), false};
}
// column IS NOT NULL.
template <class Proj>
constexpr null_predicate<Proj> is_not_null(Proj column) {
  return {std::move(column), true};
}
// Any callable row -> bool as a predicate, with the caller's selectivity estimate in [0, 1]
// (or none: the cost model's default for opaque predicates).
template <class F>
constexpr custom_predicate<F> predicate(F test, double selectivity = std::numeric_limits<double>::quiet_NaN()) {
  return {std::move(test), selectivity};
}

}  // namespace sg
