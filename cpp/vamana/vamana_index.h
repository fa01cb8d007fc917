// FilteredVamana and StitchedVamana (Gollapudi et al., "Filtered-DiskANN: Graph Algorithms
// for Approximate Nearest Neighbor Search with Filters", WWW 2023) on the shared core.
//
// Both build one directed graph over all items, each item carrying a set of integer labels,
// and answer a query that carries one label by a greedy search that starts at that label's
// start point and only visits items carrying the label.
//  * FilteredVamana: items are inserted one by one; each insertion searches from the start
//    points of the item's labels (visiting only items sharing a label with it) and from the
//    medoid (unrestricted, as the authors' code does), then keeps R neighbours chosen by
//    FilteredRobustPrune. Start points are load-balanced per label.
//  * StitchedVamana: one Vamana graph per label (R_small, L_small, alpha) on the items with
//    that label, the union of their edges, then FilteredRobustPrune to R_stitched.
// See fanns_bench/methods/vamana/README.md for the departures from the paper and the code.
//
// The two methods each declare their build parameters once, as a field list (FilteredParams,
// StitchedParams below, cpp/core/param_fields.h) that maps onto the engine's BuildParams.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "core/distance.h"
#include "core/param_fields.h"
#include "core/vector_store.h"

namespace fanns::vamana {

enum class Variant : uint8_t { Filtered = 0, Stitched = 1 };

const char* method_name(Variant variant);

/// The engine's whole configuration; each method fills it from its own field list.
struct BuildParams {
  Variant variant = Variant::Filtered;
  // FilteredVamana
  int R = 48;             // out-degree bound
  int L = 100;            // search list size while inserting (filtered and unfiltered pass)
  float alpha = 1.0f;     // RobustPrune's alpha
  bool unfiltered_pass = true;  // also search from the medoid without the label restriction
  // StitchedVamana
  int R_small = 32;       // degree of the per-label Vamana graphs
  int L_small = 80;       // their search list size
  float alpha_small = 1.1f;      // their alpha
  int R_stitched = 48;    // degree after the final FilteredRobustPrune
  float alpha_stitched = 1.2f;   // alpha of the final prune (the authors' app fixes 1.2)
  // both
  int max_candidates = 750;  // candidates kept for a prune (DiskANN's maxc)
  // FilteredRobustPrune's condition for a selected s to prune a candidate c of node p:
  // false: labels(c) within labels(s) (the authors' code); true: labels(c) & labels(p)
  // within labels(s) (the paper's Algorithm 3).
  bool paper_prune = false;
  uint64_t seed = 0;         // start-point choice
};

/// filtered_vamana's build parameters.
struct FilteredParams {
  static constexpr Variant kKind = Variant::Filtered;
  int R = 0;
  int L = 0;
  float alpha = 0;
  bool unfiltered_pass = true;
  int max_candidates = 0;
  bool paper_prune = false;
  uint64_t seed = 0;
  static auto fields() {
    return std::make_tuple(param_field("R", &FilteredParams::R, 1), param_field("L", &FilteredParams::L, 1),
                           param_field("alpha", &FilteredParams::alpha, 1),
                           param_field("unfiltered_pass", &FilteredParams::unfiltered_pass),
                           param_field("max_candidates", &FilteredParams::max_candidates, 1),
                           param_field("paper_prune", &FilteredParams::paper_prune),
                           param_field("seed", &FilteredParams::seed, 0));
  }
  /// The engine's configuration (bounds checked; StitchedVamana's fields unused).
  BuildParams engine() const;
  static FilteredParams of(const BuildParams& p);
};

/// stitched_vamana's build parameters (`alpha` is the per-label graphs' alpha).
struct StitchedParams {
  static constexpr Variant kKind = Variant::Stitched;
  int R_small = 0;
  int L_small = 0;
  float alpha = 0;
  int R_stitched = 0;
  float alpha_stitched = 0;
  int max_candidates = 0;
  bool paper_prune = false;
  uint64_t seed = 0;
  static auto fields() {
    return std::make_tuple(param_field("R_small", &StitchedParams::R_small, 1),
                           param_field("L_small", &StitchedParams::L_small, 1),
                           param_field("alpha", &StitchedParams::alpha, 1),
                           param_field("R_stitched", &StitchedParams::R_stitched, 1),
                           param_field("alpha_stitched", &StitchedParams::alpha_stitched, 1),
                           param_field("max_candidates", &StitchedParams::max_candidates, 1),
                           param_field("paper_prune", &StitchedParams::paper_prune),
                           param_field("seed", &StitchedParams::seed, 0));
  }
  /// The engine's configuration (bounds checked; FilteredVamana's fields unused).
  BuildParams engine() const;
  static StitchedParams of(const BuildParams& p);
};

/// Call `fn(P{})` with the field-list struct P of `variant`.
template <class Fn>
void with_variant_params(Variant variant, Fn&& fn) {
  if (variant == Variant::Stitched) return fn(StitchedParams{});
  return fn(FilteredParams{});
}

/// Labels of every item in CSR form: the labels of item i are
/// labels[offsets[i]:offsets[i+1]], sorted and unique, each in [0, label_count).
struct LabelSets {
  std::vector<uint64_t> offsets;
  std::vector<int32_t> labels;
  int32_t label_count = 0;

