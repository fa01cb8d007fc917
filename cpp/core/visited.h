// Visited set over node ids with O(1) reset between queries (epoch tags).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fanns {

class VisitedSet {
 public:
  explicit VisitedSet(size_t n = 0) : tags_(n, 0) {}

  /// Forget every mark (amortised O(1)); grows to `n` ids if needed.
  void reset(size_t n) {
    if (tags_.size() < n) tags_.assign(n, 0), epoch_ = 0;
    if (++epoch_ == 0) {
      std::fill(tags_.begin(), tags_.end(), 0);
      epoch_ = 1;
    }
  }

  bool contains(size_t id) const { return tags_[id] == epoch_; }
  void insert(size_t id) { tags_[id] = epoch_; }
  /// Mark `id`; true if it was not marked before.
  bool insert_new(size_t id) {
    if (tags_[id] == epoch_) return false;
    tags_[id] = epoch_;
    return true;
  }
  size_t memory_bytes() const { return tags_.size() * sizeof(uint16_t); }

 private:
  std::vector<uint16_t> tags_;
  uint16_t epoch_ = 0;
};

}  // namespace fanns
