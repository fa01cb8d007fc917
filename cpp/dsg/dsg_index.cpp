// DSG build (candidate HNSW, per-item range enumeration, reverse edges, support pruning) and
// range search.
#include "dsg/dsg_index.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/huge_pages.h"
#include "core/parallel.h"
#include "graph/segment_common.h"

namespace fanns::dsg {

using segment::RowDistance;

size_t Graph::memory_bytes() const {
  return offsets.size() * sizeof(uint64_t) +
         (neighbors.size() + left_lower.size() + left_upper.size() + right_lower.size() + right_upper.size()) *
             sizeof(int32_t);
}

DsgIndex::DsgIndex(size_t dim, Metric metric, BuildParams params)
    : params_(params), store_(dim, metric, StorageType::Float32) {
  if (dim == 0) throw std::invalid_argument("dim must be >= 1");
  params_.validate();
}

namespace {

struct Edge {
  int32_t id;
  int32_t ll, lu, rl, ru;  // valid for L in [ll, lu] and R in [rl, ru]
};

/// The per-item compression: a depth-first walk over the query ranges [L, R] around the
/// item. Along a path, candidates are taken closest first if they lie in [L, R] and no
/// neighbour already on the path dominates them (alpha-RNG rule); each taken neighbour
/// records the ranges that reach it. After exploring with a neighbour v, the walk continues
/// with the ranges that exclude v (L past v if v is the new leftmost, R before v if it is the
/// new rightmost); if v lies between the extremes already taken, no range excludes it and the
/// level ends. Pairwise domination tests are cached per candidate pair.
class RangeCompressor {
 public:
  RangeCompressor(const RowDistance& distance, size_t max_neighbors, float alpha, int32_t n)
      : distance_(distance), max_neighbors_(max_neighbors), inv_alpha_(1.0f / alpha), n_(n) {}

  void run(int32_t center, const std::vector<Neighbor>& candidates, std::vector<Edge>& out) {
    center_ = center;
    candidates_ = &candidates;
    const size_t c = candidates.size();
    count_ = c;
    grid_.assign(c * c, 0);
    taken_.assign(c, 0);
    rect_.assign(c, Edge{});
    prefix_.clear();
    dfs(0, n_ - 1, center, center);
    out.clear();
    for (size_t i = 0; i < c; ++i) {
      if (taken_[i]) {
        Edge e = rect_[i];
        e.id = candidates[i].id;
        out.push_back(e);
      }
    }
  }

 private:
  bool dominated(size_t idx) {
    const std::vector<Neighbor>& cand = *candidates_;
    const float threshold = cand[idx].distance * inv_alpha_;
    for (uint32_t p : prefix_) {
      uint8_t& status = grid_[static_cast<size_t>(p) * count_ + idx];
      if (status == 0) status = distance_.between(cand[idx].id, cand[p].id) < threshold ? 1 : 2;
      if (status == 1) return true;
    }
    return false;
  }

  void dfs(int32_t L, int32_t R, int32_t left_cap, int32_t right_cap) {
    if (prefix_.size() >= max_neighbors_) return;
    const std::vector<Neighbor>& cand = *candidates_;
    const size_t start = prefix_.empty() ? 0 : prefix_.back() + 1;
    for (size_t idx = start; idx < count_; ++idx) {
      const int32_t v = cand[idx].id;
      if (v < L || v > R) continue;
      if (dominated(idx)) continue;
      int32_t next_left = left_cap;
      int32_t next_right = right_cap;
      if (v < center_) {
        next_left = std::min(v, left_cap);
      } else if (v > center_) {
        next_right = std::max(v, right_cap);
      }
      prefix_.push_back(static_cast<uint32_t>(idx));
      Edge& r = rect_[idx];
      if (!taken_[idx]) {
        taken_[idx] = 1;
        r = Edge{v, L, next_left, next_right, R};
      } else {
        r.ll = std::min(r.ll, L);
        r.lu = std::max(r.lu, next_left);
        r.rl = std::min(r.rl, next_right);
        r.ru = std::max(r.ru, R);
      }
      dfs(L, R, next_left, next_right);
      prefix_.pop_back();
      if (v < left_cap) {
        L = v + 1;
      } else if (v > right_cap) {
        R = v - 1;
      } else {
        break;
      }
      if (prefix_.size() >= max_neighbors_) break;
    }
  }

