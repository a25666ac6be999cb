// Row predicates: SQL's comparisons, BETWEEN, IN, LIKE and IS NULL, under three-valued logic.
#include <sg/query/predicate.hpp>

#include "support/seed.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace {

struct item {
  int n;
  std::optional<int> maybe;
  std::string name;
};

using sg::truth;

}  // namespace

TEST_CASE("predicate: Kleene logic tables", "[query][predicate]") {
  const truth y = truth::yes, n = truth::no, u = truth::unknown;
  STATIC_REQUIRE((truth::yes && truth::unknown) == truth::unknown);
  CHECK((y && y) == y);
  CHECK((y && n) == n);
  CHECK((n && u) == n);
  CHECK((u && u) == u);
  CHECK((y || u) == y);
  CHECK((n || u) == u);
  CHECK((n || n) == n);
  CHECK((!u) == u);
  CHECK((!y) == n);
  CHECK((!n) == y);
}

TEST_CASE("predicate: comparisons with a constant", "[query][predicate]") {
  const item a{5, 3, "apple"};
  CHECK(sg::eq(&item::n, 5)(a));
  CHECK_FALSE(sg::ne(&item::n, 5)(a));
  CHECK(sg::lt(&item::n, 6)(a));
  CHECK_FALSE(sg::lt(&item::n, 5)(a));
  CHECK(sg::le(&item::n, 5)(a));
  CHECK(sg::gt(&item::n, 4)(a));
  CHECK_FALSE(sg::gt(&item::n, 5)(a));
  CHECK(sg::ge(&item::n, 5)(a));
  CHECK(sg::eq(&item::name, "apple")(a));
  CHECK(sg::lt(&item::name, std::string_view("banana"))(a));
  CHECK(sg::between(&item::n, 5, 5)(a));
  CHECK_FALSE(sg::between(&item::n, 6, 9)(a));
  CHECK(sg::in(&item::n, {1, 5, 9})(a));
  CHECK_FALSE(sg::in(&item::name, std::vector<std::string>{"pear"})(a));
  CHECK(sg::eq([](item const& i) { return i.n * 2; }, 10)(a));
  // Integers compare by value across signedness.
  CHECK(sg::gt([](item const&) { return 0u; }, -1)(a));
  CHECK_FALSE(sg::eq([](item const&) { return std::uint64_t(-1); }, -1)(a));
}

TEST_CASE("predicate: constants are kept by value, strings as std::string", "[query][predicate]") {
  std::string buffer = "apple";
  auto p = sg::eq(&item::name, std::string_view(buffer));
  STATIC_REQUIRE(std::is_same_v<decltype(p.value), std::string>);
  STATIC_REQUIRE(std::is_same_v<decltype(sg::eq(&item::name, "x").value), std::string>);
  buffer = "other";
  CHECK(p(item{0, {}, "apple"}));
}

TEST_CASE("predicate: NULL compares UNKNOWN, and a WHERE keeps only TRUE", "[query][predicate]") {
  const item null{1, std::nullopt, ""};
  const item three{1, 3, ""};
  CHECK(sg::eq(&item::maybe, 3).truth_of(null) == truth::unknown);
  CHECK(sg::eq(&item::maybe, 3).truth_of(three) == truth::yes);
  CHECK_FALSE(sg::ne(&item::maybe, 3)(null));
  CHECK_FALSE((!sg::eq(&item::maybe, 3))(null));  // NOT UNKNOWN is UNKNOWN
  CHECK((sg::eq(&item::maybe, 3) || sg::eq(&item::n, 1))(null));
  CHECK((sg::eq(&item::maybe, 3) && sg::eq(&item::n, 2)).truth_of(null) == truth::no);
  CHECK(sg::is_null(&item::maybe)(null));
  CHECK_FALSE(sg::is_null(&item::maybe)(three));
  CHECK(sg::is_not_null(&item::maybe)(three));
  CHECK_FALSE(sg::is_null(&item::n)(null));  // not an optional: never NULL
  CHECK(sg::between(&item::maybe, 0, 5).truth_of(null) == truth::unknown);
  CHECK(sg::in(&item::maybe, {3}).truth_of(null) == truth::unknown);
}

