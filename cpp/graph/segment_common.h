// Pieces shared by the segment-graph methods (SeRF and DSG): distances between stored rows,
// a single-threaded HNSW used while building (items are positions in attribute order), and
// the range-restricted beam search both methods answer queries with.
//
// Both methods index items by their POSITION in the attribute-sorted order: a query range is
// an inclusive position interval [left, right], and every id in this file is a position.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "core/cache_aligned.h"
#include "core/distance.h"
#include "core/heaps.h"
#include "core/vector_store.h"
#include "core/visited.h"

namespace fanns::segment {

/// Distances from queries and between stored float32 rows (the core's SIMD kernels).
class RowDistance {
 public:
  RowDistance(const float* rows, size_t dim, Metric metric)
      : rows_(rows), dim_(dim), kernel_(distance_kernels(metric).f32) {}

  const float* row(int32_t id) const { return rows_ + static_cast<size_t>(id) * dim_; }
  float to(const float* query, int32_t id) const { return kernel_(query, row(id), dim_); }
  float between(int32_t a, int32_t b) const { return kernel_(row(a), row(b), dim_); }

 private:
  const float* rows_;
  size_t dim_;
  DistanceF32 kernel_;
};

/// Sort neighbours closest first (ties by id, so builds are deterministic).
inline void sort_closest_first(std::vector<Neighbor>& items) {
  std::sort(items.begin(), items.end(), closer);
}

/// An HNSW grown one item at a time on one thread (hnswlib's insertion: random level,
/// greedy descent, beam search per level, RNG-heuristic selection, pruned back links).
/// The level-0 choice is left to the caller, which is where SeRF and DSG differ.
class InsertionHnsw {
 public:
  InsertionHnsw(const RowDistance& distance, size_t n, int M, int M0, int ef_construction,
                uint64_t seed)
      : distance_(distance),
        M_(static_cast<size_t>(M)),
        M0_(static_cast<size_t>(M0)),
        ef_construction_(static_cast<size_t>(std::max(ef_construction, M))),
        levels_(n, 0),
        links0_(n),
        upper_(n),
        level_mult_(1.0 / std::log(static_cast<double>(std::max(M, 2)))),
        rng_(seed) {}

  /// Insert `id`. `level0(candidates, back_links)` receives the level-0 beam of width
  /// `ef_level0` (closest first; with `keep_evicted`, every node that was ever among the
  /// best, as SeRF's and DSG's builds use it) and returns the links to keep at level 0
  /// (closest first), setting how many of them get a link back.
  template <class Level0Choice>
  void insert(int32_t id, size_t ef_level0, bool keep_evicted, Level0Choice level0) {
    const int level = random_level();
    levels_[id] = static_cast<uint8_t>(std::min(level, 255));
    if (level > 0) upper_[id].assign(static_cast<size_t>(level), {});
    if (entry_ < 0) {
      entry_ = id;
      max_level_ = level;
      return;
    }
    const float* query = distance_.row(id);
    int32_t current = entry_;
    float current_distance = distance_.to(query, current);
    for (int l = max_level_; l > level; --l) greedy(query, l, current, current_distance);
    std::vector<Neighbor> beam;
    for (int l = std::min(level, max_level_); l >= 1; --l) {
      search_layer(query, {Neighbor{current_distance, current}}, l, ef_construction_, false, beam, -1,
                   scratch_);
      std::vector<int32_t> chosen = heuristic(beam, M_);
      upper_[id][l - 1] = chosen;
      for (int32_t other : chosen) link_back(other, id, l, M_);
      current = chosen.front();
      current_distance = distance_.to(query, current);
    }
    search_layer(query, {Neighbor{current_distance, current}}, 0, ef_level0, keep_evicted, beam, -1,
                 scratch_);
    size_t back_links = 0;
    std::vector<int32_t> chosen = level0(beam, back_links);
    links0_[id] = chosen;
    for (size_t i = 0; i < chosen.size() && i < back_links; ++i) link_back(chosen[i], id, 0, M0_);
    if (level > max_level_) {
      max_level_ = level;
      entry_ = id;
    }
  }

  /// Scratch of one beam search (one per thread).
  struct LayerScratch {
    LayerScratch() : visited(0) {}
    VisitedSet visited;
    ResultHeap top;
    CandidateHeap candidates;
  };

  /// DSG's candidate search for an item already in the graph: a level-0 beam of width `ef`
  /// seeded with the item's own level-0 links (the item itself excluded), evicted ones kept.
  /// Safe to call from several threads once insertion is over (each with its own scratch).
  void neighbours_of(int32_t id, size_t ef, std::vector<Neighbor>& out, LayerScratch& scratch) const {
    const float* query = distance_.row(id);
    std::vector<Neighbor> seeds;
    for (int32_t other : links0_[id]) seeds.push_back({distance_.to(query, other), other});
    search_layer(query, seeds, 0, ef, true, out, id, scratch);
  }

