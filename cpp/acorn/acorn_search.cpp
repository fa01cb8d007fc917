// ACORN search: predicate-subgraph traversal with neighbour-list expansion.
#include <algorithm>
#include <limits>
#include <memory>
#include <stdexcept>
#include <vector>

#include "acorn/acorn_index.h"
#include "core/heaps.h"
#include "core/parallel.h"
#include "core/visited.h"

namespace fanns::acorn {
namespace {

/// Per-thread scratch space for queries, reused across a batch.
struct SearchContext {
  explicit SearchContext(size_t n) : visited(n), seen(n), expanded(n), bitmap(n) {}
  VisitedSet visited;   // nodes whose distance is known in this query
  VisitedSet seen;      // nodes already listed by the current neighbour lookup
  VisitedSet expanded;  // level-0 nodes whose neighbours were listed in this query
  ScratchBitmap bitmap;
  std::vector<int32_t> fresh;
  CandidateHeap candidates;
  ResultHeap results;
};

template <class Filter>
class QuerySearch {
 public:
  QuerySearch(const Graph& graph, const BuildParams& build, const SearchParams& params,
              const Filter& filter, QueryDistance& distance, SearchContext& ctx)
      : graph_(graph),
        build_(build),
        filter_(filter),
        distance_(distance),
        ctx_(ctx),
        level0_cap_(params.max_neighbors > 0 ? params.max_neighbors : 2 * build.M),
        upper_cap_(build.M),
        ef_(std::max(params.ef_search, params.k)) {}

  /// Run the search; ctx.results holds the closest matching nodes afterwards.
  template <class Seeds>
  void run(Seeds next_seed) {
    int32_t entry = graph_.entry_point;
    float entry_distance = distance_(entry);
    bool entry_passes = filter_.passes(entry);
    for (int level = graph_.max_level; level >= 1; --level) {
      descend(level, entry, entry_distance, entry_passes);
    }
    ctx_.visited.reset(graph_.levels.size());
    ctx_.expanded.reset(graph_.levels.size());
    ctx_.candidates.clear();
    ctx_.results.reset(ef_);
    ctx_.visited.insert(entry);
    ctx_.candidates.push({entry_distance, entry});  // a failing entry still serves as a bridge
    if (entry_passes) ctx_.results.push({entry_distance, entry});
    beam_search();
    // The traversal can exhaust the part of the predicate subgraph reachable
    // from the entry before it found ef matches: restart from unvisited matches.
    while (!ctx_.results.full()) {
      const int64_t seed = next_seed(ctx_.visited);
      if (seed < 0) break;
      const int32_t node = static_cast<int32_t>(seed);
      const float d = distance_(node);
      ctx_.visited.insert(node);
      ctx_.results.push({d, node});
      ctx_.candidates.push({d, node});
      beam_search();
    }
  }

 private:
  /// Filtered neighbours of `node` at `level` that are not yet visited go to
  /// ctx.fresh (and are marked visited when `mark_visited`). The lookup lists
  /// the passing direct neighbours first, then the passing neighbours of the
  /// links that expand (ACORN-1: every link; ACORN-gamma: compressed level-0
  /// links), and stops after a cap of distinct passing nodes, visited or not:
  /// the paper's truncation to M, as the reference code applies it (2M on level
  /// 0, M above, like HNSW's degrees; `max_neighbors` overrides level 0).
  void lookup(int32_t node, int level, bool mark_visited) {
    ctx_.fresh.clear();
    ctx_.seen.reset(graph_.levels.size());
    ctx_.seen.insert(node);
    int found = 0;
    const int cap = level == 0 ? level0_cap_ : upper_cap_;
    auto offer = [&](int32_t id) {
      if (!filter_.passes(id) || !ctx_.seen.insert_new(id)) return false;
      ++found;
      if (!mark_visited || ctx_.visited.insert_new(id)) ctx_.fresh.push_back(id);
      return found >= cap;
    };
    const Graph::Span list = graph_.neighbors(node, level);
    for (const int32_t* p = list.begin; p != list.end; ++p) {
      if (offer(link_id(*p))) return;
    }
    const bool expand_all = build_.variant == Variant::One;
    if (!expand_all && level > 0) return;
    for (const int32_t* p = list.begin; p != list.end; ++p) {
      if (!expand_all && !link_expands(*p)) continue;
      // A node's neighbours listed once in this query are all visited already.
      if (mark_visited && !ctx_.expanded.insert_new(link_id(*p))) continue;
      prefetch_next_expansion(p + 1, list.end, level, expand_all);
      const Graph::Span hop = graph_.neighbors(link_id(*p), level);
      for (const int32_t* q = hop.begin; q != hop.end; ++q) {
        if (offer(link_id(*q))) return;
      }
    }
  }

