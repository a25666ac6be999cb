// sg/stream/merger.hpp — sg::stream::merger: a merge fed one batch at a time, from many
// sources, that says what it can emit now. The engine of sg::stream::open
// (sg/stream/stream.hpp), free of Asio and usable on its own.
//
//   auto m = sg::stream::make_merger<row>(sg::merge::sorted({}, &row::ts), 3);  // 3 sources
//   m.push(1, batch);   // source 1 delivered a batch (a non-empty std::vector<row>)
//   m.end(0);           // source 0 has no more
//   std::vector<row> out;
//   switch (m.pull(out, 1024)) { … }   // ready: rows in out; blocked: m.blocked_on() must
//                                      // deliver first; done: every source ended, all out
//
// The merge is one of sg's merge values, read as a stream:
//   merge::concat()         rows in the order their batches arrived (not shard order: that
//                           would wait for shard 0), each batch's rows in their order;
//   merge::distinct(proj)   the same, without rows whose key was seen before (the first
//                           arrival wins; the set of keys seen grows with the distinct keys);
//   merge::sorted(comp, proj)  a k-way merge of sources each sorted by (comp, proj): stable,
//                           ties in source order. It emits a row only when every source
//                           that has not ended has a row buffered (one it has not may still
//                           send a smaller one), so pull() is blocked on the slowest source;
//   merge::top_k(k[, offset], comp, proj)  folds each batch into the best offset + k rows as
//                           it arrives and emits them, in order, when every source has ended;
//                           with .presorted_answers() (sources sorted), a sorted merge that
//                           stops after offset + k rows.
// Memory: what push() was given and pull() has not emitted (buffered_rows(), whose peak is
// peak_buffered_rows()), plus a top-k's offset + k rows or a distinct's key set. Each
// emitted row is moved once; pull() allocates nothing but `out`'s growth.
//
// Bad input: a sorted source's batch that is not sorted, or that starts before the row its
// previous batch ended with, is rejected whole by push() (std::system_error with
// sg::errc::bad_input naming the source); rows of earlier batches stand. push() on an ended
// source or an empty batch throws std::invalid_argument. Not thread-safe: one thread at a
// time (sg::stream::open calls it on a strand). Example: tests/stream/merger.cpp.
#pragma once

#include <sg/error.hpp>
#include <sg/merge/concat.hpp>
#include <sg/merge/distinct.hpp>
#include <sg/merge/loser_tree.hpp>
#include <sg/merge/sorted.hpp>
#include <sg/merge/top_k.hpp>
#include <sg/order.hpp>

#include <boost/container_hash/hash.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace sg::stream {

// What pull() did: emitted rows (ready), needs a batch of blocked_on() first (blocked), or
// has emitted everything and every source has ended (done).
enum class pull_status : unsigned char { ready, blocked, done };

namespace detail {

// The batches one source delivered and the merge has not emitted yet.
template <class Row>
struct source_buffer {
  std::deque<std::vector<Row>> batches;
  std::size_t pos = 0;  // the next row of batches.front()
  bool ended = false;

  bool has_row() const noexcept { return !batches.empty(); }
  Row& head() noexcept { return batches.front()[pos]; }
  Row const& head() const noexcept { return batches.front()[pos]; }
};

// What every merger shares: per-source buffers and the row counts.
template <class Row>
class merger_base {
 public:
  using row_type = Row;
  using batch_type = std::vector<Row>;

  explicit merger_base(std::size_t sources) : sources_(sources) {}

  std::size_t sources() const noexcept { return sources_.size(); }
  // Batches of source i held, not yet all emitted.
  std::size_t buffered_batches(std::size_t i) const noexcept { return sources_[i].batches.size(); }
  // Rows pushed and not yet emitted (or folded away), and the most there ever were.
  std::size_t buffered_rows() const noexcept { return buffered_; }
  std::size_t peak_buffered_rows() const noexcept { return peak_; }
  bool ended(std::size_t i) const noexcept { return sources_[i].ended; }
  // The source pull() last returned blocked for.
  std::size_t blocked_on() const noexcept { return blocked_on_; }
  // Whether more input could change the output (false once a top-k of 0 rows knows).
  bool needs_input() const noexcept { return true; }

