// The two best-first graph searches the methods share, generic over how a method lists a
// node's neighbours (and, for the first, which nodes it may visit and what it keeps of each
// node it expands). The policies are functors inlined at compile time (no virtual calls):
//   search_to_fixed_point  DiskANN's iterate_to_fixed_point over a sorted L-best list
//   search_layer           HNSW's SEARCH-LAYER: a candidate heap and an ef-bounded result heap
//   search_layer_from      the same from fresh scratch and a list of entry nodes
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/heaps.h"
#include "core/visited.h"
#include "graph/search_list.h"

namespace fanns::graph {

/// Visits every node.
struct AdmitAll {
  bool operator()(int32_t) const { return true; }
};

/// Does nothing with an expanded node.
struct IgnoreExpanded {
  void operator()(const Neighbor&) const {}
};

/// Expand the closest unexpanded entry of `list` until all are expanded. For each expanded
/// node: `on_expanded(node)`, then `for_each_neighbour(node.id, visit)` calls `visit(id)` for
/// each out-neighbour in order; a neighbour that `admit` accepts and `visited` has not seen
/// is marked visited, scored by `score(id)` and inserted into `list`. The caller seeds `list`
/// and `visited`.
template <class ForEachNeighbour, class Score, class Admit = AdmitAll, class OnExpanded = IgnoreExpanded>
void search_to_fixed_point(SearchList& list, VisitedSet& visited, ForEachNeighbour&& for_each_neighbour,
                           Score&& score, Admit&& admit = Admit(), OnExpanded&& on_expanded = OnExpanded()) {
  while (list.has_unexpanded()) {
    const Neighbor node = list.expand_next();
    on_expanded(node);
    for_each_neighbour(node.id, [&](int32_t next) {
      if (!admit(next) || !visited.insert_new(next)) return;
      list.insert({score(next), next});
    });
  }
}

/// HNSW's SEARCH-LAYER: expand the closest candidate until it is farther than the worst of
/// `results`; `for_each_neighbour(id, visit)` calls `visit(id)` for each out-neighbour in
/// order; a neighbour `visited` has not seen is marked, scored by `score(id)` and, when
/// `results` accepts it, pushed to both heaps. The caller seeds all three (`results` holds
/// at least one entry whenever `candidates` does).
template <class ForEachNeighbour, class Score>
void search_layer(CandidateHeap& candidates, ResultHeap& results, VisitedSet& visited,
                  ForEachNeighbour&& for_each_neighbour, Score&& score) {
  while (!candidates.empty()) {
    const Neighbor current = candidates.top();
    if (current.distance > results.worst().distance) break;
    candidates.pop();
    for_each_neighbour(current.id, [&](int32_t next) {
      if (!visited.insert_new(next)) return;
      const float d = score(next);
      if (results.accepts(d)) {
        candidates.push({d, next});
        results.push({d, next});
      }
    });
  }
}

/// search_layer from fresh scratch: `visited` reset for `n` nodes, `candidates` cleared,
/// `results` bounded by `ef`; each of the `count` entries (a repeated one once) is scored and
/// pushed to both heaps. Returns the results, closest first.
template <class ForEachNeighbour, class Score>
std::vector<Neighbor>& search_layer_from(const int32_t* entries, size_t count, size_t n, size_t ef,
                                         CandidateHeap& candidates, ResultHeap& results, VisitedSet& visited,
                                         ForEachNeighbour&& for_each_neighbour, Score&& score) {
  visited.reset(n);
  candidates.clear();
  results.reset(ef);
  for (size_t e = 0; e < count; ++e) {
    if (!visited.insert_new(entries[e])) continue;
    const Neighbor entry{score(entries[e]), entries[e]};
    candidates.push(entry);
    results.push(entry);
  }
  search_layer(candidates, results, visited, for_each_neighbour, score);
  return results.sorted();
}

/// Calls `visit(id)` for each link of a fixed-capacity slot: slot[0] links, then their ids.
template <class Visit>
void for_each_slot_link(const int32_t* slot, Visit&& visit) {
  for (int32_t j = 0; j < slot[0]; ++j) visit(slot[1 + j]);
}

}  // namespace fanns::graph
