// sg/merge/concat.hpp — sg::merge::concat(): union all, in shard order.
//
//   auto rows = sg::merge::concat()(per_shard_rows);   // std::vector<Row>
//   auto pipe = sg::scatter(shards) | sg::gather(sg::merge::concat());
//
// Each answer is a range of rows (a std::vector<Row>, any input range); the result is a
// std::vector of the rows of shard 0, then shard 1, …, each shard's rows in their own
// order — whatever order the answers arrived in. Rows are moved, never copied, from
// answers given as rvalues; the first answer's buffer is reused when it is a
// std::vector<Row>. O(total rows) time; answers that arrive out of shard order cost one
// extra move of every row at finish(). Example: examples/quickstart.cpp.
#pragma once

#include <sg/merge/protocol.hpp>

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <ranges>
#include <type_traits>
#include <utility>
#include <vector>

namespace sg::merge {

namespace detail {

// An answer concat can take: a range of movable rows.
template <class Resp>
concept row_batch = std::ranges::input_range<Resp> &&
                    std::move_constructible<std::ranges::range_value_t<Resp>>;

template <class T>
inline constexpr bool is_std_vector = false;
template <class T, class A>
inline constexpr bool is_std_vector<std::vector<T, A>> = true;

}  // namespace detail

template <detail::row_batch Resp>
class concat_accumulator {
 public:
  using row_type = std::ranges::range_value_t<Resp>;
  using result_type = std::vector<row_type>;

  // Appends the shard's rows. Strong guarantee: on an exception nothing is appended.
  void add(std::size_t shard, Resp&& rows) {
    const std::size_t begin = out_.size();
    if (answers_ > 0 && segments_.capacity() < segments_.size() + 2)  // note() must not throw
      segments_.reserve(std::max<std::size_t>(16, 2 * segments_.capacity()));
    if constexpr (std::is_same_v<Resp, result_type>) {
      if (answers_ == 0) {
        out_ = std::move(rows);  // take the first answer's buffer as it is
        if (!out_.empty()) note(shard, begin);
        return;
      }
    }
    try {
      if constexpr (std::ranges::sized_range<Resp> && std::ranges::forward_range<Resp>) {
        out_.insert(out_.end(), std::make_move_iterator(std::ranges::begin(rows)),
                    std::make_move_iterator(std::ranges::end(rows)));
      } else {
        for (auto&& row : rows) out_.push_back(static_cast<row_type>(std::move(row)));
      }
    } catch (...) {
      out_.erase(out_.begin() + static_cast<std::ptrdiff_t>(begin), out_.end());
      throw;
    }
    if (out_.size() != begin) note(shard, begin);  // an empty answer has no place to keep
  }

  // The rows of all answers, in shard order.
  result_type finish() && {
    if (in_order_) return std::move(out_);
    // Answers arrived out of shard order: lay the segments out again by shard.
    std::vector<std::size_t> order(segments_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return segments_[a].shard < segments_[b].shard;
    });
    result_type sorted;
    sorted.reserve(out_.size());
    for (std::size_t s : order) {
      const std::size_t end = s + 1 < segments_.size() ? segments_[s + 1].begin : out_.size();
      sorted.insert(sorted.end(),
                    std::make_move_iterator(out_.begin() + static_cast<std::ptrdiff_t>(segments_[s].begin)),
                    std::make_move_iterator(out_.begin() + static_cast<std::ptrdiff_t>(end)));
    }
    return sorted;
  }

 private:
  struct segment {
    std::size_t shard;
    std::size_t begin;  // this answer's first row in out_
  };

  // Records that `shard`'s (non-empty) rows start at `begin`. Segments are kept only from
  // the second non-empty answer on, so a gather with one such answer allocates nothing
  // for them.
  void note(std::size_t shard, std::size_t begin) {
    if (answers_ == 1) {
      segments_.push_back({last_shard_, 0});
    }
    if (answers_ >= 1) {
      segments_.push_back({shard, begin});
      in_order_ = in_order_ && shard > last_shard_;
    }
    last_shard_ = shard;
    ++answers_;
  }

  result_type out_;
  std::vector<segment> segments_;
  std::size_t last_shard_ = 0;
  std::size_t answers_ = 0;
  bool in_order_ = true;
};

// The concat merge: a stateless value.
struct concat_merge {
  template <class Resp>
    requires detail::row_batch<Resp>
  concat_accumulator<Resp> accumulator() const {
    return {};
  }

  // Concatenates a range of per-shard answers (answer i is shard i's).
  template <std::ranges::input_range Responses>
    requires detail::row_batch<std::ranges::range_value_t<Responses>>
  auto operator()(Responses&& responses) const {
    return sg::detail::merge_all(*this, std::forward<Responses>(responses));
  }

  friend constexpr bool operator==(concat_merge, concat_merge) noexcept { return true; }
};

// Union all: the rows of every answer, shard 0's first. See concat_merge.
constexpr concat_merge concat() noexcept { return {}; }

}  // namespace sg::merge
