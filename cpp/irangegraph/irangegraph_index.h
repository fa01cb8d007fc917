// iRangeGraph (Xu et al., SIGMOD 2025): range-filtered k-NN search over items sorted by
// one ordered attribute.
//
// Items are indexed at their positions in attribute order. A binary segment tree over the
// positions gives every tree node an "elemental graph" on the items it covers; an item
// keeps one neighbour list per tree layer (the list of the node at that layer holding it).
// A node's graph is built from its children's: the first child's lists are copied, every
// item of a later child is inserted by a beam search on the partly merged graph, and the
// lists are pruned with the RNG heuristic that keeps the child's (already pruned) links.
// A query range [start, stop) is answered on a graph merged on the fly: each expanded item
// takes its in-range links from the lowest layer whose node holds all of the query range
// within the item's node, then from lower layers until M links are collected.
// See fanns_bench/methods/irangegraph/README.md for the departures from the authors' code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/distance.h"
#include "core/param_fields.h"
#include "core/vector_store.h"

namespace fanns::irangegraph {

struct BuildParams {
  int M = 0;                // most links per item and layer
  int ef_construction = 0;  // beam width while inserting
  uint64_t seed = 0;        // entry points of insertions and queries

  /// The fields in index-file order with their bounds (cpp/core/param_fields.h); the values
  /// come from the Python method's declaration (no defaults here).
  static auto fields() {
    return std::make_tuple(param_field("M", &BuildParams::M, 1, 4096),
                           param_field("ef_construction", &BuildParams::ef_construction, 1),
                           param_field("seed", &BuildParams::seed, 0));
  }
  /// Throws std::invalid_argument naming the bad parameter.
  void validate() const { check_fields(*this); }
};

/// A node of the binary segment tree over positions [lo, hi] (inclusive), as the authors
/// split it: the first child holds ceil(len / 2) positions.
struct TreeNode {
  int64_t lo;
  int64_t hi;
  int depth;
  bool leaf() const { return lo == hi; }
  int64_t split() const { return lo + (hi - lo + 2) / 2; }  // first position of the second child
  TreeNode child_holding(int64_t pos) const {
    const int64_t mid = split();
    return pos < mid ? TreeNode{lo, mid - 1, depth + 1} : TreeNode{mid, hi, depth + 1};
  }
};

/// Depth of the deepest leaf of the tree over `n` positions (0 for one position).
int tree_depth(size_t n);

class IRangeGraphIndex {
 public:
  IRangeGraphIndex(size_t dim, Metric metric, StorageType storage, BuildParams params);

  /// Index the `count` items order[0..count) of `rows` row-major float32 vectors: order[p] is
  /// the item id (row) at position p of the attribute order (distinct ids; items left out,
  /// e.g. without a value, are not indexed). The result does not depend on
  /// `threads`: every random choice is seeded by (seed, item, layer).
  void build(const float* data, size_t rows, const int64_t* order, size_t count, int threads);

  /// Answer `nq` queries; query i searches positions [starts[i], stops[i]). Writes k item ids
  /// (original ids, -1 padded) and distances (smaller is closer) per query, and the distance
  /// count per query. The beam holds max(ef_search, entry points) items, as in the authors'
  /// search, so fewer than k ids can be found when ef_search < k.
  void search(const float* queries, size_t nq, const int64_t* starts, const int64_t* stops, int k,
              int ef_search, int threads, int64_t* out_ids, float* out_distances,
              uint64_t* out_distance_counts) const;

  void save(const std::string& path) const;
  static IRangeGraphIndex load(const std::string& path);

  size_t size() const { return store_.size(); }
  size_t dim() const { return store_.dim(); }
  Metric metric() const { return store_.metric(); }
  StorageType storage() const { return store_.type(); }
  const BuildParams& params() const { return params_; }
  bool is_built() const { return built_; }
  int layers() const { return layers_; }
  size_t memory_bytes() const {
    return store_.memory_bytes() + links_.size() * sizeof(int32_t) + order_.size() * sizeof(int64_t);
  }

  /// Links of position `pos` at tree layer `layer` (positions, not item ids).
  const int32_t* links(int64_t pos, int layer) const { return slot(pos, layer) + 1; }
  int32_t link_count(int64_t pos, int layer) const { return slot(pos, layer)[0]; }
  const std::vector<int64_t>& order() const { return order_; }

 private:
  friend class Builder;
  size_t stride() const { return static_cast<size_t>(params_.M) + 1; }
  /// Slot of (pos, layer): [0] = count, then up to M neighbour positions.
  int32_t* slot(int64_t pos, int layer) {
    return links_.data() + (static_cast<size_t>(pos) * layers_ + layer) * stride();
  }
  const int32_t* slot(int64_t pos, int layer) const {
    return links_.data() + (static_cast<size_t>(pos) * layers_ + layer) * stride();
  }

  BuildParams params_;
  VectorStore store_;           // vectors in attribute order (row p = item order_[p])
  std::vector<int64_t> order_;  // position -> item id
  std::vector<int32_t> links_;  // positions x layers x (1 + M)
  int layers_ = 0;
  bool built_ = false;
};

}  // namespace fanns::irangegraph
