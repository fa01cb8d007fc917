// SeRF: the 2D segment graph (Zuo et al., SIGMOD 2024) on the shared core.
//
// Items are indexed by their position in attribute-sorted order and inserted in that order
// into an HNSW whose level-0 step is replaced: the candidates of item i (all positions < i)
// are pruned batch by batch ("MAX_POS" recursion): a batch is an RNG-pruned neighbour list,
// valid for query ranges whose left end lies in [start, end]; the next batch keeps only
// candidates right of the previous batch's rightmost neighbour. Each item keeps these
// forward segments (edges to the left, valid for any right end >= i) and one list of
// reverse edges (edges to the right). One compressed graph serves every query range.
// See fanns_bench/methods/serf/README.md for the departures from the authors' code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/distance.h"
#include "core/param_fields.h"
#include "core/vector_store.h"

namespace fanns::serf {

struct BuildParams {
  int index_k = 0;          // out-degree bound of a segment (HNSW's M, level 0 included)
  int ef_construction = 0;  // beam width on upper levels; also ends a level-0 batch
  int ef_max = 0;           // level-0 candidate beam (all candidates ever in it are kept)
  uint64_t seed = 0;        // HNSW level assignment

  /// The fields in index-file order with their bounds (cpp/core/param_fields.h); the values
  /// come from the Python method's declaration (no defaults here).
  static auto fields() {
    return std::make_tuple(param_field("index_k", &BuildParams::index_k, 2),
                           param_field("ef_construction", &BuildParams::ef_construction, 1),
                           param_field("ef_max", &BuildParams::ef_max, 1),
                           param_field("seed", &BuildParams::seed, 0));
  }
  /// Throws std::invalid_argument naming the bad parameter.
  void validate() const { check_fields(*this); }
};

/// The compressed graph: per node its forward segments (CSR: each segment's right end of
/// the valid left-bound interval and its neighbour ids), and its reverse neighbours sorted
/// by decreasing position.
struct Graph {
  std::vector<uint64_t> segment_offsets;  // N + 1, into segment_ends / neighbor_offsets
  std::vector<int32_t> segment_ends;      // per segment: last left bound it serves
  std::vector<uint64_t> neighbor_offsets; // segments + 1, into neighbors
  std::vector<int32_t> neighbors;
  std::vector<uint64_t> reverse_offsets;  // N + 1
  std::vector<int32_t> reverse;

  size_t memory_bytes() const;
};

class SerfIndex {
 public:
  SerfIndex(size_t dim, Metric metric, BuildParams params);

  /// Index `count` row-major float32 vectors given in attribute order (row i = position i).
  /// Single-threaded and deterministic for a seed.
  void build(const float* data, size_t count);

  /// Answer `nq` queries; query i may return positions in [starts[i], stops[i]) only.
  /// Ranges of fewer than `scan_below` items are scored exhaustively (0: never).
  /// Writes k positions (-1 padded), k distances and the distance count per query.
  void search(const float* queries, size_t nq, const int64_t* starts, const int64_t* stops,
              size_t k, size_t ef_search, size_t scan_below, bool return_seeds, bool raise_ef_to_k,
              int threads, int64_t* out_ids,
              float* out_distances,
              uint64_t* out_distance_counts) const;

  void save(const std::string& path) const;
  static SerfIndex load(const std::string& path);

  size_t size() const { return store_.size(); }
  size_t dim() const { return store_.dim(); }
  Metric metric() const { return store_.metric(); }
  const BuildParams& params() const { return params_; }
  bool is_built() const { return built_; }
  size_t memory_bytes() const { return store_.memory_bytes() + graph_.memory_bytes(); }
  const Graph& graph() const { return graph_; }

 private:
  BuildParams params_;
  VectorStore store_;
  Graph graph_;
  bool built_ = false;
};

}  // namespace fanns::serf