  /// hnswlib's getNeighborsByHeuristic2: walk `candidates` closest first, keep one unless a
  /// kept node is closer to it than the new item is; stop at `limit`.
  std::vector<int32_t> heuristic(const std::vector<Neighbor>& candidates, size_t limit) const {
    std::vector<int32_t> kept;
    for (const Neighbor& c : candidates) {
      if (kept.size() >= limit) break;
      bool good = true;
      for (int32_t k : kept) {
        if (distance_.between(k, c.id) < c.distance) {
          good = false;
          break;
        }
      }
      if (good) kept.push_back(c.id);
    }
    return kept;
  }

  const std::vector<int32_t>& links0(int32_t id) const { return links0_[id]; }

 private:
  int random_level() {
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    double u = uniform(rng_);
    if (u <= 0.0) u = std::numeric_limits<double>::min();
    return static_cast<int>(-std::log(u) * level_mult_);
  }

  const std::vector<int32_t>& links(int32_t id, int level) const {
    return level == 0 ? links0_[id] : upper_[id][level - 1];
  }
  std::vector<int32_t>& links(int32_t id, int level) {
    return level == 0 ? links0_[id] : upper_[id][level - 1];
  }

  void greedy(const float* query, int level, int32_t& current, float& current_distance) const {
    for (bool changed = true; changed;) {
      changed = false;
      for (int32_t other : links(current, level)) {
        const float d = distance_.to(query, other);
        if (d < current_distance) {
          current_distance = d;
          current = other;
          changed = true;
        }
      }
    }
  }

  /// Beam search of width `ef` at `level`; with `keep_evicted` the result also holds every
  /// node pushed out of the beam (SeRF's and DSG's "return all" candidate lists).
  void search_layer(const float* query, const std::vector<Neighbor>& seeds, int level, size_t ef,
                    bool keep_evicted, std::vector<Neighbor>& out, int32_t exclude,
                    LayerScratch& s) const {
    s.visited.reset(levels_.size());
    if (exclude >= 0) s.visited.insert(static_cast<size_t>(exclude));
    s.top.reset(ef);
    s.candidates.clear();
    out.clear();
    for (const Neighbor& seed : seeds) {
      if (!s.visited.insert_new(static_cast<size_t>(seed.id))) continue;
      s.candidates.push(seed);
      if (s.top.full()) out.push_back(s.top.worst());
      s.top.push(seed);
    }
    while (!s.candidates.empty()) {
      const Neighbor c = s.candidates.top();
      if (!s.top.empty() && c.distance > s.top.worst().distance) break;
      s.candidates.pop();
      for (int32_t other : links(c.id, level)) {
        if (!s.visited.insert_new(static_cast<size_t>(other))) continue;
        const float d = distance_.to(query, other);
        if (!s.top.full() || d < s.top.worst().distance) {
          s.candidates.push({d, other});
          if (s.top.full()) out.push_back(s.top.worst());
          s.top.push({d, other});
        }
      }
    }
    if (!keep_evicted) out.clear();
    for (const Neighbor& n : s.top.items()) out.push_back(n);
    sort_closest_first(out);
  }

  /// Add `id` to `other`'s list at `level`; a full list is re-chosen by the heuristic.
  void link_back(int32_t other, int32_t id, int level, size_t capacity) {
    std::vector<int32_t>& list = links(other, level);
    if (list.size() < capacity) {
      list.push_back(id);
      return;
    }
    std::vector<Neighbor> pool;
    pool.reserve(list.size() + 1);
    pool.push_back({distance_.between(other, id), id});
    for (int32_t x : list) pool.push_back({distance_.between(other, x), x});
    sort_closest_first(pool);
    list = heuristic(pool, capacity);
  }

