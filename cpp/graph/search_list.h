// The bounded, sorted candidate list of best-first graph search (DiskANN's "search list" / "L
// best"), shared by Vamana, UNG and any method whose search runs to a fixed point.
//
// Keeps the `capacity` closest candidates seen, sorted by (distance, id); each entry records
// whether it has been expanded. The search repeatedly expands the closest unexpanded entry
// until every kept entry is expanded (the "fixed point").
//
// One array of (neighbour, expanded) entries, sized to the capacity once and reused: an insert
// shifts one block of entries (not a neighbour array and a flag array, each through
// vector::insert), which is most of a short search's list work.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/heaps.h"

namespace fanns::graph {

class SearchList {
 public:
  /// Empty the list for a search keeping `capacity` (>= 1) entries.
  void reset(size_t capacity) {
    capacity_ = capacity;
    if (entries_.size() < capacity) entries_.resize(capacity);
    size_ = 0;
    next_ = 0;
  }
  size_t size() const { return size_; }
  const Neighbor& operator[](size_t i) const { return entries_[i].neighbor; }

  /// Insert (distance, id) unless the list is full of closer ones or holds `id` already.
  void insert(Neighbor item) {
    if (size_ >= capacity_ && !closer(item, entries_[size_ - 1].neighbor)) return;
    size_t lo = 0, hi = size_;
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (closer(item, entries_[mid].neighbor)) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    // equal (distance, id) sits just before lo
    if (lo > 0 && entries_[lo - 1].neighbor.id == item.id) return;
    if (size_ < capacity_) ++size_;  // else the last entry drops off
    Entry* at = entries_.data() + lo;
    std::copy_backward(at, entries_.data() + size_ - 1, entries_.data() + size_);
    *at = Entry{item, false};
    if (lo < next_) next_ = lo;
  }

  bool has_unexpanded() const { return next_ < size_; }

  /// The closest unexpanded entry, now marked expanded.
  Neighbor expand_next() {
    Entry& entry = entries_[next_];
    entry.expanded = true;
    while (next_ < size_ && entries_[next_].expanded) ++next_;
    return entry.neighbor;
  }

 private:
  struct Entry {
    Neighbor neighbor;
    bool expanded;
  };
  size_t capacity_ = 0;
  size_t size_ = 0;
  size_t next_ = 0;
  std::vector<Entry> entries_;
};

}  // namespace fanns::graph