TEST_CASE("predicate: LIKE matches % and _ as SQL does", "[query][predicate]") {
  using sg::detail::like_match;
  CHECK(like_match("", ""));
  CHECK(like_match("", "%"));
  CHECK(like_match("", "%%"));
  CHECK_FALSE(like_match("", "_"));
  CHECK(like_match("abc", "abc"));
  CHECK_FALSE(like_match("abc", "ab"));
  CHECK(like_match("abc", "a%"));
  CHECK(like_match("abc", "%c"));
  CHECK(like_match("abc", "%b%"));
  CHECK(like_match("abc", "a_c"));
  CHECK_FALSE(like_match("abc", "a_"));
  CHECK(like_match("aXbXc", "a%b%c"));
  CHECK(like_match("abcabd", "%abd"));
  CHECK_FALSE(like_match("abcabe", "%abd"));
  CHECK(like_match("mississippi", "m%iss%pi"));
  CHECK_FALSE(like_match("mississippi", "m%iss%pix"));
  CHECK(like_match("TEST-42", "TEST-%"));
  CHECK(sg::like(&item::name, "ap%e")(item{0, {}, "apple"}));
}

namespace {

// A plain recursive LIKE, the reference for the random test.
bool like_reference(std::string_view t, std::string_view p) {
  if (p.empty()) return t.empty();
  if (p[0] == '%') return like_reference(t, p.substr(1)) || (!t.empty() && like_reference(t.substr(1), p));
  if (t.empty()) return false;
  return (p[0] == '_' || p[0] == t[0]) && like_reference(t.substr(1), p.substr(1));
}

}  // namespace

TEST_CASE("predicate: LIKE agrees with a plain recursive matcher on random strings", "[query][predicate][property]") {
  SG_SEEDED_RNG(rng);
  std::uniform_int_distribution<int> len(0, 7), text_char(0, 2), pattern_char(0, 4);
  const char text_chars[] = "ab";
  const char pattern_chars[] = "ab%_";
  for (int i = 0; i < 20000; ++i) {
    std::string t, p;
    for (int k = len(rng); k > 0; --k) t += text_chars[text_char(rng) % 2];
    for (int k = len(rng); k > 0; --k) p += pattern_chars[pattern_char(rng) % 4];
    INFO("text '" << t << "' pattern '" << p << "'");
    REQUIRE(sg::detail::like_match(t, p) == like_reference(t, p));
  }
}

TEST_CASE("predicate: custom predicates and their selectivity hint", "[query][predicate]") {
  auto odd = sg::predicate([](item const& i) { return i.n % 2 == 1; }, 0.5);
  CHECK(odd(item{3, {}, ""}));
  CHECK(odd.selectivity == 0.5);
  auto both = odd && sg::gt(&item::n, 2);
  CHECK(both(item{3, {}, ""}));
  CHECK_FALSE(both(item{1, {}, ""}));
  STATIC_REQUIRE(sg::predicate_expression<decltype(both)>);
  STATIC_REQUIRE_FALSE(sg::predicate_expression<int>);
}

