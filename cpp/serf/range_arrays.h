// Checks of per-query position ranges, shared by the range-filter bindings (SeRF, DSG).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "bindings/arrays.h"

namespace fanns::bindings {

/// `starts` / `stops`: int64, one per query, 0 <= start <= stop <= n (half-open positions).
inline void check_position_ranges(const AnyArray& starts, const AnyArray& stops, size_t nq, size_t n,
                                  const int64_t*& start_data, const int64_t*& stop_data) {
  start_data = checked<int64_t>(starts, "starts", 1);
  stop_data = checked<int64_t>(stops, "stops", 1);
  if (starts.shape(0) != nq || stops.shape(0) != nq) {
    throw std::invalid_argument("starts and stops must have one entry per query (" + std::to_string(nq) +
                                "), got " + std::to_string(starts.shape(0)) + " and " +
                                std::to_string(stops.shape(0)));
  }
  for (size_t q = 0; q < nq; ++q) {
    if (start_data[q] < 0 || start_data[q] > stop_data[q] || stop_data[q] > static_cast<int64_t>(n)) {
      throw std::invalid_argument("range of query " + std::to_string(q) + " is [" +
                                  std::to_string(start_data[q]) + ", " + std::to_string(stop_data[q]) +
                                  "); expected 0 <= start <= stop <= " + std::to_string(n));
    }
  }
}

}  // namespace fanns::bindings
