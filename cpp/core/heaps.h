// Candidate and result heaps for best-first graph search ("smaller distance is closer").
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fanns {

struct Neighbor {
  float distance;
  int32_t id;
};

/// Order by distance, ties broken by id, so results are deterministic.
inline bool closer(const Neighbor& a, const Neighbor& b) {
  return a.distance < b.distance || (a.distance == b.distance && a.id < b.id);
}

/// `closer` as a function object: the heaps' std algorithms then inline the comparison (a
/// plain function passed to them became an out-of-line call per comparison in the searches'
/// profiles).
struct Closer {
  bool operator()(const Neighbor& a, const Neighbor& b) const { return closer(a, b); }
};
struct Farther {
  bool operator()(const Neighbor& a, const Neighbor& b) const { return closer(b, a); }
};

/// Bounded max-heap keeping the `capacity` closest neighbours seen.
class ResultHeap {
 public:
  void reset(size_t capacity) {
    capacity_ = capacity;
    items_.clear();
  }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  bool full() const { return items_.size() >= capacity_; }
  const Neighbor& worst() const { return items_.front(); }

  /// Would `distance` enter the heap?
  bool accepts(float distance) const { return !full() || distance < items_.front().distance; }

  void push(Neighbor item) {
    if (!full()) {
      items_.push_back(item);
      std::push_heap(items_.begin(), items_.end(), Closer{});
    } else if (closer(item, items_.front())) {
      replace_top(item);
    }
  }

  /// Drop the worst item and add `item`, whatever its distance (CAPS's authors' stale top-k).
  void replace_worst(Neighbor item) {
    std::pop_heap(items_.begin(), items_.end(), Closer{});
    items_.back() = item;
    std::push_heap(items_.begin(), items_.end(), Closer{});
  }

  /// Contents sorted closest first (the heap is left empty).
  std::vector<Neighbor>& sorted() {
    std::sort_heap(items_.begin(), items_.end(), Closer{});
    return items_;
  }
  const std::vector<Neighbor>& items() const { return items_; }

 private:
  /// Put `item` (closer than the root) in the root's place and sift it down: one pass where
  /// pop_heap + push_heap take two. The heap holds the same items either way, so worst(),
  /// sorted() and every search result are unchanged; only the array's order may differ.
  void replace_top(Neighbor item) {
    const size_t n = items_.size();
    Neighbor* h = items_.data();
    size_t hole = 0;
    for (;;) {
      size_t child = 2 * hole + 1;
      if (child >= n) break;
      if (child + 1 < n && closer(h[child], h[child + 1])) ++child;
      if (!closer(item, h[child])) break;
      h[hole] = h[child];
      hole = child;
    }
    h[hole] = item;
  }

  size_t capacity_ = 0;
  std::vector<Neighbor> items_;
};

/// Unbounded min-heap of candidates to expand (closest on top).
class CandidateHeap {
 public:
  void clear() { items_.clear(); }
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  const Neighbor& top() const { return items_.front(); }
  void push(Neighbor item) {
    items_.push_back(item);
    std::push_heap(items_.begin(), items_.end(), Farther{});
  }
  Neighbor pop() {
    std::pop_heap(items_.begin(), items_.end(), Farther{});
    Neighbor item = items_.back();
    items_.pop_back();
    return item;
  }

 private:
  std::vector<Neighbor> items_;
};

}  // namespace fanns
