// sg/merge/loser_tree.hpp — a tournament (loser) tree over k sources: the k-way merge
// engine of sg::merge::sorted.
//
// Internal node n (1 ≤ n < k) keeps the loser of the match played there; the overall
// winner is kept apart. After the winner's source advances, one path from its leaf to the
// root is replayed: ⌈log2 k⌉ comparisons per element, against a binary heap's up to
// 2·log2 k (sift-down compares both children). Works for any k ≥ 1 (heap layout: the
// children of n are 2n and 2n+1, source i is leaf k + i). `beats(a, b)` must say whether
// source a's head goes out before source b's, treating an exhausted source as +∞ and
// breaking ties as the caller wants (by source index, for a stable merge).
// Example: include/sg/merge/sorted.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace sg::merge::detail {

// The `beats` of a loser tree over sources with `at` and `end` members (cursors into
// runs): source a's head goes out before source b's when before(head_a, head_b), or when
// neither is before the other and a < b (stable); an exhausted source plays +∞.
template <class Sources, class Before>
auto stable_head_order(Sources const& sources, Before before) {
  return [&sources, before](std::uint32_t a, std::uint32_t b) {
    auto const& x = sources[a];
    auto const& y = sources[b];
    if (x.at == x.end) return false;
    if (y.at == y.end) return true;
    if (before(*y.at, *x.at)) return false;
    if (before(*x.at, *y.at)) return true;
    return a < b;
  };
}

class loser_tree {
 public:
  // Plays the first round over sources 0..k-1. O(k).
  template <class Beats>
  void build(std::size_t k, Beats&& beats) {
    k_ = k;
    losers_.assign(k, 0);
    if (k == 0) return;
    std::vector<std::uint32_t> winners(2 * k);
    for (std::size_t i = 0; i < k; ++i) winners[k + i] = static_cast<std::uint32_t>(i);
    for (std::size_t n = k - 1; n >= 1; --n) {
      const std::uint32_t a = winners[2 * n], b = winners[2 * n + 1];
      const bool a_wins = beats(a, b);
      winners[n] = a_wins ? a : b;
      losers_[n] = a_wins ? b : a;
    }
    winner_ = k == 1 ? 0 : winners[1];
  }

  // The source whose head goes out next.
  std::size_t winner() const noexcept { return winner_; }

  // After the winner's source advanced (or ran out): replays its path to the root.
  template <class Beats>
  void replay(Beats&& beats) {
    std::uint32_t current = winner_;
    for (std::size_t n = (k_ + current) / 2; n >= 1; n /= 2) {
      if (beats(losers_[n], current)) std::swap(losers_[n], current);
    }
    winner_ = current;
  }

 private:
  std::size_t k_ = 0;
  std::vector<std::uint32_t> losers_;  // losers_[n] for internal nodes n = 1..k-1
  std::uint32_t winner_ = 0;
};

}  // namespace sg::merge::detail
