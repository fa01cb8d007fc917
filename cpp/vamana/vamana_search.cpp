// Label-restricted greedy search of FilteredVamana / StitchedVamana (DiskANN's
// search_with_filters): start at the query label's start point (and the medoid when it
// carries the label), expand the closest unexpanded candidate, admit only items with the label.
#include <algorithm>
#include <vector>

#include "core/parallel.h"
#include "core/visited.h"
#include "graph/best_first.h"
#include "graph/search_list.h"
#include "vamana/vamana_index.h"

namespace fanns::vamana {

namespace {

struct SearchScratch {
  VisitedSet visited;
  graph::SearchList list;
};

}  // namespace

void VamanaIndex::search(const float* queries, size_t nq, const int32_t* query_labels,
                         const SearchParams& params, int threads, int64_t* out_ids, float* out_distances,
                         uint64_t* out_distance_counts) const {
  const size_t k = static_cast<size_t>(params.k);
  const size_t list_size = std::max(static_cast<size_t>(params.L), k);
  const size_t n = store_.size();
  parallel_for_each(
      nq, threads, [&] { return SearchScratch{VisitedSet(n), graph::SearchList()}; },
      [&](SearchScratch& s, size_t q) {
        int64_t* ids = out_ids + q * k;
        float* distances = out_distances + q * k;
        std::fill(ids, ids + k, -1);
        std::fill(distances, distances + k, 0.0f);
        out_distance_counts[q] = 0;
        const int32_t label = query_labels[q];
        const bool unfiltered = label == kUnfiltered;
        if (!unfiltered && (label < 0 || label >= labels_.label_count || label_starts_[label] < 0)) return;
        QueryDistance distance(store_, queries + q * store_.dim());
        s.visited.reset(n);
        s.list.reset(list_size);
        auto admit = [&](int32_t id) { return unfiltered || labels_.has(static_cast<size_t>(id), label); };
        const int32_t starts[2] = {medoid_, unfiltered ? -1 : label_starts_[label]};
        for (int32_t start : starts) {
          if (start < 0 || !admit(start) || !s.visited.insert_new(start)) continue;
          s.list.insert({distance(start), start});
        }
        graph::search_to_fixed_point(
            s.list, s.visited,
            [&](int32_t node, auto&& visit) {
              const int32_t* end = adjacency_.data() + offsets_[node + 1];
              for (const int32_t* m = adjacency_.data() + offsets_[node]; m != end; ++m) visit(*m);
            },
            distance, admit);
        const size_t found = std::min(k, s.list.size());
        for (size_t i = 0; i < found; ++i) {
          ids[i] = s.list[i].id;
          distances[i] = s.list[i].distance;
        }
        out_distance_counts[q] = distance.count();
      });
}

}  // namespace fanns::vamana
