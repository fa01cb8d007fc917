// NHQ-NSW (Wang et al., NeurIPS 2023): a navigable small world graph built and searched with
// a fusion distance of vector distance and attribute dissimilarity.
//
// Every item carries A categorical attribute codes (int32; -1 = null, never equal to a query
// code). Building uses the authors' fusion d * (1 + mismatches / A) on squared L2; searching
// uses d + weight_search * mismatches with the index's metric, so with a large weight every
// item whose attributes all equal the query's ranks before every item that differs. Items
// that differ can still be returned (approximate filtering): callers count them, never drop
// them. See fanns_bench/methods/nhq_nsw/README.md for the departures from the authors' code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/distance.h"
#include "core/param_fields.h"
#include "core/vector_store.h"
#include "nhq/nhq_layout.h"

namespace fanns::nhq {

struct NswParams {
  int M = 0;                // neighbours kept per node (the authors' MaxM_ = M)
  int ef_construction = 0;  // beam width while inserting

  /// The fields in index-file order with their bounds (cpp/core/param_fields.h); the values
  /// come from the Python method's declaration (no defaults here).
  static auto fields() {
    return std::make_tuple(param_field("M", &NswParams::M, 1),
                           param_field("ef_construction", &NswParams::ef_construction, 1));
  }
  void validate() const { check_fields(*this); }
};

struct NswSearchParams {
  int k = 10;
  int ef_search = 100;
  float weight_search = 1e6f;
};

class NhqNswIndex {
 public:
  NhqNswIndex(size_t dim, Metric metric, size_t attributes, NswParams params);

  /// Insert items in id order from node 0. With `threads` == 1 the graph is deterministic.
  void build(const float* data, const int32_t* codes, size_t count, int threads);

  /// Query i uses attribute codes row rows[i] of `query_codes` (rows x A).
  void search(const float* queries, size_t nq, const int32_t* query_codes, size_t code_rows,
              const int64_t* rows, const NswSearchParams& params, int threads, int64_t* out_ids,
              float* out_distances, uint64_t* out_distance_counts) const;

  void save(const std::string& path) const;
  static NhqNswIndex load(const std::string& path);

  size_t size() const { return store_.size(); }
  size_t dim() const { return store_.dim(); }
  size_t attributes() const { return attributes_; }
  Metric metric() const { return store_.metric(); }
  const NswParams& params() const { return params_; }
  bool is_built() const { return built_; }
  size_t edge_count() const { return adjacency_.size(); }
  size_t memory_bytes() const;
  std::vector<int64_t> neighbors(int64_t item) const;

  /// Search through the node blocks (default) or the index's own arrays (same results; tests).
  void set_use_layout(bool use) { use_layout_ = use; }
  /// True when the node blocks hold exactly the index's vectors, codes and lists.
  bool layout_matches() const { return layout_.matches(csr()); }
  /// Tests only: zero node `item`'s vector in the blocks.
  void corrupt_layout_for_test(int64_t item) { layout_.corrupt_vector(static_cast<int32_t>(item)); }

 private:
  CsrView csr() const { return {store_, codes_, offsets_, adjacency_, attributes_}; }

  NswParams params_;
  size_t attributes_;
  VectorStore store_;
  std::vector<int32_t> codes_;      // N x A
  std::vector<uint64_t> offsets_;   // N + 1
  std::vector<int32_t> adjacency_;
  NodeLayout layout_;  // search-time copy, built after build() and load()
  bool use_layout_ = true;
  bool built_ = false;
};

}  // namespace fanns::nhq