TEST_CASE("predicate: a long IN list is sorted once and searched, with the answers of a scan", "[query][predicate]") {
  SG_SEEDED_RNG(rng);
  std::uniform_int_distribution<int> value(-60, 60);
  for (int round = 0; round < 200; ++round) {
    std::vector<long> list(std::uniform_int_distribution<std::size_t>(0, 80)(rng));
    for (auto& v : list) v = value(rng);  // duplicates and negatives on purpose
    const auto p = sg::in(&item::n, list);
    CHECK(p.sorted);
    CHECK(std::ranges::is_sorted(p.values));
    CHECK(std::ranges::adjacent_find(p.values) == p.values.end());
    for (int x = -70; x <= 70; ++x)
      REQUIRE(p(item{x, {}, ""}) == (std::ranges::find(list, static_cast<long>(x)) != list.end()));
  }
  // Unsigned values against a negative column: exact, as in the comparisons.
  std::vector<unsigned> big(40);
  for (unsigned i = 0; i < big.size(); ++i) big[i] = 4294967295u - i;
  CHECK_FALSE(sg::in(&item::n, big)(item{-1, {}, ""}));
  big.push_back(7);
  CHECK(sg::in(&item::n, big)(item{7, {}, ""}));
  // NULL IN (...) is unknown however long the list.
  CHECK(sg::in(&item::maybe, big).truth_of(item{0, std::nullopt, ""}) == truth::unknown);
}

TEST_CASE("predicate: a long IN list of integers is a hash set, with the answers of a scan", "[query][predicate]") {
  SG_SEEDED_RNG(rng);
  // Sizes around the 16 values where the set starts, then up to 5,000; each list probed
  // with every value from below its least to beyond its greatest.
  for (std::size_t round = 0; round < 300; ++round) {
    const std::size_t n = round < 40 ? round : std::uniform_int_distribution<std::size_t>(40, 5000)(rng);
    std::vector<long> list(n);
    for (auto& v : list) v = std::uniform_int_distribution<long>(-6000, 6000)(rng);  // duplicates on purpose
    const auto p = sg::in(&item::n, list);
    CHECK(p.index.size() == (p.values.size() > 16 ? p.values.size() : 0));
    const auto [lo, hi] = std::ranges::minmax(list.empty() ? std::vector<long>{0} : list);
    for (long x = lo - 2; x <= hi + 2; ++x)
      REQUIRE(p(item{static_cast<int>(x), {}, ""}) == (std::ranges::find(list, x) != list.end()));
  }
  // An int column against a list of unsigned, and of wider and narrower integers: by value.
  std::vector<unsigned> u{1, 3, 5};
  for (unsigned i = 0; i < 100; ++i) u.push_back(4294967295u - i);
  const auto pu = sg::in(&item::n, u);
  CHECK(!pu.index.empty());
  CHECK(pu(item{3, {}, ""}));
  CHECK_FALSE(pu(item{-1, {}, ""}));  // not 4294967295
  std::vector<std::int64_t> wide{-5};
  for (std::int64_t i = 0; i < 40; ++i) wide.push_back((std::int64_t{1} << 40) + i);
  CHECK(sg::in(&item::n, wide)(item{-5, {}, ""}));
  CHECK_FALSE(sg::in(&item::n, wide)(item{0, {}, ""}));  // 2^40 truncated to int would be 0
  std::vector<std::int8_t> narrow;
  for (int i = -60; i < 60; i += 3) narrow.push_back(static_cast<std::int8_t>(i));
  CHECK(sg::in(&item::n, narrow)(item{-60, {}, ""}));
  CHECK_FALSE(sg::in(&item::n, narrow)(item{256 - 60, {}, ""}));  // -60 as a byte, but not as a number
  // A list built by hand without the set is searched: the same answers.
  sg::in_predicate<int item::*, long> by_hand{&item::n, {}, true};
  for (long v = 0; v < 40; ++v) by_hand.values.push_back(2 * v);
  CHECK(by_hand(item{8, {}, ""}));
  CHECK_FALSE(by_hand(item{9, {}, ""}));
  // Doubles are searched, not hashed.
  std::vector<double> d;
  for (int i = 0; i < 100; ++i) d.push_back(i * 1.5);
  const auto pd = sg::in(&item::n, d);
  CHECK(pd(item{3, {}, ""}));
  CHECK_FALSE(pd(item{4, {}, ""}));
}

