// DIGRA-style range-filtered search (after Jiang et al., "DIGRA: A Dynamic Graph Indexing for
// Approximate Nearest Neighbor Search with Range Filter", SIGMOD 2025), reconstructed from the
// paper's description: the authors' code could not be obtained.
//
// A multi-way tree over positions in attribute order: a node at level j covers a block of
// S_j = leaf_size * fanout^(L - j) consecutive positions, so every level partitions the items.
// Each node above the leaves holds a proximity graph (incremental insertion, RNG pruning,
// degree M) over its items. A query range of s positions is answered on the deepest level
// whose nodes hold at least s positions: the range then meets at most two nodes, and a beam
// search runs on each of those two graphs. Ranges no larger than a leaf are scanned exactly.
// See fanns_bench/methods/digra/README.md for what is reconstructed and what departs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/distance.h"
#include "core/param_fields.h"
#include "core/vector_store.h"

namespace fanns::digra {

struct BuildParams {
  int M = 0;                // most links per item in a node's graph
  int ef_construction = 0;  // beam width while inserting
  int fanout = 0;           // children per tree node
  int leaf_size = 0;        // positions per leaf (ranges this small are scanned)
  uint64_t seed = 0;        // insertion order and entry points

  /// The fields in index-file order with their bounds (cpp/core/param_fields.h); the values
  /// come from the Python method's declaration (no defaults here).
  static auto fields() {
    return std::make_tuple(param_field("M", &BuildParams::M, 2, 4096),
                           param_field("ef_construction", &BuildParams::ef_construction, 1),
                           param_field("fanout", &BuildParams::fanout, 2, 1024),
                           param_field("leaf_size", &BuildParams::leaf_size, 1),
                           param_field("seed", &BuildParams::seed, 0));
  }
  /// Throws std::invalid_argument naming the bad parameter.
  void validate() const { check_fields(*this); }
};

class DigraIndex {
 public:
  DigraIndex(size_t dim, Metric metric, StorageType storage, BuildParams params);

  /// Index the `count` items order[0..count) of `rows` row-major float32 vectors: order[p] is
  /// the item id (row) at position p of the attribute order (distinct ids). Nodes are built
  /// independently, so `threads` does not change the result.
  void build(const float* data, size_t rows, const int64_t* order, size_t count, int threads);

  /// Query i searches positions [starts[i], stops[i]). With `strict`, only in-range items
  /// enter the results; without it, the closest items of the (up to two) searched nodes are
  /// returned, some of which may lie outside the range (the approximate variant).
  void search(const float* queries, size_t nq, const int64_t* starts, const int64_t* stops, int k,
              int ef_search, bool strict, int threads, int64_t* out_ids, float* out_distances,
              uint64_t* out_distance_counts) const;

  void save(const std::string& path) const;
  static DigraIndex load(const std::string& path);

  size_t size() const { return store_.size(); }
  size_t dim() const { return store_.dim(); }
  Metric metric() const { return store_.metric(); }
  StorageType storage() const { return store_.type(); }
  const BuildParams& params() const { return params_; }
  bool is_built() const { return built_; }
  /// Levels holding graphs (level 0 is the root; level graph_levels() is the leaves).
  int graph_levels() const { return graph_levels_; }
  /// Positions per node at `level` (0 .. graph_levels()).
  int64_t node_size(int level) const;
  size_t memory_bytes() const {
    return store_.memory_bytes() + links_.size() * sizeof(int32_t) + order_.size() * sizeof(int64_t) +
           entries_.size() * sizeof(int32_t);
  }
  const int32_t* links(int level, int64_t pos) const { return slot(level, pos) + 1; }
  int32_t link_count(int level, int64_t pos) const { return slot(level, pos)[0]; }
  /// Entry position of node `node` at `level` (the first item inserted into its graph).
  int32_t entry(int level, int64_t node) const { return entries_[entry_offsets_[level] + node]; }
  const std::vector<int64_t>& order() const { return order_; }

 private:
  friend class DigraBuilder;
  size_t stride() const { return static_cast<size_t>(params_.M) + 1; }
  int32_t* slot(int level, int64_t pos) {
    return links_.data() + (static_cast<size_t>(level) * store_.size() + pos) * stride();
  }
  const int32_t* slot(int level, int64_t pos) const {
    return links_.data() + (static_cast<size_t>(level) * store_.size() + pos) * stride();
  }
  void layout();  // graph_levels_, entry_offsets_ from the size and parameters

  BuildParams params_;
  VectorStore store_;                  // vectors in attribute order
  std::vector<int64_t> order_;         // position -> item id
  std::vector<int32_t> links_;         // graph_levels x positions x (1 + M)
  std::vector<int32_t> entries_;       // per level, per node: entry position
  std::vector<size_t> entry_offsets_;  // level -> first node's slot in entries_
  int graph_levels_ = 0;
  bool built_ = false;
};

}  // namespace fanns::digra