  /// Prefetch the neighbour list of the next link that will be expanded.
  void prefetch_next_expansion(const int32_t* from, const int32_t* end, int level,
                               bool expand_all) const {
    for (const int32_t* r = from; r != end && r < from + 4; ++r) {
      if (expand_all || link_expands(*r)) {
        const Graph::Span next = graph_.neighbors(link_id(*r), level);
        __builtin_prefetch(next.begin);
        __builtin_prefetch(next.begin + 16);
        return;
      }
    }
  }

  /// Greedy descent on an upper level inside the predicate subgraph. While the
  /// current node fails the predicate, any passing neighbour is taken; if there
  /// is none, step to the closest neighbour regardless of the predicate.
  void descend(int level, int32_t& current, float& current_distance, bool& current_passes) {
    for (bool moved = true; moved;) {
      moved = false;
      lookup(current, level, false);
      int32_t best = current;
      float best_distance = current_distance;
      bool best_passes = current_passes;
      for (size_t i = 0; i < ctx_.fresh.size(); ++i) {
        if (i + 1 < ctx_.fresh.size()) distance_.prefetch(ctx_.fresh[i + 1]);
        const float d = distance_(ctx_.fresh[i]);
        if (!best_passes || d < best_distance) {
          best = ctx_.fresh[i];
          best_distance = d;
          best_passes = true;
        }
      }
      if (ctx_.fresh.empty() && !current_passes) {
        const Graph::Span list = graph_.neighbors(current, level);
        for (const int32_t* p = list.begin; p != list.end; ++p) {
          const int32_t id = link_id(*p);
          const float d = distance_(id);
          if (d < best_distance) {
            best = id;
            best_distance = d;
            best_passes = filter_.passes(id);
          }
        }
      }
      if (best != current) {
        current = best;
        current_distance = best_distance;
        current_passes = best_passes;
        moved = true;
      }
    }
  }

  /// Best-first search on level 0 with a result set of width ef.
  void beam_search() {
    while (!ctx_.candidates.empty()) {
      const Neighbor nearest = ctx_.candidates.top();
      if (ctx_.results.full() && nearest.distance > ctx_.results.worst().distance) break;
      ctx_.candidates.pop();
      lookup(nearest.id, 0, true);
      const std::vector<int32_t>& fresh = ctx_.fresh;
      for (size_t i = 0; i < fresh.size(); ++i) {
        if (i + 1 < fresh.size()) distance_.prefetch(fresh[i + 1]);
        const float d = distance_(fresh[i]);
        if (ctx_.results.accepts(d)) {
          ctx_.results.push({d, fresh[i]});
          ctx_.candidates.push({d, fresh[i]});
        }
      }
    }
  }

  const Graph& graph_;
  const BuildParams& build_;
  const Filter& filter_;
  QueryDistance& distance_;
  SearchContext& ctx_;
  const int level0_cap_;
  const int upper_cap_;
  const size_t ef_;
};

/// Yields matching ids the search has not visited, spread over the id set.
class IdSeeds {
 public:
  IdSeeds(const int64_t* ids, size_t count)
      : ids_(ids), count_(count), stride_(count % kStride == 0 ? 1 : kStride) {}
  int64_t operator()(const VisitedSet& visited) {
    while (tried_ < count_) {
      const int64_t id = ids_[(tried_++ * stride_) % count_];
      if (!visited.contains(id)) return id;
    }
    return -1;
  }