TEST_CASE("predicate: a character column compares as characters, in short and long lists", "[query][predicate]") {
  struct letter {
    char c;
  };
  const std::string vowel_set = "aeiou";
  std::vector<char> vowels(vowel_set.begin(), vowel_set.end()), consonants;
  for (char x = 'a'; x <= 'z'; ++x)
    if (vowel_set.find(x) == std::string::npos) consonants.push_back(x);
  REQUIRE(consonants.size() > 16);  // searched, not scanned
  const auto is_vowel = sg::in(&letter::c, vowels);
  const auto is_consonant = sg::in(&letter::c, consonants);
  for (char x = 'a'; x <= 'z'; ++x) {
    const bool vowel = vowel_set.find(x) != std::string::npos;
    CHECK(is_vowel(letter{x}) == vowel);
    CHECK(is_consonant(letter{x}) == !vowel);
  }
  CHECK_FALSE(is_consonant(letter{'A'}));
  CHECK(sg::eq(&letter::c, 'q')(letter{'q'}));
  CHECK(sg::lt(&letter::c, 'b')(letter{'a'}));
  CHECK_FALSE(sg::lt(&letter::c, 'b')(letter{'b'}));
}

namespace {

// A visitor of sg::fold_predicate that evaluates a tree as truth(row) does: the fold
// reaches every node, in text order, and combines children as the tree does.
struct evaluator {
  item const& row;
  std::vector<sg::predicate_kind>* seen;

  template <class N>
  truth leaf(N const& n) const {
    seen->push_back(N::node);
    return n.truth_of(row);
  }
  template <class N> truth compare(N const& n) const { return leaf(n); }
  template <class N> truth between(N const& n) const { return leaf(n); }
  template <class N> truth in(N const& n) const { return leaf(n); }
  template <class N> truth like(N const& n) const { return leaf(n); }
  template <class N> truth null_test(N const& n) const { return leaf(n); }
  template <class N> truth custom(N const& n) const { return leaf(n); }
  template <class N>
  truth logic(N const&, truth l, truth r) const {
    seen->push_back(N::node);
    return N::op == sg::logic_op::and_ ? (l && r) : (l || r);
  }
  template <class N>
  truth negation(N const&, truth t) const {
    seen->push_back(N::node);
    return !t;
  }
};

}  // namespace

TEST_CASE("predicate: fold_predicate visits every node kind, children first, left to right", "[query][predicate]") {
  using k = sg::predicate_kind;
  const auto p = (sg::eq(&item::n, 1) || sg::between(&item::maybe, 2, 5)) &&
                 !(sg::in(&item::n, {1, 2, 3}) && sg::like(&item::name, "a%")) &&
                 (sg::is_null(&item::maybe) || sg::predicate([](item const& i) { return i.n > 0; }));
  STATIC_REQUIRE(decltype(sg::eq(&item::n, 1))::node == k::compare);
  STATIC_REQUIRE(decltype(!sg::eq(&item::n, 1))::node == k::negation);
  std::vector<k> seen;
  const item row{1, std::nullopt, "abc"};
  CHECK(sg::fold_predicate(p, evaluator{row, &seen}) == p.truth_of(row));
  CHECK(seen == std::vector<k>{k::compare, k::between, k::logic, k::in, k::like, k::logic, k::negation, k::logic,
                               k::null_test, k::custom, k::logic, k::logic});
  SG_SEEDED_RNG(rng);
  for (int i = 0; i < 200; ++i) {
    const int n = static_cast<int>(rng() % 8);
    const item r{n, rng() % 3 == 0 ? std::nullopt : std::optional<int>(static_cast<int>(rng() % 8)),
                 rng() % 2 ? "ab" : "ba"};
    seen.clear();
    INFO("row " << i);
    CHECK(sg::fold_predicate(p, evaluator{r, &seen}) == p.truth_of(r));
  }
}
