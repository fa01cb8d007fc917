// DSG: the dynamic segment graph (Peng et al., VLDB 2025) on the shared core.
//
// Items are indexed by their position in attribute-sorted order. Every edge u -> v carries a
// rectangle of query ranges [L, R] it is valid for (L in [left_lower, left_upper], R in
// [right_lower, right_upper]), so edges to both sides of u are kept and no insertion order is
// assumed. Build (as in the authors' current code): an HNSW over all items gives each item a
// candidate list (an ef_max-wide level-0 beam); a depth-first enumeration of the query ranges
// around the item applies the alpha-RNG rule to the candidates inside each range and records,
// per chosen neighbour, the bounding rectangle of the ranges that choose it. Reverse edges are
// added with the same rectangles, duplicates merged, the lowest-support 10% of far edges
// pruned. Search expands, from each node, the neighbours inside [L, R] whose rectangle holds
// (L, R). See fanns_bench/methods/dsg/README.md for the departures from the authors' code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/distance.h"
#include "core/param_fields.h"
#include "core/vector_store.h"

namespace fanns::dsg {

struct BuildParams {
  int M = 0;                // HNSW's M for the candidate graph; most neighbours a range chooses
  int ef_construction = 0;  // HNSW beam while inserting
  int ef_max = 0;           // candidate beam per item (all candidates ever in it are kept)
  float alpha = 0.0f;       // RNG rule: c is dominated by kept p if d(c, p) < d(c, u) / alpha
  uint64_t seed = 0;        // HNSW level assignment

  /// The fields in index-file order with their bounds (cpp/core/param_fields.h); the values
  /// come from the Python method's declaration (no defaults here).
  static auto fields() {
    return std::make_tuple(param_field("M", &BuildParams::M, 2),
                           param_field("ef_construction", &BuildParams::ef_construction, 1),
                           param_field("ef_max", &BuildParams::ef_max, 1),
                           param_field("alpha", &BuildParams::alpha, 1.0),
                           param_field("seed", &BuildParams::seed, 0));
  }
  /// Throws std::invalid_argument naming the bad parameter.
  void validate() const { check_fields(*this); }
};

/// Edges in CSR, each node's sorted by neighbour position, with their validity rectangles.
struct Graph {
  std::vector<uint64_t> offsets;  // N + 1
  std::vector<int32_t> neighbors;
  std::vector<int32_t> left_lower, left_upper, right_lower, right_upper;

  size_t memory_bytes() const;
};

class DsgIndex {
 public:
  DsgIndex(size_t dim, Metric metric, BuildParams params);

  /// Index `count` row-major float32 vectors in attribute order (row i = position i). The
  /// candidate graph is built on one thread; the per-item compression runs on `threads`
  /// threads. The result does not depend on `threads` and is deterministic for a seed.
  void build(const float* data, size_t count, int threads);

  /// Answer `nq` queries; query i may return positions in [starts[i], stops[i]) only.
  /// Ranges of fewer than `scan_below` items are scored exhaustively (0: never).
  void search(const float* queries, size_t nq, const int64_t* starts, const int64_t* stops,
              size_t k, size_t ef_search, size_t scan_below, bool return_seeds, bool raise_ef_to_k,
              int threads, int64_t* out_ids,
              float* out_distances,
              uint64_t* out_distance_counts) const;

  void save(const std::string& path) const;
  static DsgIndex load(const std::string& path);

  size_t size() const { return store_.size(); }
  size_t dim() const { return store_.dim(); }
  Metric metric() const { return store_.metric(); }
  const BuildParams& params() const { return params_; }
  bool is_built() const { return built_; }
  size_t memory_bytes() const { return store_.memory_bytes() + graph_.memory_bytes(); }
  const Graph& graph() const { return graph_; }
  /// Bytes of the vectors and graph tables the kernel mapped on huge pages (0 where it has none).
  size_t huge_page_bytes() const { return huge_page_bytes_; }
  /// Bytes from the last cache line boundary to the vector table's start (0: rows of a
  /// multiple of 64 bytes each cover the fewest lines).
  size_t vectors_line_offset() const {
    return reinterpret_cast<uintptr_t>(store_.raw_f32().data()) % kCacheLineBytes;
  }

 private:
  BuildParams params_;
  VectorStore store_;
  Graph graph_;
  bool built_ = false;
  size_t huge_page_bytes_ = 0;

  /// Map the vectors and the graph's tables on huge pages where the kernel allows it (the
  /// search reads them at random positions: fewer TLB misses; contents and results unchanged).
  void use_huge_pages();
};

}  // namespace fanns::dsg
