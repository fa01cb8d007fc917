// The bounded, sorted candidate list of best-first graph search (DiskANN's "search list" / "L
// best"), shared by Vamana, UNG and any method whose search runs to a fixed point.
//
// Keeps the `capacity` closest candidates seen, sorted by (distance, id); each entry records
// whether it has been expanded. The search repeatedly expands the closest unexpanded entry
// until every kept entry is expanded (the "fixed point").
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/heaps.h"

namespace fanns::graph {

class SearchList {
 public:
  void reset(size_t capacity) {
    capacity_ = capacity;
    items_.clear();
    items_.reserve(capacity + 1);
    expanded_.clear();
    expanded_.reserve(capacity + 1);
    next_ = 0;
  }
  size_t size() const { return items_.size(); }
  const Neighbor& operator[](size_t i) const { return items_[i]; }
  const std::vector<Neighbor>& items() const { return items_; }

  /// Insert (distance, id) unless the list is full of closer ones or holds `id` already.
  void insert(Neighbor item) {
    if (items_.size() >= capacity_ && !closer(item, items_.back())) return;
    size_t lo = 0, hi = items_.size();
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (closer(item, items_[mid])) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    // equal (distance, id) sits just before lo
    if (lo > 0 && items_[lo - 1].id == item.id) return;
    if (items_.size() >= capacity_) {
      items_.pop_back();
      expanded_.pop_back();
    }
    items_.insert(items_.begin() + static_cast<std::ptrdiff_t>(lo), item);
    expanded_.insert(expanded_.begin() + static_cast<std::ptrdiff_t>(lo), 0);
    if (lo < next_) next_ = lo;
  }

  bool has_unexpanded() const { return next_ < items_.size(); }

  /// The closest unexpanded entry, now marked expanded.
  Neighbor expand_next() {
    const size_t at = next_;
    expanded_[at] = 1;
    while (next_ < items_.size() && expanded_[next_]) ++next_;
    return items_[at];
  }

 private:
  size_t capacity_ = 0;
  size_t next_ = 0;
  std::vector<Neighbor> items_;
  std::vector<uint8_t> expanded_;
};

}  // namespace fanns::graph
