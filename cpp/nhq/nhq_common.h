// What both NHQ graphs (NSW and KGraph) share: the body of their index files (vectors,
// attribute codes, a CSR graph) and the copy of a query's final pool into the result rows.
#pragma once

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/binary_io.h"
#include "core/vector_store.h"

namespace fanns::nhq {

/// Write the vectors, the N x A attribute codes and the CSR graph (after the file's header).
inline void write_graph_body(BinaryWriter& out, const VectorStore& store, const std::vector<int32_t>& codes,
                             const std::vector<uint64_t>& offsets, const std::vector<int32_t>& adjacency) {
  out.vectors(store);
  out.array(codes);
  out.array(offsets);
  out.array(adjacency);
}

/// Read back what write_graph_body wrote (n items, `attributes` codes each); every size and id checked.
inline void read_graph_body(BinaryReader& in, uint64_t n, uint64_t attributes, VectorStore& store,
                            std::vector<int32_t>& codes, std::vector<uint64_t>& offsets,
                            std::vector<int32_t>& adjacency) {
  in.vectors(store, n, store.dim());
  codes = in.array<int32_t>(n * attributes);
  in.expect_size(codes, n * attributes, "attribute codes");
  offsets = in.array<uint64_t>(kMaxFileItems);
  adjacency = in.array<int32_t>(kMaxFileItems);
  in.check_offsets(offsets, n, adjacency.size(), "graph");
  in.check_range(adjacency, 0, static_cast<int64_t>(n), "neighbour id");
}

/// Copy the k best of a sorted pool into one query's result row (-1 / +inf past its end).
template <class Neighbor>
void write_result_row(const std::vector<Neighbor>& pool, size_t k, int64_t* ids, float* distances) {
  for (size_t r = 0; r < k; ++r) {
    ids[r] = r < pool.size() ? pool[r].id : -1;
    distances[r] = r < pool.size() ? pool[r].distance : std::numeric_limits<float>::infinity();
  }
}

/// Bytes held by an NHQ graph: vectors, attribute codes and the CSR adjacency.
inline size_t graph_memory_bytes(const VectorStore& store, const std::vector<int32_t>& codes,
                                 const std::vector<uint64_t>& offsets, const std::vector<int32_t>& adjacency) {
  return store.memory_bytes() + codes.size() * sizeof(int32_t) + offsets.size() * sizeof(uint64_t) +
         adjacency.size() * sizeof(int32_t);
}

/// The out-neighbours of `item` in a CSR adjacency; an item outside the index is an error.
inline std::vector<int64_t> neighbor_list(bool built, size_t size, const std::vector<uint64_t>& offsets,
                                          const std::vector<int32_t>& adjacency, int64_t item) {
  if (!built || item < 0 || static_cast<size_t>(item) >= size) {
    throw std::invalid_argument("item " + std::to_string(item) + " is not in the index");
  }
  return std::vector<int64_t>(adjacency.begin() + offsets[item], adjacency.begin() + offsets[item + 1]);
}

}  // namespace fanns::nhq
