// sg/merge/concat.hpp — sg::merge::concat(): union all, in shard order.
//
//   auto rows = sg::merge::concat()(per_shard_rows);   // std::vector<Row>
//   auto pipe = sg::scatter(shards) | sg::gather(sg::merge::concat());
//
// Each answer is a range of rows (a std::vector<Row>, any input range); the result is a
// std::vector of the rows of shard 0, then shard 1, …, each shard's rows in their own
// order — whatever order the answers arrived in. Answers arriving in shard order (always,
// when shards run inline) are appended at once and the first std::vector answer's buffer
// is reused; answers arriving out of order are kept whole and cost one more move of their
// rows at finish(). O(total rows + answers · log answers) time; rows are moved, never
// copied, from answers given as rvalues. Example: examples/quickstart.cpp.
#pragma once

#include <sg/merge/output.hpp>
#include <sg/merge/protocol.hpp>

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <optional>
#include <span>
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

  // User-provided, so that `return {};` does not zero the inline segments first (value-
  // initialization of a class without one clears the whole object: 47 instructions a call).
  concat_accumulator() noexcept {}

  // Takes one shard's answer. While answers arrive in shard order (always, inline) their
  // rows are appended at once, as a hand-written loop would; an answer that arrives out
  // of order is kept whole and put in its place by finish(). Empty answers are dropped.
  // Strong guarantee: if it throws (std::bad_alloc), nothing of this answer was kept.
  void add(std::size_t shard, Resp&& rows) {
    if constexpr (std::ranges::forward_range<Resp>) {
      if (std::ranges::empty(rows)) return;
    }
    if (held_.empty() && (segments_.empty() || shard > segments_.back().shard))
      append(shard, std::move(rows));
    else
      held_.push_back(answer{shard, std::move(rows)});
  }

  // The rows of all answers, in shard order.
  result_type finish() && {
    if (held_.empty()) [[likely]]
      return std::move(out_);  // every answer arrived in order: inlined, a move
    return std::move(*this).interleave();
  }

 private:
  // Puts the answers that arrived out of order in their places.
  [[gnu::noinline]] result_type interleave() && {
    std::stable_sort(held_.begin(), held_.end(),
                     [](answer const& a, answer const& b) { return a.shard < b.shard; });
    result_type all;
    if constexpr (std::ranges::sized_range<Resp>) {
      std::size_t total = out_.size();
      for (auto const& a : held_) total += static_cast<std::size_t>(std::ranges::size(a.rows));
      all.reserve(total);
    }
    // Merge the appended segments and the held answers, both in shard order.
    std::size_t seg = 0;
    auto held = held_.begin();
    while (seg < segments_.size() || held != held_.end()) {
      if (held == held_.end() || (seg < segments_.size() && segments_[seg].shard <= held->shard)) {
        const std::size_t end = seg + 1 < segments_.size() ? segments_[seg + 1].begin : out_.size();
        all.insert(all.end(),
                   std::make_move_iterator(out_.begin() + static_cast<std::ptrdiff_t>(segments_[seg].begin)),
                   std::make_move_iterator(out_.begin() + static_cast<std::ptrdiff_t>(end)));
        ++seg;
      } else {
        append_rows(all, held->rows);
        ++held;
      }
    }
    return all;
  }

  struct answer {
    std::size_t shard;
    Resp rows;
  };
  struct segment {
    std::size_t shard;
    std::size_t begin;  // of this answer's rows in out_
  };

  // A vector of segments whose first few live inline: no allocation for small fan-outs.
  class segment_list {
   public:
    segment_list() noexcept {}  // user-provided: value-initialization must not zero inline_
    segment_list(segment_list&& o) noexcept : more_(std::move(o.more_)), size_(o.size_) {
      std::copy_n(o.inline_, std::min(size_, inline_size), inline_);
    }
    segment_list& operator=(segment_list&& o) noexcept {
      std::copy_n(o.inline_, std::min(o.size_, inline_size), inline_);
      more_ = std::move(o.more_);
      size_ = o.size_;
      return *this;
    }

    bool empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }
    segment const& back() const noexcept { return (*this)[size_ - 1]; }
    segment const& operator[](std::size_t i) const noexcept {
      return i < inline_size ? inline_[i] : more_[i - inline_size];
    }
    void push_back(segment s) {
      if (size_ < inline_size)
        inline_[size_] = s;
      else
        more_.push_back(s);
      ++size_;
    }
    void pop_back() noexcept {
      if (--size_ >= inline_size) more_.pop_back();
    }

   private:
    static constexpr std::size_t inline_size = 16;
    segment inline_[inline_size];  // the first inline_size segments; only [0, size_) is set
    std::vector<segment> more_;
    std::size_t size_ = 0;
  };

  void append(std::size_t shard, Resp&& rows) {
    const std::size_t begin = out_.size();
    segments_.push_back({shard, begin});  // first: it may throw, and nothing is changed yet
    if constexpr (std::is_same_v<Resp, result_type>) {
      if (begin == 0) {
        out_ = std::move(rows);  // take the first answer's buffer as it is
        return;
      }
    }
    try {
      append_rows(out_, rows);
    } catch (...) {
      out_.erase(out_.begin() + static_cast<std::ptrdiff_t>(begin), out_.end());
      segments_.pop_back();
      throw;
    }
  }

  static void append_rows(result_type& out, Resp& rows) {
    if constexpr (std::ranges::sized_range<Resp> && std::ranges::forward_range<Resp>) {
      out.insert(out.end(), std::make_move_iterator(std::ranges::begin(rows)),
                 std::make_move_iterator(std::ranges::end(rows)));
    } else {
      for (auto&& row : rows) out.push_back(static_cast<row_type>(std::move(row)));
    }
  }

  result_type out_;           // rows of the answers that arrived in shard order
  segment_list segments_;     // where each of those answers starts in out_
  std::vector<answer> held_;  // answers that arrived out of order, kept whole
};

