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

/// Per-thread scratch space for queries. One lives in each thread (OpenMP keeps
/// its threads), so a small batch does not allocate and clear O(N) memory.
struct SearchContext {
  explicit SearchContext(size_t n) : visited(n), seen(n), expanded(n), bitmap(n) {}

  static SearchContext& for_this_thread(size_t n) {
    thread_local std::unique_ptr<SearchContext> context;
    if (!context) context = std::make_unique<SearchContext>(n);
    context->bitmap.ensure(n);  // the visited sets grow on reset()
    return *context;
  }

  VisitedSet visited;   // nodes whose distance is known in this query
  VisitedSet seen;      // nodes already listed by the current neighbour lookup
  VisitedSet expanded;  // nodes whose neighbours were all listed in this query
  ScratchBitmap bitmap;
  std::vector<int32_t> fresh;
  std::vector<int32_t> expand;
  CandidateHeap candidates;
  ResultHeap results;
};

/// One query: descent through the upper levels, then the filtered beam search.
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
        cap_(params.max_neighbors > 0 ? params.max_neighbors : 2 * build.M),
        ef_(std::max(params.ef_search, params.k)) {}

  /// Run the search; ctx.results holds the closest matching nodes afterwards.
  /// `next_seed(visited)` yields unvisited matching ids (or -1) for restarts.
  template <class Seeds>
  void run(Seeds next_seed) {
    int32_t entry = graph_.entry_point;
    float entry_distance = distance_(entry);
    for (int level = graph_.max_level; level >= 1; --level) {
      descend(level, entry, entry_distance);
    }
    ctx_.visited.reset(graph_.levels.size());
    ctx_.expanded.reset(graph_.levels.size());
    ctx_.candidates.clear();
    ctx_.results.reset(ef_);
    ctx_.visited.insert(entry);
    ctx_.candidates.push({entry_distance, entry});  // a failing entry still serves as a bridge
    if (filter_.passes(entry)) ctx_.results.push({entry_distance, entry});
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
  /// Greedy descent on an upper level towards the query over the first M links
  /// of each list (HNSW's upper-level degree), ignoring the predicate: it only
  /// has to reach the query's region (see README, departures).
  void descend(int level, int32_t& current, float& current_distance) {
    for (bool moved = true; moved;) {
      moved = false;
      const Graph::Span list = graph_.neighbors(current, level);
      const size_t count = std::min<size_t>(list.size(), build_.M);
      int32_t best = current;
      float best_distance = current_distance;
      for (size_t i = 0; i < count; ++i) {
        if (i + 1 < count) distance_.prefetch(link_id(list.begin[i + 1]));
        const int32_t id = link_id(list.begin[i]);
        const float d = distance_(id);
        if (d < best_distance) {
          best = id;
          best_distance = d;
        }
      }
      if (best != current) {
        current = best;
        current_distance = best_distance;
        moved = true;
      }
    }
  }

  /// The filtered level-0 neighbours of `node` that are not visited yet go to
  /// ctx.fresh and are marked visited. The lookup lists the passing direct
  /// neighbours first, then the passing neighbours of the links that expand
  /// (ACORN-1: every link; ACORN-gamma: compressed links), and stops after cap_
  /// distinct passing nodes, visited or not: the paper's truncation to M, with
  /// the reference code's 2M on level 0 (`max_neighbors` overrides it).
  void lookup(int32_t node) {
    ctx_.fresh.clear();
    ctx_.seen.reset(graph_.levels.size());
    ctx_.seen.insert(node);
    int found = 0;
    auto offer = [&](int32_t id) {
      if (!filter_.passes(id) || !ctx_.seen.insert_new(id)) return false;
      ++found;
      if (ctx_.visited.insert_new(id)) ctx_.fresh.push_back(id);
      return found >= cap_;
    };
    const Graph::Span list = graph_.neighbors(node, 0);
    for (const int32_t* p = list.begin; p != list.end; ++p) {
      if (offer(link_id(*p))) return;
    }
    // Links to expand; a node whose neighbours were all listed before in this
    // query is skipped: they are visited already.
    const bool expand_all = build_.variant == Variant::One;
    std::vector<int32_t>& expand = ctx_.expand;
    expand.clear();
    for (const int32_t* p = list.begin; p != list.end; ++p) {
      if ((expand_all || link_expands(*p)) && !ctx_.expanded.contains(link_id(*p))) {
        expand.push_back(link_id(*p));
      }
    }
    for (size_t i = 0; i < expand.size(); ++i) {
      prefetch_list(expand, i);
      const Graph::Span hop = graph_.neighbors(expand[i], 0);
      for (const int32_t* q = hop.begin; q != hop.end; ++q) {
        if (offer(link_id(*q))) return;
      }
      ctx_.expanded.insert(expand[i]);
    }
  }

  /// Two-stage prefetch while expanding expand[i]: the CSR offset of the link
  /// four ahead, the list of the link two ahead.
  void prefetch_list(const std::vector<int32_t>& expand, size_t i) const {
    if (i + 4 < expand.size()) __builtin_prefetch(&graph_.offsets0[expand[i + 4]]);
    if (i + 2 < expand.size()) {
      const Graph::Span next = graph_.neighbors(expand[i + 2], 0);
      __builtin_prefetch(next.begin);
      __builtin_prefetch(next.begin + 16);
      __builtin_prefetch(next.begin + 32);
    }
  }

  /// Best-first search on level 0 with a result set of width ef.
  void beam_search() {
    while (!ctx_.candidates.empty()) {
      const Neighbor nearest = ctx_.candidates.top();
      if (ctx_.results.full() && nearest.distance > ctx_.results.worst().distance) break;
      ctx_.candidates.pop();
      lookup(nearest.id);
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
  const int cap_;
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
  if (params_.reference) {
    search_reference(graph_, params_, store_, queries, nq, filters, params, threads, out_ids,
                     out_distances, out_distance_counts);
    return;
  }
  for (size_t q = 0; q < nq; ++q) {
    if (filters[q].kind == QueryFilter::Kind::Bytes) {
      throw std::invalid_argument("byte-map filters are for the reference methods");
    }
  }
  const size_t n = store_.size();
  const size_t dim = store_.dim();
  const size_t k = static_cast<size_t>(params.k);
  parallel_for_each(
      nq, threads, [&]() { return &SearchContext::for_this_thread(n); },
      [&](SearchContext* ctx, size_t q) {
        QueryDistance distance(store_, queries + q * dim);
        const QueryFilter& filter = filters[q];
        if (filter.kind == QueryFilter::Kind::All ||
            (filter.kind == QueryFilter::Kind::Ids && filter.count == n)) {
          AllPassFilter all;
          QuerySearch<AllPassFilter> search(graph_, params_, params, all, distance, *ctx);
          search.run(AllSeeds(n));
        } else if (filter.kind == QueryFilter::Kind::Ids) {
          const BitmapFilter bits = ctx->bitmap.fill(filter.ids, filter.count);
          struct Clear {  // leave the scratch bitmap empty even if the search throws
            SearchContext* ctx;
            const QueryFilter& filter;
            ~Clear() { ctx->bitmap.clear(filter.ids, filter.count); }
          } clear{ctx, filter};
          QuerySearch<BitmapFilter> search(graph_, params_, params, bits, distance, *ctx);
          if (filter.count > 0) search.run(IdSeeds(filter.ids, filter.count));
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