 protected:
  void check_push(std::size_t i, batch_type const& batch, char const* who) const {
    if (i >= sources_.size())
      throw std::invalid_argument(std::string(who) + ": source " + std::to_string(i) + " of " +
                                  std::to_string(sources_.size()) + " does not exist");
    if (sources_[i].ended)
      throw std::invalid_argument(std::string(who) + ": source " + std::to_string(i) + " has already ended");
    if (batch.empty())
      throw std::invalid_argument(std::string(who) + ": source " + std::to_string(i) +
                                  " pushed an empty batch (end a source with end(i))");
  }
  void check_end(std::size_t i, char const* who) const {
    if (i >= sources_.size())
      throw std::invalid_argument(std::string(who) + ": source " + std::to_string(i) + " of " +
                                  std::to_string(sources_.size()) + " does not exist");
  }
  void add_rows(std::size_t n) noexcept {
    buffered_ += n;
    peak_ = std::max(peak_, buffered_);
  }
  // Moves source i's head to out and advances; true when that emptied its front batch.
  bool take_head(std::size_t i, batch_type& out) {
    auto& s = sources_[i];
    out.push_back(std::move(s.head()));
    --buffered_;
    if (++s.pos == s.batches.front().size()) {
      s.batches.pop_front();
      s.pos = 0;
      return true;
    }
    return false;
  }
  // Drops source i's head (an offset's row) and advances.
  void skip_head(std::size_t i) {
    auto& s = sources_[i];
    --buffered_;
    if (++s.pos == s.batches.front().size()) {
      s.batches.pop_front();
      s.pos = 0;
    }
  }

  std::vector<source_buffer<Row>> sources_;
  std::size_t buffered_ = 0;
  std::size_t peak_ = 0;
  std::size_t blocked_on_ = 0;
};

// Rows in arrival order; the sources with rows take turns a batch at a time.
template <class Row>
class concat_merger : public merger_base<Row> {
  using base = merger_base<Row>;

 public:
  using typename base::batch_type;
  explicit concat_merger(std::size_t sources) : base(sources) {}

  void push(std::size_t i, batch_type&& batch) {
    this->check_push(i, batch, "sg::stream (concat)");
    auto& s = this->sources_[i];
    if (s.batches.empty()) ready_.push_back(i);
    this->add_rows(batch.size());
    s.batches.push_back(std::move(batch));
  }
  void end(std::size_t i) {
    this->check_end(i, "sg::stream (concat)");
    this->sources_[i].ended = true;
  }

  // Up to max rows (a whole batch, moved, when out is empty and the batch fits).
  pull_status pull(batch_type& out, std::size_t max) {
    const std::size_t before = out.size();
    while (!ready_.empty() && out.size() - before < max) {
      const std::size_t i = ready_.front();
      auto& s = this->sources_[i];
      if (out.empty() && s.pos == 0 && s.batches.front().size() <= max) {
        this->buffered_ -= s.batches.front().size();
        out = std::move(s.batches.front());
        s.batches.pop_front();
      } else {
        while (out.size() - before < max)
          if (this->take_head(i, out)) break;
      }
      if (s.batches.empty() || s.pos == 0) {  // a batch is done: the next source's turn
        ready_.pop_front();
        if (!s.batches.empty()) ready_.push_back(i);
      }
    }
    if (out.size() != before) return pull_status::ready;
    for (std::size_t i = 0; i < this->sources_.size(); ++i)
      if (!this->sources_[i].ended) {
        this->blocked_on_ = i;
        return pull_status::blocked;
      }
    return pull_status::done;
  }

 private:
  std::deque<std::size_t> ready_;  // sources with rows, in turn order
};

// concat without rows whose key was already emitted.
template <class Row, class Proj>
class distinct_merger : public concat_merger<Row> {
  using base = concat_merger<Row>;
  using key_type = std::remove_cvref_t<std::invoke_result_t<Proj const&, Row const&>>;

 public:
  using typename base::batch_type;
  distinct_merger(std::size_t sources, Proj proj) : base(sources), proj_(std::move(proj)) {}

  pull_status pull(batch_type& out, std::size_t max) {
    for (;;) {
      const std::size_t before = out.size();
      const auto status = base::pull(out, max);
      if (status != pull_status::ready) return status;
      auto kept = out.begin() + static_cast<std::ptrdiff_t>(before);
      for (auto it = kept; it != out.end(); ++it)
        if (seen_.insert(std::invoke(proj_, std::as_const(*it))).second) {
          if (kept != it) *kept = std::move(*it);
          ++kept;
        }
      out.erase(kept, out.end());
      if (out.size() != before) return pull_status::ready;
    }
  }