  const RowDistance& distance_;
  size_t M_, M0_, ef_construction_;
  std::vector<uint8_t> levels_;
  std::vector<std::vector<int32_t>> links0_;
  std::vector<std::vector<std::vector<int32_t>>> upper_;
  int32_t entry_ = -1;
  int max_level_ = -1;
  LayerScratch scratch_;
  double level_mult_;
  std::mt19937_64 rng_;
};

/// Per-thread scratch of the range search.
struct RangeSearchScratch {
  RangeSearchScratch() : visited(0) {}
  VisitedSet visited;
  CandidateHeap candidates;
  ResultHeap top;
  std::vector<int32_t> fresh;
  CacheAlignedVector<float> query;  // a copy of the query on a cache line (aligned SIMD loads)
};

/// The best-first search both methods use: seeds inside [left, right], then expand the
/// closest unexpanded node; `for_each_neighbor(node, visit)` calls `visit(id)` for the node's
/// neighbours usable in this range (all inside [left, right]). The unvisited ones are
/// prefetched, then scored in order; `prefetch_edges(node)` is called for the node likely to
/// be expanded next (a hint only: it must not change what for_each_neighbor visits). Stops when the closest candidate is farther than the
/// worst of the `ef` best. With `return_seeds` false the seeds are expanded but never enter
/// the results (the authors' SeRF and DSG searches). Returns the distance count.
template <class Seeds, class ForEachNeighbor, class PrefetchEdges>
uint64_t range_beam_search(const RowDistance& distance, const float* query, size_t n,
                           const Seeds& seeds, size_t ef, bool return_seeds,
                           RangeSearchScratch& s, ForEachNeighbor for_each_neighbor,
                           PrefetchEdges prefetch_edges) {
  uint64_t count = 0;
  s.visited.reset(n);
  s.candidates.clear();
  s.top.reset(ef);
  for (int32_t seed : seeds) {
    if (!s.visited.insert_new(static_cast<size_t>(seed))) continue;
    const float d = distance.to(query, seed);
    ++count;
    s.candidates.push({d, seed});
    if (return_seeds) s.top.push({d, seed});
  }
  auto collect = [&](int32_t id) {
    if (!s.visited.insert_new(static_cast<size_t>(id))) return;
    s.fresh.push_back(id);
    __builtin_prefetch(distance.row(id));
  };
  while (!s.candidates.empty()) {
    const Neighbor c = s.candidates.top();
    if (!s.top.empty() && c.distance > s.top.worst().distance) break;
    s.candidates.pop();
    s.fresh.clear();
    for_each_neighbor(c.id, collect);
    // The next node to expand is the closest candidate left or a closer fresh one: fetch its
    // edges while the distances below wait on memory.
    float next_best = std::numeric_limits<float>::infinity();
    if (!s.candidates.empty()) {
      next_best = s.candidates.top().distance;
      prefetch_edges(s.candidates.top().id);
    }
    for (int32_t id : s.fresh) {
      const float d = distance.to(query, id);
      ++count;
      if (!s.top.full() || d < s.top.worst().distance) {
        if (d < next_best) {
          next_best = d;
          prefetch_edges(id);
        }
        s.candidates.push({d, id});
        s.top.push({d, id});
      }
    }
  }
  return count;
}

/// The same search without the edge prefetch hint (SeRF).
template <class Seeds, class ForEachNeighbor>
uint64_t range_beam_search(const RowDistance& distance, const float* query, size_t n, const Seeds& seeds,
                           size_t ef, bool return_seeds, RangeSearchScratch& s,
                           ForEachNeighbor for_each_neighbor) {
  return range_beam_search(distance, query, n, seeds, ef, return_seeds, s, for_each_neighbor,
                           [](int32_t) {});
}

/// The beam width of a search: `ef_search`, raised to k with `raise_ef_to_k` (the authors
/// search with ef_search and then return at most ef_search ids).
inline size_t beam_width(size_t ef_search, size_t k, bool raise_ef_to_k) {
  return raise_ef_to_k ? std::max(ef_search, k) : ef_search;
}

/// Score every position in [left, right] (ranges too small for the graph to connect).
inline uint64_t scan_range(const RowDistance& distance, const float* query, int32_t left, int32_t right,
                           size_t ef, RangeSearchScratch& s) {
  s.top.reset(ef);
  for (int32_t id = left; id <= right; ++id) s.top.push({distance.to(query, id), id});
  return static_cast<uint64_t>(right - left + 1);
}

/// Write the k closest of `s.top` (positions, distances), padding with -1 / +inf.
inline void write_results(RangeSearchScratch& s, size_t k, int64_t* ids, float* distances) {
  const std::vector<Neighbor>& best = s.top.sorted();
  for (size_t j = 0; j < k; ++j) {
    if (j < best.size()) {
      ids[j] = best[j].id;
      distances[j] = best[j].distance;
    } else {
      ids[j] = -1;
      distances[j] = std::numeric_limits<float>::infinity();
    }
  }
}

/// Answer a query whose range [start, stop) is empty (no result) or holds fewer than
/// `scan_below` positions (scored exhaustively); false: the graph search must answer it.
inline bool answer_small_range(const RowDistance& distance, const float* query, int64_t start, int64_t stop,
                               size_t scan_below, size_t ef, size_t k, RangeSearchScratch& s, int64_t* ids,
                               float* distances, uint64_t* distance_count) {
  if (start >= stop) {
    s.top.reset(1);
    *distance_count = 0;
  } else if (static_cast<size_t>(stop - start) < scan_below) {
    *distance_count = scan_range(distance, query, static_cast<int32_t>(start), static_cast<int32_t>(stop - 1),
                                 ef, s);
  } else {
    return false;
  }
  write_results(s, k, ids, distances);
  return true;
}

}  // namespace fanns::segment
