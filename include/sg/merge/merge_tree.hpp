// sg/merge/merge_tree.hpp — the k-way merge engine of sg::merge::sorted for arithmetic
// keys: a tree of buffered, branch-free two-way merges.
//
// A loser tree spends each of its ⌈log2 k⌉ matches per element on a branch the processor
// cannot predict (which run wins is data). Here the runs are the leaves of a binary tree
// whose inner nodes each own a small buffer; a node refills its buffer by merging its two
// children's data with a loop that has no data-dependent branch (the comparison selects
// the value and advances one of two pointers arithmetically), running as many steps at
// once as neither input nor the buffer can run out. Each element still passes ⌈log2 k⌉
// nodes, but each pass costs a few cycles instead of a mispredicted branch. Buffers total
// about 256 KiB, so the tree stays in cache. Stable: a tie goes to the left child, and
// runs are placed left to right in shard order.
//
// Used by sorted.hpp for contiguous runs of arithmetic values compared with <, > (std::less,
// std::greater, std::ranges::less or greater, transparent or not, sg::total_less or
// total_greater) through std::identity. Floating point is compared in sg's total order
// (sg/order.hpp), which is < wherever < is a strict weak order (no NaN).
// Example: include/sg/merge/sorted.hpp.
#pragma once

#include <sg/order.hpp>

#include <algorithm>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <functional>
#include <span>
#include <type_traits>
#include <vector>

namespace sg::merge::detail {

// The comparators the merge tree accepts, as the direction they sort: +1 ascending, -1
// descending, 0 not one of them.
template <class Comp, class T>
inline constexpr int arithmetic_order = 0;
template <class T>
inline constexpr int arithmetic_order<std::ranges::less, T> = 1;
template <class T>
inline constexpr int arithmetic_order<std::less<>, T> = 1;
template <class T>
inline constexpr int arithmetic_order<std::less<T>, T> = 1;
template <class T>
inline constexpr int arithmetic_order<total_less_fn, T> = 1;
template <class T>
inline constexpr int arithmetic_order<std::ranges::greater, T> = -1;
template <class T>
inline constexpr int arithmetic_order<total_greater_fn, T> = -1;
template <class T>
inline constexpr int arithmetic_order<std::greater<>, T> = -1;
template <class T>
inline constexpr int arithmetic_order<std::greater<T>, T> = -1;

// Runs of T merged by comp ∘ proj can take the merge tree.
template <class T, class Comp, class Proj>
concept merge_tree_eligible =
    std::is_arithmetic_v<T> && std::is_same_v<Proj, std::identity> && arithmetic_order<Comp, T> != 0;

template <class T, int Order>
class merge_tree {
 public:
  // runs: in shard order (the tie-break); every run sorted in Order.
  explicit merge_tree(std::vector<std::span<T const>> runs) {
    leaves_ = std::bit_ceil(std::max<std::size_t>(runs.size(), 2));
    nodes_.resize(2 * leaves_);
    for (std::size_t i = 0; i < runs.size(); ++i) {
      node& leaf = nodes_[leaves_ + i];
      leaf.head = runs[i].data();
      leaf.tail = runs[i].data() + runs[i].size();
    }
    // Per-node buffer: 256 KiB in all, at least 64 elements each.
    const std::size_t inner = leaves_ - 1;
    buffer_size_ = std::max<std::size_t>(64, (std::size_t{256} << 10) / sizeof(T) / std::max<std::size_t>(inner, 1));
    storage_.resize(inner > 1 ? (inner - 1) * buffer_size_ : 0);
    for (std::size_t n = 2; n < leaves_; ++n) {
      node& x = nodes_[n];
      x.buffer = storage_.data() + (n - 2) * buffer_size_;
      x.head = x.tail = x.buffer;
      x.inner = true;
    }
  }

  // Writes every element, merged, to out (room for all of them). Returns the end.
  T* run(T* out) {
    nodes_[1].inner = true;
    return fill(1, out, nullptr);
  }

 private:
  struct node {
    T* buffer = nullptr;     // inner nodes (not the root): their own storage
    T const* head = nullptr; // available data [head, tail)
    T const* tail = nullptr;
    bool inner = false;
    bool done = false;       // no more data will come
  };

  // In sg's total order for floating point (NaN last), branch-free; for runs without NaN
  // it is <, so std::less and sg::total_less merge alike.
  static bool less(T const& a, T const& b) noexcept {
    if constexpr (std::is_floating_point_v<T>)
      return (a < b) | ((b != b) & (a == a));
    else
      return a < b;
  }
  static bool before(T const& a, T const& b) noexcept {
    if constexpr (Order > 0)
      return less(a, b);
    else
      return less(b, a);
  }

  // Makes node n's children hold data, or be finished and empty.
  void ensure(std::size_t n) {
    node& x = nodes_[n];
    if (x.head == x.tail && x.inner && !x.done) {
      T* end = fill(n, x.buffer, x.buffer + buffer_size_);
      x.head = x.buffer;
      x.tail = end;
      if (end == x.buffer) x.done = true;
    }
  }

  // Merges node n's children into [out, limit) (limit null: no limit, the root), until
  // the space is full or both children are finished. Returns the end of what it wrote.
  T* fill(std::size_t n, T* out, T* limit) {
    const std::size_t l = 2 * n, r = 2 * n + 1;
    for (;;) {
      ensure(l);
      ensure(r);
      node& a = nodes_[l];
      node& b = nodes_[r];
      const auto space = limit ? static_cast<std::size_t>(limit - out) : static_cast<std::size_t>(-1);
      if (space == 0) return out;
      const auto have_a = static_cast<std::size_t>(a.tail - a.head);
      const auto have_b = static_cast<std::size_t>(b.tail - b.head);
      if (have_a == 0 || have_b == 0) {
        if (have_a == 0 && have_b == 0) return out;  // both finished (ensure refilled them otherwise)
        node& c = have_a == 0 ? b : a;
        const std::size_t m = std::min(space, have_a + have_b);
        std::memcpy(out, c.head, m * sizeof(T));
        out += m;
        c.head += m;
        continue;
      }
      // Branch-free: m steps can run with no bounds check (each takes one element).
      const std::size_t m = std::min({space, have_a, have_b});
      T const* pa = a.head;
      T const* pb = b.head;
      for (std::size_t i = 0; i < m; ++i) {
        const T x = *pa, y = *pb;
        const bool take_b = before(y, x);  // a tie goes to the left: stable
        out[i] = take_b ? y : x;
        pa += !take_b;
        pb += take_b;
      }
      out += m;
      a.head = pa;
      b.head = pb;
    }
  }

  std::size_t leaves_ = 0;
  std::size_t buffer_size_ = 0;
  std::vector<node> nodes_;
  std::vector<T> storage_;
};

}  // namespace sg::merge::detail
