// Shared contract of the searches over positions in attribute order (DIGRA, iRangeGraph):
// argument checks before any work, and an empty result row to start each query from.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

namespace fanns {

/// Throw unless the index is built, k and ef_search are >= 1 and every query's half-open
/// range [starts[q], stops[q]) lies within [0, size].
inline void check_range_search(bool built, size_t size, size_t nq, const int64_t* starts, const int64_t* stops,
                               int k, int ef_search) {
  if (!built) throw std::runtime_error("the index is not built yet");
  if (k < 1) throw std::invalid_argument("k must be >= 1, got " + std::to_string(k));
  if (ef_search < 1) throw std::invalid_argument("ef_search must be >= 1, got " + std::to_string(ef_search));
  for (size_t q = 0; q < nq; ++q) {
    if (starts[q] < 0 || stops[q] < starts[q] || static_cast<size_t>(stops[q]) > size) {
      throw std::invalid_argument("query " + std::to_string(q) + ": range [" + std::to_string(starts[q]) +
                                  ", " + std::to_string(stops[q]) + ") is not within [0, " +
                                  std::to_string(size) + "]");
    }
  }
}

/// Reset one query's result row: ids -1, distances +inf, no distance computations yet.
inline void clear_result_row(int64_t* ids, float* distances, uint64_t* distance_count, size_t k) {
  std::fill(ids, ids + k, int64_t{-1});
  std::fill(distances, distances + k, std::numeric_limits<float>::infinity());
  *distance_count = 0;
}

}  // namespace fanns
