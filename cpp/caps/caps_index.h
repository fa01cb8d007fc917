// CAPS (Gupta et al., "CAPS: A Practical Partition Index for Filtered Similarity Search",
// NeurIPS 2023) on the shared core.
//
// Items are split into B partitions (k-means centroids and assignments come from the caller).
// Inside each partition an attribute frequency tree (AFT) of `tree_levels` levels picks, level
// by level, the most frequent (attribute, value) pair of the partition not picked before; an
// item goes to the bucket of the first level whose pair it carries, or to the remainder
// bucket. Items are stored bucket by bucket (vectors copied in that order). A query visits
// partitions closest centroid first and, in each, the buckets that can hold its matches,
// computing distances to matching items until `max_distances` distances have been computed.
// See fanns_bench/methods/caps/README.md for the departures from the authors' code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/distance.h"
#include "core/param_fields.h"
#include "core/vector_store.h"

namespace fanns::caps {

constexpr int32_t kAnyValue = -1;  // query: this attribute is not constrained; item: null value
constexpr int32_t kNoValue = -2;   // query: a value no item carries (the query has no matches)

struct BuildParams {
  int clusters = 0;     // B
  int tree_levels = 0;  // AFT levels per partition (the authors' treelen)

  /// The fields in index-file order with their bounds (cpp/core/param_fields.h); the values
  /// come from the Python method's declaration (no defaults here).
  static auto fields() {
    return std::make_tuple(param_field("clusters", &BuildParams::clusters, 1),
                           param_field("tree_levels", &BuildParams::tree_levels, 0, 1024));
  }
  void validate() const { check_fields(*this); }
};

struct SearchParams {
  int k = 10;
  int max_distances = 1000;  // m: the distance-computation budget per query
  // false: the authors' top-k, which compares each candidate with a stale maximum
  bool exact_top_k = false;
  // false: as the authors' program, open attributes follow partition 0's tree and a query
  // with every attribute open skips the remainder buckets
  bool fix_open_attributes = false;
};

class CapsIndex {
 public:
  CapsIndex(size_t dim, Metric metric, BuildParams params);

  /// `centroids` (clusters x dim), `assignment[i]` = partition of item i, `values` (count x
  /// attributes, row-major) = each item's value token per attribute (kAnyValue = null).
  void build(const float* data, size_t count, const float* centroids, const int64_t* assignment,
             const int32_t* values, size_t attributes);

  /// `query_values` (nq x attributes): the value each query requires per attribute, kAnyValue
  /// (unconstrained) or kNoValue. Writes k ids (-1 padded), distances and distance counts.
  void search(const float* queries, size_t nq, const int32_t* query_values, const SearchParams& params,
              int threads, int64_t* out_ids, float* out_distances, uint64_t* out_distance_counts) const;

  void save(const std::string& path) const;
  static CapsIndex load(const std::string& path);

  size_t size() const { return store_.size(); }
  size_t dim() const { return store_.dim(); }
  size_t attributes() const { return attributes_; }
  Metric metric() const { return store_.metric(); }
  const BuildParams& params() const { return params_; }
  bool is_built() const { return built_; }
  size_t memory_bytes() const;
  /// Items per bucket, partition-major (clusters x (tree_levels + 1)).
  std::vector<uint64_t> bucket_sizes() const;

 private:
  size_t bucket(size_t cluster, size_t level) const {
    return cluster * static_cast<size_t>(params_.tree_levels + 1) + level;
  }

  BuildParams params_;
  VectorStore store_;               // vectors in bucket order
  size_t attributes_ = 0;
  std::vector<int64_t> item_ids_;    // position -> item id
  std::vector<int32_t> values_;      // position-major values (size x attributes)
  std::vector<float> centroids_;     // clusters x dim
  std::vector<int32_t> level_attr_;  // clusters x tree_levels: attribute of the level's pair, -1 empty
  std::vector<int32_t> level_value_; // clusters x tree_levels: value of the level's pair
  std::vector<uint64_t> offsets_;    // bucket b holds positions [offsets_[b], offsets_[b+1])
  std::vector<uint64_t> token_counts_;  // items carrying each value token (any attribute)

  // One attribute only: the tree level of each (value token, partition), `tree_levels` for the
  // remainder, token-major (a query's row is contiguous); empty if the table would be large.
  std::vector<uint16_t> level_of_token_;
  size_t table_tokens_ = 0;

  /// Per-item token counts and, for one attribute, `level_of_token_` (after build and load).
  void count_tokens();
  /// At most how many items can match `want` (the rarest required value's count).
  uint64_t match_bound(const int32_t* want) const;
  bool built_ = false;
};

}  // namespace fanns::caps
