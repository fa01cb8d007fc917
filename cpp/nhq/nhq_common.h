// What both NHQ graphs' searches (NSW and KGraph) share: the attribute mismatch count of the
// fusion distance and the copy of a query's final pool into the result rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace fanns::nhq {

/// Attributes on which two code rows differ (a null code, < 0, equals nothing).
inline size_t mismatches(const int32_t* a, const int32_t* b, size_t attributes) {
  // one attribute (the common case): no loop (a search scores every candidate with this)
  if (attributes == 1) return (a[0] != b[0] || a[0] < 0) ? 1 : 0;
  size_t count = 0;
  for (size_t i = 0; i < attributes; ++i) count += (a[i] != b[i] || a[i] < 0) ? 1 : 0;
  return count;
}

/// Copy the k best of a sorted pool into one query's result row (-1 / +inf past its end).
template <class Neighbor>
void write_result_row(const std::vector<Neighbor>& pool, size_t k, int64_t* ids, float* distances) {
  for (size_t r = 0; r < k; ++r) {
    ids[r] = r < pool.size() ? pool[r].id : -1;
    distances[r] = r < pool.size() ? pool[r].distance : std::numeric_limits<float>::infinity();
  }
}

}  // namespace fanns::nhq
