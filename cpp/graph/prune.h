// Neighbour selection rules shared by the graph builders.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/heaps.h"

namespace fanns::graph {

/// RobustPrune as DiskANN's occlude_list: `pool` (sorted closest first) is cut to
/// `max_candidates`; rounds with alpha' = 1, 1.2, 1.44, ... <= alpha each admit the candidates
/// whose occlusion factor max_{selected s} d(p, c) / d(s, c) is <= alpha' (`self` is never
/// admitted). `may_occlude(s, c)` says whether selected s may prune candidate c
/// (FilteredRobustPrune's label condition; always true for plain Vamana and UNG).
/// `distance(c, s)` is between two ids (candidate first, selected second).
template <class Distance, class MayOcclude>
void robust_prune(std::vector<Neighbor>& pool, int32_t self, int degree, float alpha, int max_candidates,
                  Distance distance, MayOcclude may_occlude, std::vector<float>& factor,
                  std::vector<int32_t>& out) {
  out.clear();
  if (pool.empty()) return;
  if (pool.size() > static_cast<size_t>(max_candidates)) pool.resize(static_cast<size_t>(max_candidates));
  factor.assign(pool.size(), 0.0f);
  const float selected = std::numeric_limits<float>::max();
  float current = 1.0f;
  while (current <= alpha && out.size() < static_cast<size_t>(degree)) {
    for (size_t i = 0; i < pool.size() && out.size() < static_cast<size_t>(degree); ++i) {
      if (factor[i] > current) continue;
      factor[i] = selected;
      if (pool[i].id != self) out.push_back(pool[i].id);
      for (size_t j = i + 1; j < pool.size(); ++j) {
        if (factor[j] > alpha) continue;
        if (!may_occlude(pool[i].id, pool[j].id)) continue;
        const float d = distance(pool[j].id, pool[i].id);
        factor[j] = d == 0.0f ? selected : std::max(factor[j], pool[j].distance / d);
      }
    }
    current *= 1.2f;
  }
}

}  // namespace fanns::graph