 private:
  Proj proj_;
  boost::unordered_flat_set<key_type, total_hash_fn, total_equal_fn> seen_;  // sg/order.hpp
};

// The k-way merge of sorted sources, after dropping `skip` rows and up to `limit` rows.
template <class Row, class Comp, class Proj>
class sorted_merger : public merger_base<Row> {
  using base = merger_base<Row>;
  using key_type = std::remove_cvref_t<std::invoke_result_t<Proj const&, Row const&>>;
  static_assert(std::copy_constructible<key_type>,
                "sg::stream: a sorted stream keeps the key of each source's last row to check the next "
                "batch's order, so the key (proj(row)) must be copyable");

 public:
  using typename base::batch_type;
  sorted_merger(std::size_t sources, Comp comp, Proj proj, std::size_t skip = 0,
                std::size_t limit = std::numeric_limits<std::size_t>::max())
      : base(sources), comp_(std::move(comp)), proj_(std::move(proj)), last_(sources), pushed_(sources, 0),
        skip_(skip), left_(limit) {}

  bool needs_input() const noexcept { return left_ != 0; }

  void push(std::size_t i, batch_type&& batch) {
    this->check_push(i, batch, "sg::stream (sorted)");
    auto bad = std::ranges::is_sorted_until(batch, std::ref(comp_), std::ref(proj_));
    if (bad != batch.end()) {
      const auto at = bad - batch.begin();
      throw std::system_error(make_error_code(errc::bad_input),
                              "sg::stream (sorted): source " + std::to_string(i) + " is not sorted: row " +
                                  std::to_string(at) + " of its batch " + std::to_string(batches_of(i)) +
                                  " goes before row " + std::to_string(at - 1));
    }
    if (last_[i] && std::invoke(comp_, std::invoke(proj_, std::as_const(batch.front())), *last_[i]))
      throw std::system_error(make_error_code(errc::bad_input),
                              "sg::stream (sorted): source " + std::to_string(i) + " is not sorted: its batch " +
                                  std::to_string(batches_of(i)) + " starts before the row its previous batch ended with");
    last_[i].emplace(std::invoke(proj_, std::as_const(batch.back())));
    ++pushed_[i];
    this->add_rows(batch.size());
    this->sources_[i].batches.push_back(std::move(batch));
  }
  void end(std::size_t i) {
    this->check_end(i, "sg::stream (sorted)");
    this->sources_[i].ended = true;
  }

  pull_status pull(batch_type& out, std::size_t max) {
    const std::size_t before = out.size();
    if (left_ == 0) return finished();
    if (!built_) {
      for (std::size_t i = 0; i < this->sources_.size(); ++i)
        if (!this->sources_[i].has_row() && !this->sources_[i].ended) return blocked(i);
      tree_.build(this->sources_.size(), beats());
      built_ = true;
    } else if (waiting_) {
      const std::size_t w = tree_.winner();
      if (!this->sources_[w].has_row() && !this->sources_[w].ended) return blocked(w);
      waiting_ = false;
      tree_.replay(beats());
    }
    while (out.size() - before < max && !this->sources_.empty()) {
      const std::size_t w = tree_.winner();
      auto& s = this->sources_[w];
      if (!s.has_row()) break;  // the winner is exhausted: so is every source
      if (skip_ != 0) {
        --skip_;
        this->skip_head(w);
      } else {
        this->take_head(w, out);
        if (--left_ == 0) {
          finished();
          break;
        }
      }
      if (!s.has_row() && !s.ended) {  // its next row is not here yet: wait for it
        waiting_ = true;
        if (out.size() != before) return pull_status::ready;
        return blocked(w);
      }
      tree_.replay(beats());
    }
    if (out.size() != before) return pull_status::ready;
    return pull_status::done;
  }

 private:
  std::size_t batches_of(std::size_t i) const noexcept { return pushed_[i]; }
  // The limit is reached: the rows still buffered will never go out, so they go now.
  pull_status finished() {
    for (auto& s : this->sources_) {
      s.batches.clear();
      s.pos = 0;
    }
    this->buffered_ = 0;
    return pull_status::done;
  }
  pull_status blocked(std::size_t i) {
    this->blocked_on_ = i;
    return pull_status::blocked;
  }
  // Source a's head goes out before source b's: smaller, or equal and a < b; a source
  // without a row (ended) plays +∞.
  auto beats() {
    return [this](std::uint32_t a, std::uint32_t b) {
      auto const& x = this->sources_[a];
      auto const& y = this->sources_[b];
      if (!x.has_row()) return false;
      if (!y.has_row()) return true;
      auto const& kx = std::invoke(proj_, x.head());
      auto const& ky = std::invoke(proj_, y.head());
      if (std::invoke(comp_, ky, kx)) return false;
      if (std::invoke(comp_, kx, ky)) return true;
      return a < b;
    };
  }

