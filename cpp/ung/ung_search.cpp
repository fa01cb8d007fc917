// UNG search: entry points in the groups whose label sets are the query's minimal supersets
// (containment) or equal to it (equality), then a best-first search of the unified graph.
#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "core/visited.h"
#include "graph/best_first.h"
#include "graph/search_list.h"
#include "ung/ung_index.h"

namespace fanns::ung {
namespace {

uint64_t mix(uint64_t x) {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

struct SearchScratch {
  VisitedSet visited;
  graph::SearchList queue;
  std::vector<int32_t> entries;
  std::vector<int32_t> labels;
};

}  // namespace

void UngIndex::search(const float* queries, size_t nq, const LabelSetsView& sets, const int64_t* rows,
                      QueryMode mode, const SearchParams& params, int threads, int64_t* out_ids,
                      float* out_distances, uint64_t* out_distance_counts) const {
  if (!built_) throw std::runtime_error("the index is not built yet");
  if (params.k < 1) throw std::invalid_argument("k must be >= 1");
  if (params.L_search < params.k) {
    throw std::invalid_argument("L_search (" + std::to_string(params.L_search) + ") must be >= k (" +
                                std::to_string(params.k) + ")");
  }
  if (params.num_entry_points < 1) throw std::invalid_argument("num_entry_points must be >= 1");
  if (mode == QueryMode::Equality && params_.scenario != Scenario::Equality) {
    throw std::invalid_argument("equality queries need an index built with scenario 'equality' "
                                "(cross edges of a 'general' index lead to supersets)");
  }
  const size_t n = size();
  const size_t k = static_cast<size_t>(params.k);
  const size_t sigma = static_cast<size_t>(params.num_entry_points);
  auto make = [] { return SearchScratch{}; };
  parallel_for_each(nq, threads, make, [&](SearchScratch& s, size_t q) {
    int64_t* ids = out_ids + q * k;
    float* distances = out_distances + q * k;
    std::fill(ids, ids + k, -1);
    std::fill(distances, distances + k, std::numeric_limits<float>::infinity());
    out_distance_counts[q] = 0;
    const int64_t set = rows[q];
    s.labels.assign(sets.labels + sets.offsets[set], sets.labels + sets.offsets[set + 1]);
    std::sort(s.labels.begin(), s.labels.end());
    s.labels.erase(std::unique(s.labels.begin(), s.labels.end()), s.labels.end());

    std::vector<int32_t> entry_groups;
    if (mode == QueryMode::Equality) {
      auto it = group_of_set_.find(s.labels);
      if (it != group_of_set_.end()) entry_groups.push_back(it->second);
    } else {
      entry_groups = params_.scenario == Scenario::General ? minimal_supersets_by_lng(s.labels)
                                                           : minimal_supersets(s.labels, -1);
    }
    if (entry_groups.empty()) return;  // no item carries the query's labels

    // entry points: the group's medoid plus sigma - 1 fixed pseudo-random members ("drawn"),
    // or as the authors' program picks them ("first"): a draw that hits a member already
    // chosen is skipped, otherwise the group's j-th member is pushed instead of the drawn one;
    // their search then starts from an empty visited set (iterate_to_fixed_point clears it).
    s.visited.reset(n);
    s.entries.clear();
    const bool first = params.entry_points == EntryPoints::First;
    // The authors draw with rand() per query; "first" draws per (query position, group, draw)
    // so that which draws collide varies over queries as theirs do; "drawn" per group.
    const uint64_t salt = first ? mix(static_cast<uint64_t>(q) + 1) : 0;
    for (int32_t g : entry_groups) {
      const int32_t start = group_start_[g], end = group_start_[g + 1];
      const size_t members = static_cast<size_t>(end - start);
      if (members <= sigma) {
        for (int32_t i = start; i < end; ++i) {
          if (first || s.visited.insert_new(i)) s.entries.push_back(i);
        }
        continue;
      }
      if (s.visited.insert_new(group_entry_[g]) || first) s.entries.push_back(group_entry_[g]);
      for (size_t j = 1; j < sigma; ++j) {
        const uint64_t draw = mix(salt ^ ((static_cast<uint64_t>(g) << 32) | j));
        const int32_t pick = start + static_cast<int32_t>(draw % members);
        if (s.visited.insert_new(pick)) s.entries.push_back(first ? start + static_cast<int32_t>(j) : pick);
      }
    }

    if (first) s.visited.reset(n);

    QueryDistance distance(store_, queries + q * store_.dim());
    s.queue.reset(static_cast<size_t>(params.L_search));
    for (int32_t e : s.entries) s.queue.insert({distance(e), e});
    graph::search_to_fixed_point(
        s.queue, s.visited,
        [&](int32_t node, auto&& visit) {
          const uint64_t end = offsets_[node + 1];
          for (uint64_t e = offsets_[node]; e < end; ++e) {
            if (e + 1 < end) distance.prefetch(adjacency_[e + 1]);
            visit(adjacency_[e]);
          }
        },
        distance);
    const size_t found = std::min(k, s.queue.size());
    for (size_t r = 0; r < found; ++r) {
      ids[r] = internal_to_item_[s.queue[r].id];
      distances[r] = s.queue[r].distance;
    }
    out_distance_counts[q] = distance.count();
  });
}

}  // namespace fanns::ung
