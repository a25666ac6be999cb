// libFuzzer target: sg::wire's decoders on arbitrary bytes. The first byte picks a decoder
// (a gathered answer of rows, a HyperLogLog, KLL sketches of doubles and of strings, a
// grouped query's partial table with every kind of state, a typed query's parameters); the
// rest is the buffer. Invariants: decode returns a value or throws std::system_error with
// sg::errc::bad_input — no other exception, no crash, no sanitizer report, no allocation
// beyond libFuzzer's limit; a decoded value merges and finishes (a partial table through
// the query's merge, a decoded query's predicate on rows) without undefined behaviour; and
// encoding it again gives bytes that decode to a value encoding to the same bytes.
#include <sg/agg/count.hpp>
#include <sg/agg/hyperloglog.hpp>
#include <sg/agg/kll.hpp>
#include <sg/agg/minmax.hpp>
#include <sg/agg/sum.hpp>
#include <sg/agg/variance.hpp>
#include <sg/query/local.hpp>
#include <sg/query/predicate.hpp>
#include <sg/query/query.hpp>
#include <sg/wire/agg.hpp>
#include <sg/wire/codec.hpp>
#include <sg/wire/gathered.hpp>
#include <sg/wire/query.hpp>

#include "check.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

namespace {

struct row {
  std::int64_t key;
  std::string name;
  double value;
};

using rows_answer = sg::gathered<std::vector<std::tuple<std::int64_t, std::string, double, std::optional<std::int32_t>, bool>>>;

auto grouped_query() {
  return sg::query(sg::group_by(&row::key),
                   sg::aggregate(sg::agg::count(), sg::agg::sum(&row::key), sg::agg::avg(&row::key),
                                 sg::agg::sum(&row::value), sg::agg::min(&row::name), sg::agg::variance(&row::value),
                                 sg::agg::approx_count_distinct(&row::name, 6), sg::agg::approx_quantile(&row::value, 0.5, 16)));
}
using table = decltype(sg::local::run(grouped_query(), std::vector<row>{}));

auto filter_query() {
  return sg::query(sg::where(sg::in(&row::key, {1, 2, 3}) && sg::between(&row::value, 0.0, 1.0) &&
                             !sg::like(&row::name, "a%") && sg::ne(&row::name, "x")),
                   sg::group_by(&row::name), sg::aggregate(sg::agg::approx_quantile(&row::value, 0.5, 16)),
                   sg::limit(3, 1));
}

std::vector<row> sample_rows() {
  std::vector<row> rows;
  for (int i = 0; i < 64; ++i) rows.push_back({i % 5, std::string(1, static_cast<char>('a' + i % 7)), i / 64.0});
  return rows;
}

// Decodes, re-encodes and checks stability; returns the value or nothing (refused).
template <class T, class Decode, class Encode>
std::optional<T> round(std::span<std::byte const> bytes, Decode decode, Encode encode) {
  std::optional<T> v;
  try {
    v.emplace(decode(bytes));
  } catch (std::system_error const& e) {
    SG_FUZZ_CHECK(e.code() == sg::errc::bad_input);
    return std::nullopt;
  }
  const auto again = encode(*v);
  const auto twice = encode(decode(again));
  SG_FUZZ_CHECK(again == twice);
  return v;
}

template <class T>
std::optional<T> plain(std::span<std::byte const> bytes) {
  return round<T>(
      bytes, [](auto b) { return sg::wire::decode<T>(b); }, [](T const& v) { return sg::wire::encode(v); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  if (size == 0) return 0;
  const std::span<std::byte const> bytes(reinterpret_cast<std::byte const*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      if (auto g = plain<rows_answer>(bytes))
        SG_FUZZ_CHECK(g->completeness.succeeded + g->completeness.failed == g->completeness.targeted);
      break;
    case 1:
      if (auto h = plain<sg::agg::hyperloglog>(bytes)) {
        sg::agg::hyperloglog other(h->precision());
        other.add(42);
        other.merge(*h);
        SG_FUZZ_CHECK(other.estimate() >= 0);
      }
      break;
    case 2:
      if (auto k = plain<sg::agg::kll_sketch<double>>(bytes)) {
        sg::agg::kll_sketch<double> other(8);
        for (int i = 0; i < 100; ++i) other.add(i);
        other.merge(*k);
        k->merge(other);
        SG_FUZZ_CHECK(k->count() == 2 * other.count() - 100);
        const double m = other.quantile(0.5);
        SG_FUZZ_CHECK(!(m < other.quantile(0)) && !(other.quantile(1) < m));
        (void)k->rank(0.5);
      }
      break;
    case 3:
      if (auto k = plain<sg::agg::kll_sketch<std::string>>(bytes)) {
        if (!k->empty()) (void)k->quantile(0.25);
        auto copy = *k;
        copy.merge(*k);
        SG_FUZZ_CHECK(copy.count() == 2 * k->count());
      }
      break;
    case 4:
      if (auto t = plain<table>(bytes)) {
        const auto q = grouped_query();
        try {
          (void)q(std::vector<table>{std::move(*t), sg::local::run(q, sample_rows())});
        } catch (std::system_error const& e) {  // a decoded sum may not fit 64 bits
          SG_FUZZ_CHECK(e.code() == sg::errc::overflow);
        }
      }
      break;
    case 5: {
      using Q = decltype(filter_query());
      if (auto q = round<Q>(
              bytes, [](auto b) { return sg::wire::decode_parameters(b, filter_query()); },
              [](Q const& v) { return sg::wire::encode_parameters(v); })) {
        // The decoded predicate on rows (sg::local::run of a WHERE query is not built here:
        // Clang 14 cannot compile libstdc++ 12's views::filter).
        std::size_t passed = 0;
        for (auto const& r : sample_rows()) passed += q->where_part.predicate(r) ? 1 : 0;
        SG_FUZZ_CHECK(passed <= 64);
        (void)q->limit_part.shard_rows();
      }
      break;
    }
  }
  return 0;
}
