// sg/merge/merge_tree.hpp — the k-way merge engine of sg::merge::sorted for arithmetic
// keys: a tree of buffered, branch-free two-way merges.
//
// A loser tree spends each of its ⌈log2 k⌉ matches per element on a branch the processor
// cannot predict (which run wins is data). Here the runs are the leaves of a binary tree
// whose inner nodes each own a small buffer; a node tops its buffer up whenever it is
// less than half full, merging its two children's data with the two-way kernel of
// detail/merge_kernel.hpp (a bitonic merge network in AVX2 or AVX-512 registers for 4-
// and 8-byte integers, chosen at run time; otherwise four branch-free loops side by side,
// cut apart by co-rank), as many elements at once as neither input nor the buffer can run
// out. Each element still passes ⌈log2 k⌉ nodes, but each pass costs about a cycle or two
// instead of a mispredicted branch. Buffers total about 256 KiB, so the tree stays in
// cache. Stable: a tie goes to the left child, and runs are placed left to right in shard
// order; every kernel writes the same bits.
//
// The order check is fused into the merge: a leaf hands its run to the tree one window at
// a time (a few KiB, about 256 KiB over all leaves), and checks that window — with its
// boundary against the previous one — just before the merge reads it (order_check.hpp:
// branch-free, AVX2 where the processor has it), so the check reads data on its way into
// the cache and costs no pass of its own. The first element out of order calls
// on_unsorted(run, position), which must throw; nothing of that window has been merged.
//
// Used by sorted.hpp for contiguous runs of arithmetic values compared with <, > (std::less,
// std::greater, std::ranges::less or greater, transparent or not, sg::total_less or
// total_greater) through std::identity. Floating point is compared in sg's total order
// (sg/order.hpp), which is < wherever < is a strict weak order (no NaN).
// Example: include/sg/merge/sorted.hpp.
#pragma once

#include <sg/merge/detail/merge_kernel.hpp>
#include <sg/merge/order_check.hpp>
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

// merge_tree's order check: none (the caller checked the runs already).
struct unchecked_runs {
  void operator()(std::size_t, std::size_t) const noexcept {}
};

template <class T, int Order, class OnUnsorted = unchecked_runs>
class merge_tree {
 public:
  // runs: in shard order (the tie-break); each run should be sorted in Order, and the first
  // element out of order calls on_unsorted(run index, position) when the merge reaches its
  // window (it must throw). With unchecked_runs nothing is checked.
  explicit merge_tree(std::vector<std::span<T const>> runs, OnUnsorted on_unsorted = {})
      : on_unsorted_(std::move(on_unsorted)) {
    leaves_ = std::bit_ceil(std::max<std::size_t>(runs.size(), 2));
    nodes_.resize(2 * leaves_);
    window_ = std::clamp<std::size_t>((std::size_t{256} << 10) / sizeof(T) / leaves_, 64, 4096);
    for (std::size_t i = 0; i < runs.size(); ++i) {
      node& leaf = nodes_[leaves_ + i];
      leaf.begin = leaf.head = leaf.tail = runs[i].data();
      leaf.end = runs[i].data() + runs[i].size();
      if constexpr (std::is_same_v<OnUnsorted, unchecked_runs>) leaf.tail = leaf.end;  // one window
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
    nodes_[1].inner = true;
  }

  // Writes every element, merged, to out (room for all of them). Returns the end.
  T* run(T* out) { return fill(1, out, nullptr); }

  // Merges into a buffer of `chunk` elements at a time and hands each full (the last one
  // partly full) buffer to flush(T const* data, std::size_t n): for an output that must
  // not be written ahead (a std::vector filled by insert, without zeroing it first).
  template <class Flush>
  void run_buffered(Flush&& flush, std::size_t chunk = 2048) {
    std::vector<T> buffer(chunk);
    for (;;) {
      T* end = fill(1, buffer.data(), buffer.data() + chunk);
      if (end == buffer.data()) return;
      flush(static_cast<T const*>(buffer.data()), static_cast<std::size_t>(end - buffer.data()));
    }
  }

 private:
  struct node {
    T* buffer = nullptr;      // inner nodes (not the root): their own storage
    T const* head = nullptr;  // available data [head, tail): a leaf's checked window
    T const* tail = nullptr;
    T const* begin = nullptr; // leaves: the run [begin, end)
    T const* end = nullptr;
    bool inner = false;
    bool done = false;        // no more data will come
  };

  // a goes before b: in sg's total order for floating point (NaN last), branch-free, the
  // order check's own comparison (order_check.hpp); for runs without NaN it is <, so
  // std::less and sg::total_less merge alike.
  static bool before(T const& a, T const& b) noexcept { return goes_before<Order>(a, b); }

  // Keeps node n at least half full, or finished: an inner node tops its buffer up (what
  // is left moves to the front), a leaf checks and opens its next window. Merging only
  // from children that hold half a buffer or more keeps each call of the two-way kernel
  // long (a node refilled only when empty would be asked for a few elements each time one
  // of its children runs low).
  void ensure(std::size_t n) {
    node& x = nodes_[n];
    const auto have = static_cast<std::size_t>(x.tail - x.head);
    if (x.inner) {
      if (x.done || have >= buffer_size_ / 2) return;
      if (have != 0 && x.head != x.buffer) std::memmove(x.buffer, x.head, have * sizeof(T));
      T* const start = x.buffer + have;
      T* const end = fill(n, start, x.buffer + buffer_size_);
      x.head = x.buffer;
      x.tail = end;
      if (end == start) x.done = true;
    } else if (x.tail != x.end && have < window_ / 2) {
      T const* from = x.tail == x.begin ? x.tail : x.tail - 1;  // with the previous window's last
      T const* to = x.tail + std::min(window_, static_cast<std::size_t>(x.end - x.tail));
      if (!in_order<Order>(from, static_cast<std::size_t>(to - from))) [[unlikely]]
        on_unsorted_(n - leaves_, static_cast<std::size_t>(from - x.begin) +
                                      first_out_of_order<Order>(from, static_cast<std::size_t>(to - from)));
      x.tail = to;
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
      // m outputs can be merged with no bounds check: the SIMD kernel where T has one
      // (detail/merge_kernel.hpp), else branch-free loops, bit for bit alike.
      const std::size_t m = std::min({space, have_a, have_b});
      const std::size_t from_a = merge_prefix<Order>(a.head, have_a, b.head, have_b, out, m);
      T const* pa = a.head + from_a;
      T const* pb = b.head + (m - from_a);
      out += m;
      a.head = pa;
      b.head = pb;
    }
  }

  [[no_unique_address]] OnUnsorted on_unsorted_;
  std::size_t leaves_ = 0;
  std::size_t window_ = 0;
  std::size_t buffer_size_ = 0;
  std::vector<node> nodes_;
  std::vector<T> storage_;
};

}  // namespace sg::merge::detail