// The concat merge: a stateless value.
struct concat_merge {
  template <class Resp>
    requires detail::row_batch<Resp>
  concat_accumulator<Resp> accumulator() const {
    return {};
  }

  // Concatenates a range of per-shard answers (answer i is shard i's) into a new
  // std::vector. Answers the caller keeps (detail::runs_in_place, not an rvalue container:
  // a const std::vector<std::vector<Row>>&, spans, …) are read where they are and each row
  // is copied once, into a result reserved for all of them when the answers know their
  // sizes; an rvalue container's rows are moved, its first answer's buffer reused.
  template <std::ranges::input_range Responses>
    requires detail::row_batch<std::ranges::range_value_t<Responses>>
  auto operator()(Responses&& responses) const {
    if constexpr (detail::runs_in_place<Responses> && !detail::moves_rows<Responses> &&
                  std::ranges::forward_range<detail::run_t<Responses>>) {
      detail::vector_output<std::ranges::range_value_t<detail::run_t<Responses>>> out;
      in_place(responses, out);
      return std::move(out.rows);
    } else {
      return sg::detail::merge_all(*this, std::forward<Responses>(responses));
    }
  }

  // The same rows, written to the caller's output iterator; returns its end.
  template <std::ranges::input_range Responses, std::weakly_incrementable Out>
    requires detail::runs_in_place<Responses> && detail::row_batch<detail::run_t<Responses>> &&
             std::indirectly_writable<Out, detail::emitted_t<Responses>>
  Out operator()(Responses&& responses, Out out) const {
    detail::iterator_output<Out, std::ranges::range_value_t<detail::run_t<Responses>>> to{std::move(out)};
    in_place<detail::moves_rows<Responses>>(responses, to);
    return std::move(to.at);
  }

  // The same rows, written to the caller's span; returns the part written. A span too
  // small throws std::system_error(sg::errc::bad_input) saying so — before writing
  // anything when the answers know their sizes.
  template <std::ranges::input_range Responses, class Row, std::size_t Extent>
    requires detail::runs_in_place<Responses> && detail::row_batch<detail::run_t<Responses>> &&
             std::same_as<Row, std::ranges::range_value_t<detail::run_t<Responses>>>
  std::span<Row> operator()(Responses&& responses, std::span<Row, Extent> out) const {
    detail::span_output<Row> to{out, "sg::merge::concat"};
    in_place<detail::moves_rows<Responses>>(responses, to);
    return to.written();
  }

  friend constexpr bool operator==(concat_merge, concat_merge) noexcept { return true; }

 private:
  template <bool Move = false, class Responses, class Out>
  static void in_place(Responses& responses, Out& out) {
    using run = detail::run_t<Responses>;
    if constexpr (std::ranges::sized_range<run> && std::ranges::forward_range<Responses>)
      out.expect(detail::total_rows(responses));
    for (auto&& r : responses) {
      if constexpr (Move)
        out.put_range(std::make_move_iterator(std::ranges::begin(r)), std::make_move_iterator(std::ranges::end(r)));
      else
        out.put_range(std::ranges::begin(r), std::ranges::end(r));
    }
  }
};

// Union all: the rows of every answer, shard 0's first. See concat_merge.
constexpr concat_merge concat() noexcept { return {}; }

}  // namespace sg::merge