  Comp comp_;
  Proj proj_;
  std::vector<std::optional<key_type>> last_;  // each source's last pushed key
  std::vector<std::size_t> pushed_;            // batches each source delivered (named in errors)
  sg::merge::detail::loser_tree tree_;
  bool built_ = false;
  bool waiting_ = false;  // the winner's source must deliver before the tree can replay
  std::size_t skip_;
  std::size_t left_;
};

// The best offset + k rows, folded in as batches arrive; emitted in order at the end.
template <class Row, class Comp, class Proj>
class top_k_merger : public merger_base<Row> {
  using base = merger_base<Row>;

 public:
  using typename base::batch_type;
  top_k_merger(std::size_t sources, std::size_t k, std::size_t skip, Comp comp, Proj proj)
      : base(sources), keep_(k == 0 ? 0 : sg::merge::detail::saturating_sum(skip, k)), skip_(skip), k_(k),
        comp_(std::move(comp)), proj_(std::move(proj)), seq_(sources, 0) {}

  bool needs_input() const noexcept { return k_ != 0; }

  void push(std::size_t i, batch_type&& batch) {
    this->check_push(i, batch, "sg::stream (top_k)");
    for (auto& row : batch) {
      entry e{std::move(row), static_cast<std::uint32_t>(i), seq_[i]++};
      if (heap_.size() < keep_) {
        heap_.push_back(std::move(e));
        std::ranges::push_heap(heap_, before());
        this->add_rows(1);
      } else if (keep_ != 0 && before()(e, heap_.front())) {
        std::ranges::pop_heap(heap_, before());
        heap_.back() = std::move(e);
        std::ranges::push_heap(heap_, before());
      }
    }
  }
  void end(std::size_t i) {
    this->check_end(i, "sg::stream (top_k)");
    this->sources_[i].ended = true;
  }

  pull_status pull(batch_type& out, std::size_t max) {
    if (k_ == 0) return pull_status::done;
    if (!sorted_) {
      for (std::size_t i = 0; i < this->sources_.size(); ++i)
        if (!this->sources_[i].ended) {
          this->blocked_on_ = i;
          return pull_status::blocked;
        }
      std::ranges::sort_heap(heap_, before());
      next_ = std::min(skip_, heap_.size());
      sorted_ = true;
    }
    const std::size_t before_size = out.size();
    while (next_ < heap_.size() && out.size() - before_size < max) {
      out.push_back(std::move(heap_[next_++].row));
      --this->buffered_;
    }
    if (out.size() != before_size) return pull_status::ready;
    heap_.clear();  // with the offset's rows, never emitted
    this->buffered_ = 0;
    return pull_status::done;
  }

 private:
  struct entry {
    Row row;
    std::uint32_t source;
    std::uint64_t seq;
  };
  // a goes out before b: smaller key, then earlier source, then earlier in its source.
  auto before() const {
    return [this](entry const& a, entry const& b) {
      auto const& ka = std::invoke(proj_, std::as_const(a.row));
      auto const& kb = std::invoke(proj_, std::as_const(b.row));
      if (std::invoke(comp_, ka, kb)) return true;
      if (std::invoke(comp_, kb, ka)) return false;
      return a.source != b.source ? a.source < b.source : a.seq < b.seq;
    };
  }

