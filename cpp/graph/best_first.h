// Best-first graph search to a fixed point (DiskANN's iterate_to_fixed_point), generic over
// how a method lists a node's neighbours, which nodes it may visit and what it does with each
// node it expands. The policies are functors inlined at compile time (no virtual calls).
#pragma once

#include <cstdint>

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

}  // namespace fanns::graph
