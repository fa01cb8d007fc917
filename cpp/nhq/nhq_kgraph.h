// NHQ-KGraph, the "NPG_kgraph" variant of NHQ (Wang et al., NeurIPS 2023): an approximate kNN
// graph from NN-descent under the fusion distance, pruned to a navigable graph with NHQ's
// edge selection, searched with the fusion distance (see nhq_nsw.h for the fusion and for
// approximate filtering). See fanns_bench/methods/nhq/README.md for the departures.
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

struct KGraphParams {
  int K = 0;        // neighbours of a node whose own lists feed the two-hop candidates (with B)
  int L = 0;        // NN-descent pool size
  int iter = 0;     // NN-descent iterations (stops early at control recall 0.8)
  int S = 0;        // NN-descent sample size
  int R = 0;        // NN-descent reverse-neighbour cap
  int RANGE = 0;    // out-degree bound of the final graph
  int PL = 0;       // two-hop candidates added before pruning
  float B = 0.0f;   // fraction of K whose neighbours give two-hop candidates
  float M = 0.0f;   // pruning factor: drop p when M * d(kept, p) < d(node, p)
  uint64_t seed = 0;  // the authors' rand() after srand(seed + 1) (efanna_random.h)

  /// The fields in index-file order (format 2) with their bounds (cpp/core/param_fields.h);
  /// the values come from the Python method's declaration (no defaults here).
  static auto fields() {
    return std::make_tuple(
        param_field("K", &KGraphParams::K, 1), param_field("L", &KGraphParams::L, 1),
        param_field("iter", &KGraphParams::iter, 1), param_field("S", &KGraphParams::S, 1),
        param_field("R", &KGraphParams::R, 1), param_field("RANGE", &KGraphParams::RANGE, 1),
        param_field("PL", &KGraphParams::PL, 0), param_field("B", &KGraphParams::B, 0.0),
        param_field("M", &KGraphParams::M, 0.0), param_field("seed", &KGraphParams::seed, 0));
  }
  /// Throws std::invalid_argument naming the bad parameter (M = 0 too: it would prune every edge).
  void validate() const;
};

struct KGraphSearchParams {
  int k = 10;
  int L_search = 100;
  float weight_search = 1e6f;
};

class NhqKGraphIndex : public NhqGraph {
 public:
  NhqKGraphIndex(size_t dim, Metric metric, size_t attributes, KGraphParams params);

  /// Build from float32 vectors and int32 codes (N x A). Deterministic for a seed with threads == 1.
  void build(const float* data, const int32_t* codes, size_t count, int threads);

  void search(const float* queries, size_t nq, const int32_t* query_codes, size_t code_rows,
              const int64_t* rows, const KGraphSearchParams& params, int threads, int64_t* out_ids,
              float* out_distances, uint64_t* out_distance_counts) const;

  void save(const std::string& path) const;
  static NhqKGraphIndex load(const std::string& path);

  const KGraphParams& params() const { return params_; }
  int descent_iterations() const { return iterations_; }

 private:
  KGraphParams params_;
  int iterations_ = 0;
};

}  // namespace fanns::nhq
