// sg/wire/agg.hpp — sg::wire codecs for every partial state of sg::agg, and for the
// partial groups a grouped typed query's shards answer (sg::merge::partial_group).
//
//   auto bytes = sg::wire::encode(sg::local::run(q, rows));       // a node's partial table
//   auto table = sg::wire::decode<decltype(sg::local::run(q, rows))>(bytes);
//
// count: a u64. sum of integers: the 128-bit total as two u64 words, low first (so sums
// beyond 64 bits cross intact and finish() still reports the exact total on overflow);
// sum of floating point: the double. avg: the total, then the u64 count. min/max: an
// optional of the column. variance/stddev: count (u64), mean and M2 (doubles).
// HyperLogLog: the precision (u8, refused outside [4, 18]), then its 2^p registers (one
// byte each, refused above 65 − p: a rank add_hash cannot make). KLL: k and min_k (u16),
// count and coin (u64), min and max (optionals), the level count (u8), then each level as a
// vector; rebuilt by kll_sketch::from_parts, which refuses any sketch that is not one
// (weights that do not sum to the count, items outside [min, max], NaN, ...). So a decoded
// state merges and finishes without undefined behaviour whatever bytes arrived.
// Example: tests/wire/agg.cpp.
#pragma once

#include <sg/agg/hyperloglog.hpp>
#include <sg/agg/kll.hpp>
#include <sg/agg/sum.hpp>
#include <sg/agg/variance.hpp>
#include <sg/merge/hash_aggregate.hpp>
#include <sg/order.hpp>
#include <sg/wire/codec.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace sg::wire {

// A 128-bit sum (sum and avg of an integer column): low word, then high word.
template <bool Signed>
struct codec<agg::detail::wide_total<Signed>> {
  static constexpr std::uint64_t schema = detail::tag(Signed ? "sum128" : "usum128");
  static constexpr std::size_t min_size = 16;
  static void write(writer& w, agg::detail::wide_total<Signed> const& t) {
    w.u64(t.lo);
    w.u64(t.hi);
  }
  static agg::detail::wide_total<Signed> read(reader& r) {
    agg::detail::wide_total<Signed> t;
    t.lo = r.u64("a sum's low word");
    t.hi = r.u64("a sum's high word");
    return t;
  }
};

// avg's state: the total as sum keeps it, then the count.
template <class S>
  requires encodable<S>
struct codec<agg::avg_state<S>> {
  static constexpr std::uint64_t schema = detail::schema_of<S>("avg");
  static constexpr std::size_t min_size = codec<S>::min_size + 8;
  static void write(writer& w, agg::avg_state<S> const& s) {
    codec<S>::write(w, s.total);
    w.u64(s.count);
  }
  static agg::avg_state<S> read(reader& r) {
    agg::avg_state<S> s;
    s.total = codec<S>::read(r);
    s.count = r.u64("avg's count");
    return s;
  }
};

// variance/stddev's state: count, mean, M2.
template <>
struct codec<agg::moments> {
  static constexpr std::uint64_t schema = detail::tag("moments");
  static constexpr std::size_t min_size = 24;
  static void write(writer& w, agg::moments const& m) {
    w.u64(m.count);
    codec<double>::write(w, m.mean);
    codec<double>::write(w, m.m2);
  }
  static agg::moments read(reader& r) {
    agg::moments m;
    m.count = r.u64("the moments' count");
    m.mean = codec<double>::read(r);
    m.m2 = codec<double>::read(r);
    return m;
  }
};

// A HyperLogLog sketch: precision, then 2^precision registers.
template <>
struct codec<agg::hyperloglog> {
  static constexpr std::uint64_t schema = detail::tag("hyperloglog");
  static constexpr std::size_t min_size = 1 + (std::size_t{1} << agg::hyperloglog::min_precision);
  static void write(writer& w, agg::hyperloglog const& h) {
    w.u8(static_cast<std::uint8_t>(h.precision()));
    w.bytes(h.registers().data(), h.registers().size());
  }
  static agg::hyperloglog read(reader& r) {
    const unsigned p = r.u8("a HyperLogLog's precision");
    if (p < agg::hyperloglog::min_precision || p > agg::hyperloglog::max_precision)
      r.fail("a HyperLogLog's precision is " + std::to_string(p) + ", outside [4, 18]");
    auto registers = r.bytes(std::size_t{1} << p, "a HyperLogLog's registers");
    agg::hyperloglog h(p);
    for (std::size_t i = 0; i < registers.size(); ++i) {
      const auto rank = static_cast<unsigned>(registers[i]);
      if (rank > 65 - p)
        r.fail("HyperLogLog register " + std::to_string(i) + " holds " + std::to_string(rank) +
               ", above the largest rank of precision " + std::to_string(p) + " (" + std::to_string(65 - p) + ")");
      if (rank != 0) h.raise(i, rank);
    }
    return h;
  }
};

// A KLL sketch of items of type T (in sg's total order): see the top of this file.
template <class T>
  requires encodable<T>
struct codec<agg::kll_sketch<T, total_less_fn>> {
  using sketch = agg::kll_sketch<T, total_less_fn>;
  static constexpr std::uint64_t schema = detail::schema_of<T>("kll");
  static constexpr std::size_t min_size = 2 + 2 + 8 + 8 + 1 + 1 + 1 + 8;
  static void write(writer& w, sketch const& s) {
    auto p = s.to_parts();
    w.uint(static_cast<std::uint16_t>(p.k));
    w.uint(static_cast<std::uint16_t>(p.min_k));
    w.u64(p.count);
    w.u64(p.coin);
    codec<std::optional<T>>::write(w, p.min);
    codec<std::optional<T>>::write(w, p.max);
    w.u8(static_cast<std::uint8_t>(p.levels.size()));
    for (auto const& level : p.levels) codec<std::vector<T>>::write(w, level);
  }
  static sketch read(reader& r) {
    typename sketch::parts p;
    p.k = r.uint<std::uint16_t>("a KLL sketch's k");
    p.min_k = r.uint<std::uint16_t>("a KLL sketch's min_k");
    p.count = r.u64("a KLL sketch's count");
    p.coin = r.u64("a KLL sketch's coin");
    p.min = codec<std::optional<T>>::read(r);
    p.max = codec<std::optional<T>>::read(r);
    const std::size_t levels = r.u8("a KLL sketch's level count");
    if (levels == 0 || levels > 64) r.fail("a KLL sketch has " + std::to_string(levels) + " levels, not 1 to 64");
    if (levels * codec<std::vector<T>>::min_size > r.remaining()) r.fail("truncated: a KLL sketch's levels");
    p.levels.reserve(levels);
    for (std::size_t h = 0; h < levels; ++h) p.levels.push_back(codec<std::vector<T>>::read(r));
    try {
      return sketch::from_parts(std::move(p));
    } catch (std::system_error const& e) {
      r.fail(e.what());
    }
  }
};

// One group of a shard's partial table: its key, then its states.
template <class K, class S>
  requires encodable<K> && encodable<S>
struct codec<merge::partial_group<K, S>> {
  static constexpr std::uint64_t schema = detail::schema_of<K, S>("partial_group");
  static constexpr std::size_t min_size = codec<K>::min_size + codec<S>::min_size;
  static void write(writer& w, merge::partial_group<K, S> const& g) {
    codec<K>::write(w, g.key);
    codec<S>::write(w, g.states);
  }
  static merge::partial_group<K, S> read(reader& r) {
    K key = codec<K>::read(r);
    return {std::move(key), codec<S>::read(r)};
  }
};

}  // namespace sg::wire
