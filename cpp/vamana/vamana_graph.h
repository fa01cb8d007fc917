// Sorting a Vamana builder's candidate pool (RobustPrune is graph/prune.h, the search list
// graph/search_list.h).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/heaps.h"

namespace fanns::vamana {

/// Sort `pool` closest first and drop repeated ids (equal ids have equal distances).
inline void sort_unique(std::vector<Neighbor>& pool) {
  std::sort(pool.begin(), pool.end(), [](const Neighbor& a, const Neighbor& b) { return closer(a, b); });
  pool.erase(std::unique(pool.begin(), pool.end(),
                         [](const Neighbor& a, const Neighbor& b) { return a.id == b.id; }),
             pool.end());
}

}  // namespace fanns::vamana
