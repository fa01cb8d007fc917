// Shared contract of the indexes over positions in attribute order (DIGRA, iRangeGraph):
// the build's item order and vector layout, the search's argument checks, and an empty result
// row to start each query from.
#pragma once

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/vector_store.h"

namespace fanns {

/// Check that `order` (count entries) holds distinct item ids in [0, rows) and store the
/// vectors of those items in that order into `store`, so a position is a row. Returns the
/// position -> item id map.
inline std::vector<int64_t> store_in_attribute_order(const float* data, size_t rows, const int64_t* order,
                                                     size_t count, VectorStore& store) {
  if (count == 0) throw std::invalid_argument("vectors must hold at least one item");
  if (count > static_cast<size_t>(INT32_MAX)) throw std::invalid_argument("at most 2^31 - 1 items");
  std::vector<uint8_t> seen(rows, 0);
  std::vector<int64_t> positions(count);
  for (size_t p = 0; p < count; ++p) {
    const int64_t item = order[p];
    if (item < 0 || static_cast<size_t>(item) >= rows || seen[item]) {
      throw std::invalid_argument("order must hold distinct item ids in [0, " + std::to_string(rows) +
                                  "); order[" + std::to_string(p) + "] = " + std::to_string(item));
    }
    seen[item] = 1;
    positions[p] = item;
  }
  const size_t dim = store.dim();
  std::vector<float> sorted(count * dim);
  for (size_t p = 0; p < count; ++p) std::copy_n(data + positions[p] * dim, dim, sorted.data() + p * dim);
  store.assign(sorted.data(), count);
  return positions;
}

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
