// Argument checks shared by the bindings of the range indexes over one attribute order
// (DIGRA, iRangeGraph): items given in attribute order, queries as position ranges.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "bindings/arrays.h"
#include "bindings/search_results.h"

namespace fanns::bindings {

/// Build input: float32 (rows, dim) vectors and the distinct row ids to index, in attribute order.
struct OrderedItems {
  const float* vectors;
  size_t rows;
  const int64_t* order;
  size_t count;
};

inline OrderedItems checked_ordered_items(const AnyArray& vectors, const AnyArray& order, size_t dim) {
  const float* data = checked_vectors(vectors, "vectors", dim);
  const int64_t* positions = checked<int64_t>(order, "order", 1);
  if (order.shape(0) == 0) throw std::invalid_argument("order must list at least one item");
  return {data, vectors.shape(0), positions, order.shape(0)};
}

/// Search input: float32 (nq, dim) queries and, per query, positions [starts[i], stops[i]).
struct PositionRangeQueries {
  const float* queries;
  size_t nq;
  const int64_t* starts;
  const int64_t* stops;
};

inline PositionRangeQueries checked_range_queries(bool built, size_t dim, const AnyArray& queries,
                                                  const AnyArray& starts, const AnyArray& stops, int k,
                                                  int ef_search) {
  check_built(built);
  const float* q = checked_vectors(queries, "queries", dim);
  const size_t nq = queries.shape(0);
  const int64_t* lo = checked_per_query<int64_t>(starts, "starts", nq);
  const int64_t* hi = checked_per_query<int64_t>(stops, "stops", nq);
  check_positive(k, "k");
  check_positive(ef_search, "ef_search");
  return {q, nq, lo, hi};
}

/// Check that `position` is an indexed position and `layer` (named `layer_name`) is in [0, layers).
inline void check_link_row(bool built, size_t size, int64_t position, const char* layer_name, int layer,
                           int layers) {
  if (!built || position < 0 || static_cast<size_t>(position) >= size) {
    throw std::invalid_argument("position " + std::to_string(position) + " is not in the index");
  }
  if (layer < 0 || layer >= layers) {
    throw std::invalid_argument(std::string(layer_name) + " must be in [0, " + std::to_string(layers) +
                                "), got " + std::to_string(layer));
  }
}

}  // namespace fanns::bindings