  size_t size() const { return offsets.empty() ? 0 : offsets.size() - 1; }
  const int32_t* begin(size_t item) const { return labels.data() + offsets[item]; }
  const int32_t* end(size_t item) const { return labels.data() + offsets[item + 1]; }
  bool has(size_t item, int32_t label) const {
    for (const int32_t* p = begin(item); p != end(item); ++p) {
      if (*p == label) return true;
      if (*p > label) return false;
    }
    return false;
  }
  /// Does item a carry every label of item b?
  bool covers(size_t a, size_t b) const;
  /// Does item a carry every label that items b and p share?
  bool covers_shared(size_t a, size_t b, size_t p) const;
  /// Do items a and b share a label?
  bool shares(size_t a, size_t b) const;
  size_t memory_bytes() const { return offsets.size() * 8 + labels.size() * 4; }
};

/// Query label codes besides a label id.
constexpr int32_t kNoMatch = -1;     // a label no item carries: empty result
constexpr int32_t kUnfiltered = -2;  // no filter: search from the medoid, unrestricted

struct SearchParams {
  int k = 10;
  int L = 100;  // search list size (L_search)
};

class VamanaIndex {
 public:
  VamanaIndex(size_t dim, Metric metric, BuildParams params);

  /// Index `count` float32 vectors with their labels (validated by the caller). With
  /// `threads` == 1 the build is deterministic for a seed.
  void build(const float* data, size_t count, LabelSets labels, int threads);

  /// Answer `nq` queries; query i carries `query_labels[i]` (a label, kNoMatch or
  /// kUnfiltered). Writes k ids (-1 padded), k distances and the distance count per query.
  void search(const float* queries, size_t nq, const int32_t* query_labels, const SearchParams& params,
              int threads, int64_t* out_ids, float* out_distances, uint64_t* out_distance_counts) const;

  void save(const std::string& path) const;
  /// Load a saved index; `expected` (when given) is the variant the file must hold.
  static VamanaIndex load(const std::string& path);
  static VamanaIndex load(const std::string& path, Variant expected);

  size_t size() const { return store_.size(); }
  size_t dim() const { return store_.dim(); }
  Metric metric() const { return store_.metric(); }
  const BuildParams& params() const { return params_; }
  bool is_built() const { return built_; }
  int32_t label_count() const { return labels_.label_count; }
  int32_t medoid() const { return medoid_; }
  const std::vector<int32_t>& label_starts() const { return label_starts_; }
  const std::vector<uint64_t>& offsets() const { return offsets_; }
  const std::vector<int32_t>& adjacency() const { return adjacency_; }
  size_t memory_bytes() const;

 private:
  BuildParams params_;
  VectorStore store_;
  LabelSets labels_;
  std::vector<uint64_t> offsets_;     // CSR graph: N + 1
  std::vector<int32_t> adjacency_;
  std::vector<int32_t> label_starts_;  // start point per label (-1: label carried by no item)
  int32_t medoid_ = -1;
  bool built_ = false;

  friend class Builder;
};

}  // namespace fanns::vamana