 private:
  static constexpr size_t kStride = 7919;  // a prime: the walk visits every position once
  const int64_t* ids_;
  size_t count_;
  size_t stride_;
  size_t tried_ = 0;
};

/// Yields ids the search has not visited, in id order (unfiltered queries).
class AllSeeds {
 public:
  explicit AllSeeds(size_t n) : n_(n) {}
  int64_t operator()(const VisitedSet& visited) {
    for (; next_ < n_; ++next_) {
      if (!visited.contains(next_)) return next_++;
    }
    return -1;
  }

 private:
  size_t n_;
  size_t next_ = 0;
};

/// Yields set bits of a bitmap the search has not visited, in id order.
class BitmapSeeds {
 public:
  BitmapSeeds(const uint8_t* bits, size_t n) : bits_(bits), n_(n) {}
  int64_t operator()(const VisitedSet& visited) {
    for (; next_ < n_; ++next_) {
      if (((bits_[next_ >> 3] >> (next_ & 7)) & 1u) && !visited.contains(next_)) return next_++;
    }
    return -1;
  }

 private:
  const uint8_t* bits_;
  size_t n_;
  size_t next_ = 0;
};

}  // namespace

void AcornIndex::search(const float* queries, size_t nq, const QueryFilter* filters,
                        const SearchParams& params, int threads, int64_t* out_ids,
                        float* out_distances, uint64_t* out_distance_counts) const {
  if (!built_) throw std::runtime_error("the index is not built yet");
  if (params.k < 1) throw std::invalid_argument("k must be >= 1, got " + std::to_string(params.k));
  if (params.ef_search < 1) {
    throw std::invalid_argument("ef_search must be >= 1, got " + std::to_string(params.ef_search));
  }
  if (params.max_neighbors < 0) {
    throw std::invalid_argument("max_neighbors must be >= 0, got " +
                                std::to_string(params.max_neighbors));
  }
  const size_t n = store_.size();
  const size_t dim = store_.dim();
  const size_t k = static_cast<size_t>(params.k);
  parallel_for_each(
      nq, threads, [&]() { return std::make_unique<SearchContext>(n); },
      [&](std::unique_ptr<SearchContext>& ctx, size_t q) {
        QueryDistance distance(store_, queries + q * dim);
        const QueryFilter& filter = filters[q];
        if (filter.kind == QueryFilter::Kind::All ||
            (filter.kind == QueryFilter::Kind::Ids && filter.count == n)) {
          AllPassFilter all;
          QuerySearch<AllPassFilter> search(graph_, params_, params, all, distance, *ctx);
          search.run(AllSeeds(n));
        } else if (filter.kind == QueryFilter::Kind::Ids) {
          const BitmapFilter bits = ctx->bitmap.fill(filter.ids, filter.count);
          QuerySearch<BitmapFilter> search(graph_, params_, params, bits, distance, *ctx);
          if (filter.count > 0) search.run(IdSeeds(filter.ids, filter.count));
          ctx->bitmap.clear(filter.ids, filter.count);
        } else {
          const BitmapFilter bits{filter.bitmap};
          QuerySearch<BitmapFilter> search(graph_, params_, params, bits, distance, *ctx);
          search.run(BitmapSeeds(filter.bitmap, n));
        }
        if (filter.kind == QueryFilter::Kind::Ids && filter.count == 0) ctx->results.reset(k);
        const std::vector<Neighbor>& found = ctx->results.sorted();
        for (size_t j = 0; j < k; ++j) {
          const bool have = j < found.size();
          out_ids[q * k + j] = have ? found[j].id : -1;
          out_distances[q * k + j] =
              have ? found[j].distance : std::numeric_limits<float>::infinity();
        }
        out_distance_counts[q] = distance.count();
      });
}

}  // namespace fanns::acorn