  std::size_t keep_, skip_, k_;
  Comp comp_;
  Proj proj_;
  std::vector<std::uint64_t> seq_;
  std::vector<entry> heap_;  // a max-heap under before(): its front is the worst kept row
  bool sorted_ = false;
  std::size_t next_ = 0;
};

template <class Row, class Merge>
struct merger_for {
  static constexpr bool supported = false;
};
template <class Row>
struct merger_for<Row, sg::merge::concat_merge> {
  static constexpr bool supported = true;
  static concat_merger<Row> make(sg::merge::concat_merge, std::size_t n) { return concat_merger<Row>(n); }
};
template <class Row, class Proj>
  requires std::regular_invocable<Proj const&, Row const&>
struct merger_for<Row, sg::merge::distinct_merge<Proj>> {
  static constexpr bool supported = true;
  static distinct_merger<Row, Proj> make(sg::merge::distinct_merge<Proj> const& m, std::size_t n) {
    return {n, m.proj};
  }
};
template <class Row, class Comp, class Proj>
  requires sg::merge::detail::sorted_run<std::vector<Row>, Comp, Proj>
struct merger_for<Row, sg::merge::sorted_merge<Comp, Proj>> {
  static constexpr bool supported = true;
  static sorted_merger<Row, Comp, Proj> make(sg::merge::sorted_merge<Comp, Proj> const& m, std::size_t n) {
    return {n, m.comp, m.proj};
  }
};
template <class Row, class Comp, class Proj>
  requires sg::merge::detail::sorted_run<std::vector<Row>, Comp, Proj>
struct merger_for<Row, sg::merge::top_k_merge<Comp, Proj>> {
  static constexpr bool supported = true;
  struct either {  // presorted: a sorted merge with offset and limit; else a fold
    std::optional<sorted_merger<Row, Comp, Proj>> sorted;
    std::optional<top_k_merger<Row, Comp, Proj>> folded;
  };
  static either make(sg::merge::top_k_merge<Comp, Proj> const& m, std::size_t n) {
    either e;
    if (m.presorted)
      e.sorted.emplace(n, m.comp, m.proj, m.skip, m.k);
    else
      e.folded.emplace(n, m.k, m.skip, m.comp, m.proj);
    return e;
  }
};

// Calls f on the merger inside (the top-k's two forms share one interface).
template <class M, class F>
decltype(auto) visit_merger(M& m, F&& f) {
  if constexpr (requires { m.sorted; m.folded; }) {
    if (m.sorted) return f(*m.sorted);
    return f(*m.folded);
  } else {
    return f(m);
  }
}

}  // namespace detail

// Whether merge M can run as a stream of Row (concat, distinct, sorted, top_k).
template <class Row, class Merge>
inline constexpr bool streamable_merge = detail::merger_for<Row, std::remove_cvref_t<Merge>>::supported;

// The merger of Row for merge value m over n sources; see the top of this file.
template <class Row, class Merge>
class merger {
  static_assert(streamable_merge<Row, Merge>,
                "sg::stream: this merge cannot run as a stream: use merge::concat, merge::distinct, "
                "merge::sorted or merge::top_k (a hash aggregate needs every row before its first result), "
                "with a comparator and projection that accept the rows");
  using impl_type = decltype(detail::merger_for<Row, Merge>::make(std::declval<Merge const&>(), 0));

 public:
  using row_type = Row;
  using batch_type = std::vector<Row>;

  merger(Merge const& m, std::size_t sources) : impl_(detail::merger_for<Row, Merge>::make(m, sources)) {}

  // Source i delivered a non-empty batch. Throws as described at the top of this file
  // (and keeps nothing of the batch).
  void push(std::size_t i, batch_type&& batch) {
    detail::visit_merger(impl_, [&](auto& m) { m.push(i, std::move(batch)); });
  }
  // Source i has no more rows (it ended, failed, or was cut off): what it delivered stays.
  void end(std::size_t i) {
    detail::visit_merger(impl_, [&](auto& m) { m.end(i); });
  }
  // Appends at most max rows that can go out now to out (max ≥ 1, else
  // std::invalid_argument).
  pull_status pull(batch_type& out, std::size_t max) {
    if (max == 0) throw std::invalid_argument("sg::stream: pull needs room for at least one row (max = 0)");
    return detail::visit_merger(impl_, [&](auto& m) { return m.pull(out, max); });
  }
  std::size_t sources() const { return visit(&detail::merger_base<Row>::sources); }
  std::size_t buffered_batches(std::size_t i) const {
    return detail::visit_merger(impl_, [&](auto const& m) { return m.buffered_batches(i); });
  }
  std::size_t buffered_rows() const { return visit(&detail::merger_base<Row>::buffered_rows); }
  std::size_t peak_buffered_rows() const { return visit(&detail::merger_base<Row>::peak_buffered_rows); }
  std::size_t blocked_on() const { return visit(&detail::merger_base<Row>::blocked_on); }
  bool ended(std::size_t i) const {
    return detail::visit_merger(impl_, [&](auto const& m) { return m.ended(i); });
  }
  // False when no input can change the output any more (a top-k of 0 rows, a limit
  // reached): the sources need not be read.
  bool needs_input() const {
    return detail::visit_merger(impl_, [](auto const& m) { return m.needs_input(); });
  }

 private:
  template <class F>
  std::size_t visit(F f) const {
    return detail::visit_merger(impl_, [&](auto const& m) { return std::invoke(f, m); });
  }
  impl_type impl_;
};

template <class Row, class Merge>
merger<Row, std::remove_cvref_t<Merge>> make_merger(Merge const& m, std::size_t sources) {
  return {m, sources};
}

}  // namespace sg::stream
