// UNG: the Unified Navigating Graph (Cai et al., SIGMOD 2025) on the shared core.
//
// Items are grouped by their label set (a sorted set of non-negative label ids). Each group
// gets its own Vamana proximity graph (a complete graph when it has at most R members).
// With scenario General the label navigating graph (LNG) links every label set to its
// minimal proper supersets, and every item of a group gets up to `num_cross_edges` edges
// into the groups of its LNG out-neighbours (found by searching their Vamana graphs with the
// item's vector), plus a few extra edges where a group would otherwise have no edge into an
// out-neighbour group. All edges point from a label set to a superset, so a search started
// in the minimal supersets of a query's label set only ever reaches items whose label sets
// contain it: containment queries need no filter check. Scenario Equality skips the LNG
// and the cross edges; a query then searches the one group whose label set equals its own.
// See fanns_bench/methods/ung/README.md for the departures from the authors' code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/distance.h"
#include "core/param_fields.h"
#include "core/vector_store.h"

namespace fanns::ung {

enum class Scenario : uint8_t { General = 0, Equality = 1 };
enum class QueryMode : uint8_t { Containment = 0, Equality = 1 };

Scenario parse_scenario(const std::string& name);
const char* scenario_name(Scenario scenario);
QueryMode parse_mode(const std::string& name);

struct BuildParams {
  Scenario scenario = Scenario::General;  // a keyword of its own (a name), not a field
  int max_degree = 0;        // R: out-degree bound of each group's Vamana graph
  int L_build = 0;           // L: beam width while building (and for cross edges)
  float alpha = 0.0f;        // alpha: Vamana's pruning slack
  int num_cross_edges = 0;   // delta: cross-group edges per item
  int max_candidates = 750;  // candidates a prune considers (the authors' constant, not a field)

  /// The fields in index-file order with their bounds (cpp/core/param_fields.h); the values
  /// come from the Python method's declaration (no defaults here).
  static auto fields() {
    return std::make_tuple(param_field("max_degree", &BuildParams::max_degree, 1),
                           param_field("L_build", &BuildParams::L_build, 1),
                           param_field("alpha", &BuildParams::alpha, 1.0),
                           param_field("num_cross_edges", &BuildParams::num_cross_edges, 1));
  }
  /// Throws std::invalid_argument naming the bad parameter (also num_cross_edges > L_build).
  void validate() const;
};

/// How the sigma - 1 extra entry points of a group are chosen (see ung_search.cpp).
enum class EntryPoints { First, Drawn };

/// "first" (the authors' program) or "drawn" (ours); throws std::invalid_argument otherwise.
EntryPoints parse_entry_points(const std::string& name);

struct SearchParams {
  int k = 10;
  int L_search = 100;        // beam width
  int num_entry_points = 16; // sigma: entry points per entry group
  EntryPoints entry_points = EntryPoints::First;
};

/// Label sets in CSR form: set i holds labels[offsets[i] .. offsets[i+1]).
struct LabelSetsView {
  const int64_t* offsets;
  const int32_t* labels;
  size_t count;  // number of sets
};

class UngIndex {
 public:
  UngIndex(size_t dim, Metric metric, BuildParams params);

  /// Index `count` row-major float32 vectors with their label sets. The result does not
  /// depend on `threads` (groups and cross-edge searches are independent work items).
  void build(const float* data, size_t count, const LabelSetsView& labels, int threads);

  /// Query i uses label set `rows[i]` of `sets`. Writes k ids (-1 padded), k distances and
  /// the distance computations of each query.
  void search(const float* queries, size_t nq, const LabelSetsView& sets, const int64_t* rows,
              QueryMode mode, const SearchParams& params, int threads, int64_t* out_ids,
              float* out_distances, uint64_t* out_distance_counts) const;

  void save(const std::string& path) const;
  static UngIndex load(const std::string& path);

  size_t size() const { return store_.size(); }
  size_t dim() const { return store_.dim(); }
  Metric metric() const { return store_.metric(); }
  const BuildParams& params() const { return params_; }
  bool is_built() const { return built_; }
  size_t memory_bytes() const;
  size_t group_count() const { return group_start_.empty() ? 0 : group_start_.size() - 1; }
  size_t lng_edge_count() const { return lng_targets_.size(); }
  size_t edge_count() const { return adjacency_.size(); }
  size_t cross_edge_count() const { return cross_edges_; }

  /// Neighbours of item `item` (original ids).
  std::vector<int64_t> neighbors(int64_t item) const;

 private:
  // Internal ids: items renumbered so that each group is a contiguous range.
  std::vector<int32_t> group_labels(int32_t group) const;
  void index_groups();  // derived lookups: label -> groups, label set -> group
  void index_label_graph();  // derived: LNG in-neighbours
  std::vector<int32_t> supersets(const std::vector<int32_t>& query) const;
  std::vector<int32_t> minimal_supersets(const std::vector<int32_t>& query, int32_t avoid) const;
  std::vector<int32_t> minimal_supersets_by_lng(const std::vector<int32_t>& query) const;

  BuildParams params_;
  VectorStore store_;  // vectors in internal order
  bool built_ = false;
  std::vector<int32_t> internal_to_item_;
  std::vector<int32_t> group_start_;          // groups + 1 (internal id ranges)
  std::vector<int32_t> group_entry_;          // internal id of each group's entry (medoid)
  std::vector<int64_t> group_label_offsets_;  // groups + 1
  std::vector<int32_t> group_label_values_;
  std::vector<uint64_t> lng_offsets_;         // groups + 1: minimal proper supersets
  std::vector<int32_t> lng_targets_;
  std::vector<uint64_t> offsets_;             // N + 1: the unified graph (internal ids)
  std::vector<int32_t> adjacency_;
  size_t cross_edges_ = 0;
  // derived, rebuilt on load
  std::vector<std::vector<int32_t>> label_groups_;
  std::map<std::vector<int32_t>, int32_t> group_of_set_;
  std::vector<uint64_t> lng_in_offsets_;
  std::vector<int32_t> lng_sources_;
};

}  // namespace fanns::ung