  const RowDistance& distance_;
  size_t max_neighbors_;
  float inv_alpha_;
  int32_t n_;
  int32_t center_ = 0;
  const std::vector<Neighbor>* candidates_ = nullptr;
  size_t count_ = 0;
  std::vector<uint8_t> grid_;  // 0 unknown, 1 dominated, 2 not dominated
  std::vector<uint8_t> taken_;
  std::vector<Edge> rect_;
  std::vector<uint32_t> prefix_;
};

/// Sort by neighbour and merge duplicates into their bounding rectangle.
void merge_edges(std::vector<Edge>& edges) {
  if (edges.empty()) return;
  std::sort(edges.begin(), edges.end(), [](const Edge& a, const Edge& b) {
    if (a.id != b.id) return a.id < b.id;
    if (a.ll != b.ll) return a.ll < b.ll;
    if (a.lu != b.lu) return a.lu < b.lu;
    if (a.rl != b.rl) return a.rl < b.rl;
    return a.ru < b.ru;
  });
  size_t out = 0;
  for (size_t i = 1; i < edges.size(); ++i) {
    Edge& last = edges[out];
    const Edge& e = edges[i];
    if (e.id == last.id) {
      last.ll = std::min(last.ll, e.ll);
      last.lu = std::max(last.lu, e.lu);
      last.rl = std::min(last.rl, e.rl);
      last.ru = std::max(last.ru, e.ru);
    } else {
      edges[++out] = e;
    }
  }
  edges.resize(out + 1);
}

/// Drop the lowest-scoring 10% of a node's far edges (score: rectangle area divided by the
/// position distance |v - u| + 1); edges within ceil(N / 50) positions of u are kept.
void prune_low_support(int32_t center, std::vector<Edge>& edges, int64_t protect_span) {
  std::vector<uint64_t> scores(edges.size());
  std::vector<uint64_t> prunable;
  constexpr uint64_t kProtected = ~uint64_t{0};
  for (size_t i = 0; i < edges.size(); ++i) {
    const Edge& e = edges[i];
    const int64_t diff = std::abs(static_cast<int64_t>(e.id) - center) + 1;
    if (diff <= protect_span) {
      scores[i] = kProtected;
      continue;
    }
    const uint64_t area = static_cast<uint64_t>(e.lu - e.ll + 1) * static_cast<uint64_t>(e.ru - e.rl + 1);
    scores[i] = area / static_cast<uint64_t>(diff);
    prunable.push_back(scores[i]);
  }
  const size_t prune_count = prunable.size() / 10;
  if (prune_count == 0) return;
  std::nth_element(prunable.begin(), prunable.begin() + (prune_count - 1), prunable.end());
  const uint64_t cutoff = prunable[prune_count - 1];
  size_t out = 0;
  for (size_t i = 0; i < edges.size(); ++i) {
    if (scores[i] != kProtected && scores[i] <= cutoff) continue;
    edges[out++] = edges[i];
  }
  edges.resize(out);
}

}  // namespace

void DsgIndex::build(const float* data, size_t count, int threads) {
  if (count == 0) throw std::invalid_argument("cannot build an index over 0 vectors");
  if (count >= static_cast<size_t>(INT32_MAX)) throw std::invalid_argument("too many vectors");
  store_.assign(data, count);
  const RowDistance distance(store_.raw_f32().data(), store_.dim(), store_.metric());
  const size_t M = static_cast<size_t>(params_.M);
  // 1. The candidate graph: an ordinary HNSW (M, 2M at level 0), items inserted in order.
  segment::InsertionHnsw hnsw(distance, count, params_.M, 2 * params_.M, params_.ef_construction,
                              params_.seed);
  for (size_t i = 0; i < count; ++i) {
    hnsw.insert(static_cast<int32_t>(i), static_cast<size_t>(std::max(params_.ef_construction, params_.M)),
                false, [&](const std::vector<Neighbor>& candidates, size_t& links_back) {
                  links_back = candidates.size();
                  return hnsw.heuristic(candidates, M);
                });
  }
  // 2. Per item: candidates from an ef_max-wide beam, then the range compression.
  std::vector<std::vector<Edge>> edges(count);
  struct Context {
    Context(const RowDistance& distance, size_t M, float alpha, int32_t n) : compressor(distance, M, alpha, n) {}
    segment::InsertionHnsw::LayerScratch layer;
    std::vector<Neighbor> candidates;
    RangeCompressor compressor;
  };
  parallel_for_each(
      count, threads,
      [&] {
        return Context(distance, M, params_.alpha, static_cast<int32_t>(count));
      },
      [&](Context& ctx, size_t u) {
        hnsw.neighbours_of(static_cast<int32_t>(u), static_cast<size_t>(params_.ef_max), ctx.candidates,
                           ctx.layer);
        ctx.compressor.run(static_cast<int32_t>(u), ctx.candidates, edges[u]);
      });
  // 3. Reverse edges with the same rectangles, duplicates merged, low-support edges pruned.
  std::vector<std::vector<Edge>> reverse(count);
  for (size_t u = 0; u < count; ++u) {
    for (const Edge& e : edges[u]) reverse[e.id].push_back(Edge{static_cast<int32_t>(u), e.ll, e.lu, e.rl, e.ru});
  }
  const int64_t protect_span = static_cast<int64_t>((count + 49) / 50);
  Graph g;
  g.offsets.assign(count + 1, 0);
  for (size_t u = 0; u < count; ++u) {
    std::vector<Edge>& list = edges[u];
    list.insert(list.end(), reverse[u].begin(), reverse[u].end());
    std::vector<Edge>().swap(reverse[u]);
    merge_edges(list);
    prune_low_support(static_cast<int32_t>(u), list, protect_span);
    for (const Edge& e : list) {
      g.neighbors.push_back(e.id);
      g.left_lower.push_back(e.ll);
      g.left_upper.push_back(e.lu);
      g.right_lower.push_back(e.rl);
      g.right_upper.push_back(e.ru);
    }
    g.offsets[u + 1] = g.neighbors.size();
    std::vector<Edge>().swap(list);
  }
  graph_ = std::move(g);
  built_ = true;
  use_huge_pages();
}

void DsgIndex::use_huge_pages() {
  const Graph& g = graph_;
  huge_page_bytes_ = advise_huge_pages(store_.raw_f32()) + advise_huge_pages(g.offsets) +
                     advise_huge_pages(g.neighbors) + advise_huge_pages(g.left_lower) +
                     advise_huge_pages(g.left_upper) + advise_huge_pages(g.right_lower) +
                     advise_huge_pages(g.right_upper);
}

void DsgIndex::search(const float* queries, size_t nq, const int64_t* starts, const int64_t* stops, size_t k,
                      size_t ef_search, size_t scan_below, bool return_seeds,
                       bool raise_ef_to_k, int threads, int64_t* out_ids, float* out_distances,
                      uint64_t* out_distance_counts) const {
  if (!built_) throw std::runtime_error("the index is not built yet");
  const size_t n = store_.size();
  const size_t dim = store_.dim();
  const size_t ef = segment::beam_width(ef_search, k, raise_ef_to_k);
  const RowDistance distance(store_.raw_f32().data(), dim, store_.metric());
  const Graph& g = graph_;
  parallel_for_each(
      nq, threads, [] { return segment::RangeSearchScratch(); },
      [&](segment::RangeSearchScratch& scratch, size_t q) {
        int64_t* ids = out_ids + q * k;
        float* dists = out_distances + q * k;
        // The query on a cache line: with rows on cache lines too, no SIMD load straddles two.
        scratch.query.assign(queries + q * dim, queries + (q + 1) * dim);
        const float* query = scratch.query.data();
        if (segment::answer_small_range(distance, query, starts[q], stops[q], scan_below, ef, k,
                                        scratch, ids, dists, out_distance_counts + q)) {
          return;
        }
        const int32_t left = static_cast<int32_t>(starts[q]);
        const int32_t right = static_cast<int32_t>(stops[q] - 1);
        const int32_t span = right - left + 1;
        // The authors skip the rectangle test for ranges under 2% of the items.
        const bool check_rectangles = static_cast<double>(span) >= 0.02 * static_cast<double>(n);
        const std::array<int32_t, 4> seeds = {left, left + span / 2, left + span / 4,
                                               left + static_cast<int32_t>(3 * static_cast<int64_t>(span) / 4)};
        const int32_t* ids_base = g.neighbors.data();
        const int32_t* ll = g.left_lower.data();
        const int32_t* lu = g.left_upper.data();
        const int32_t* rl = g.right_lower.data();
        const int32_t* ru = g.right_upper.data();
        // Every line of a node's (sorted) neighbour ids.
        auto prefetch_edges = [&](int32_t node) {
          const char* line = reinterpret_cast<const char*>(ids_base + g.offsets[node]);
          const char* stop = reinterpret_cast<const char*>(ids_base + g.offsets[node + 1]);
          for (; line < stop; line += 64) __builtin_prefetch(line);
        };
        auto neighbours = [&](int32_t node, auto& visit) {
          const int32_t* begin = ids_base + g.offsets[node];
          const int32_t* end = ids_base + g.offsets[node + 1];
          // The binary search's probes then hit lines already on their way (a list is ~10 lines).
          prefetch_edges(node);
          const int32_t* p = std::lower_bound(begin, end, left);
          if (!check_rectangles) {
            for (; p < end && *p <= right; ++p) visit(*p);
            return;
          }
#if defined(__SSE2__)
          // Four edges at a time (SSE2, part of x86-64): the four bounds and "past right" of 4
          // edges in 6 compares; the usable ones are visited in edge order, as one at a time.
          const __m128i v_left = _mm_set1_epi32(left);
          const __m128i v_right = _mm_set1_epi32(right);
          for (; p + 4 <= end; p += 4) {
            const size_t e = static_cast<size_t>(p - ids_base);
            auto load = [e](const int32_t* a) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + e)); };
            const int beyond = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpgt_epi32(load(ids_base), v_right)));
            const __m128i fail =
                _mm_or_si128(_mm_or_si128(_mm_cmpgt_epi32(load(ll), v_left), _mm_cmpgt_epi32(v_left, load(lu))),
                             _mm_or_si128(_mm_cmpgt_epi32(load(rl), v_right), _mm_cmpgt_epi32(v_right, load(ru))));
            int usable = ~(_mm_movemask_ps(_mm_castsi128_ps(fail)) | beyond) & 0xF;
            for (; usable != 0; usable &= usable - 1) visit(p[__builtin_ctz(usable)]);
            if (beyond != 0) return;  // ids are sorted: the rest lie past `right` too
          }
#endif
          for (; p < end && *p <= right; ++p) {
            const size_t e = static_cast<size_t>(p - ids_base);
            // Branch-free test of the four bounds (most edges of a node pass or fail together).
            const bool valid = (ll[e] <= left) & (left <= lu[e]) & (rl[e] <= right) & (right <= ru[e]);
            if (valid) visit(*p);
          }
        };
        out_distance_counts[q] = segment::range_beam_search(distance, query, n, seeds, ef, return_seeds,
                                                            scratch, neighbours, prefetch_edges);
        segment::write_results(scratch, k, ids, dists);
      });
}

}  // namespace fanns::dsg
