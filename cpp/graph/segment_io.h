// Index-file pieces shared by the segment-graph methods (SeRF and DSG): both files hold the
// magic bytes and version, the metric, the build parameters, then n, dim and the float32
// vectors, then the graph's arrays.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/binary_io.h"
#include "core/vector_store.h"

namespace fanns::segment {

/// Positions are int32, so a file may hold fewer than INT32_MAX items.
constexpr uint64_t kMaxFileCount = static_cast<uint64_t>(INT32_MAX) - 1;

/// Write n, dim and the vectors (the part after the build parameters).
inline void write_store(BinaryWriter& out, const VectorStore& store) {
  out.value<uint64_t>(store.size());
  out.value<uint64_t>(store.dim());
  out.vectors(store);
}

/// Read and check n and dim written by write_store (the vectors follow; read them with
/// BinaryReader::vectors once the index exists).
inline std::pair<uint64_t, uint64_t> read_count_and_dim(BinaryReader& in) {
  const uint64_t n = in.value<uint64_t>();
  const uint64_t dim = in.value<uint64_t>();
  in.check_count_and_dim(n, dim, kMaxFileCount);
  return {n, dim};
}

/// Check every id in `ids` is a position below n.
inline void check_ids(const BinaryReader& in, const std::vector<int32_t>& ids, uint64_t n,
                      const char* what) {
  in.check_range(ids, 0, static_cast<int64_t>(n), std::string(what) + " id");
}

}  // namespace fanns::segment
