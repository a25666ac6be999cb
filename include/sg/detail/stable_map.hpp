// sg/detail/stable_map.hpp — private: the per-key state that registries users own keep
// (circuit breakers, latency histograms): created on first use, never moved or removed,
// so a reference to it stays valid for the map's lifetime. Lookups take a shared lock;
// a creation takes the exclusive one.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>

namespace sg::detail {

template <class Key, class T>
class stable_map {
 public:
  // The value of `key`, made by make() (returning std::unique_ptr<T>) on first use.
  template <class Make>
  T& get(Key const& key, Make&& make) {
    if (T* found = find(key)) return *found;
    std::unique_lock lock(mutex_);
    auto& slot = values_[key];
    if (!slot) slot = make();
    return *slot;
  }

  // The value of `key`, or null when it has not been made.
  T* find(Key const& key) const {
    std::shared_lock lock(mutex_);
    auto it = values_.find(key);
    return it == values_.end() ? nullptr : it->second.get();
  }

 private:
  mutable std::shared_mutex mutex_;
  std::map<Key, std::unique_ptr<T>> values_;
};

}  // namespace sg::detail
