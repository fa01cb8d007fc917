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
#include "nhq/nhq_graph.h"

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

class NhqNswIndex : public NhqGraph {
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

  const NswParams& params() const { return params_; }

 private:
  NswParams params_;
};

}  // namespace fanns::nhq
