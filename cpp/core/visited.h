// Visited set over node ids with O(1) reset between queries (epoch tags), and the same
// tags a byte wide (EpochTags<uint8_t>) for a per-query id filter.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fanns {

/// Marks over ids with O(1) reset: a mark is the current epoch in the id's tag; a reset moves
/// to the next epoch and clears every tag only when the epochs wrap. `Tag` sets the width
/// (uint16_t: a visited set, cleared once per 65,535 resets; uint8_t: a byte per id).
template <class Tag>
class EpochTags {
 public:
  explicit EpochTags(size_t n = 0) : tags_(n, 0) {}

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
  /// The tags and the current epoch, for marking many ids at once (an id is marked when its
  /// tag equals the epoch).
  Tag* tags() { return tags_.data(); }
  const Tag* tags() const { return tags_.data(); }
  Tag epoch() const { return epoch_; }
  size_t memory_bytes() const { return tags_.size() * sizeof(Tag); }

 private:
  std::vector<Tag> tags_;
  Tag epoch_ = 0;
};

using VisitedSet = EpochTags<uint16_t>;

}  // namespace fanns
