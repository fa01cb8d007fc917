// ACORN search as the authors' code does it (TAG-Research/ACORN,
// faiss/impl/ACORN.cpp: hybrid_greedy_update_nearest, hybrid_search_from_candidates,
// and the unfiltered ACORN::search), on a graph built by acorn_ref_build.cpp.
//
//  * Filtered descent: on each upper level, move to the nearest passing entry
//    among the first M passing entries of the list (any passing entry replaces a
//    failing current node); ACORN-1 also looks through each entry's own list.
//  * Level 0: faiss's bounded candidate set of ef entries (expanded entries stay
//    in it and can be evicted; the count of unexpanded ones is decremented on
//    every eviction, as faiss 1.7.3 does, which can end the search early).
//    A node's list is read in stored order: passing unvisited entries are scored;
//    entries at positions >= M_beta (every entry for ACORN-1) are expanded through
//    their own lists; the lookup stops once it has counted 2M passing entries.
//  * No restarts: the search ends when the candidate set has no unexpanded entry.
//  * Unfiltered queries take the reference's unfiltered search (HNSW: greedy over
//    the first M upper-level entries, full lists on level 0).
// One departure: the descent's end node seeds level 0 even if it fails the
// filter (as in the reference), but it is never returned (the reference puts it
// into the result heap unconditionally).
#include <algorithm>
#include <limits>
#include <memory>
#include <vector>

#include "acorn/acorn_index.h"
#include "core/heaps.h"
#include "core/parallel.h"
#include "core/visited.h"

namespace fanns::acorn {

/// The list of (node, level) for a level above the node's top one, as the reference reads
/// it: `slots(level)` slots of its flat layout from reference_offsets[node] + start(level),
/// which lie in the next nodes' lists, up to the first free slot (a list shorter than its
/// slots ends there) or the array's end. Our lists are the reference's up to their first
/// free slot, so the window is rebuilt from them.
void reference_window(const Graph& graph, const ReferenceLayout& layout, int32_t node, int level,
                      std::vector<int32_t>& out) {
  out.clear();
  const std::vector<uint64_t>& offsets = graph.reference_offsets;
  const size_t at = offsets[node] + layout.start(level);
  if (at >= offsets.back()) return;
  size_t owner = static_cast<size_t>(std::upper_bound(offsets.begin(), offsets.end(), at) - offsets.begin()) - 1;
  const size_t local = at - offsets[owner];
  int owner_level = local < layout.slots0 ? 0 : 1 + static_cast<int>((local - layout.slots0) / layout.slots_upper);
  size_t slot = local - layout.start(owner_level);
  size_t left = layout.slots(level);
  for (;;) {
    const Graph::Span list = graph.neighbors(static_cast<int32_t>(owner), owner_level);
    if (slot >= list.size()) return;  // a free slot
    const size_t take = std::min(list.size() - slot, left);
    out.insert(out.end(), list.begin + slot, list.begin + slot + take);
    left -= take;
    if (left == 0 || list.size() < layout.slots(owner_level)) return;
    slot = 0;
    if (owner_level < graph.levels[owner]) {
      ++owner_level;
    } else {
      if (++owner == graph.levels.size()) return;
      owner_level = 0;
    }
  }
}

namespace {

/// faiss's MinimaxHeap: at most `capacity` (distance, id) entries in a max-heap;
/// pop_min marks the nearest unexpanded entry expanded (id -1) but keeps it.
class MinimaxHeap {
 public:
  void reset(size_t capacity) {
    capacity_ = capacity;
    items_.clear();
    valid_ = 0;
  }
  int valid() const { return valid_; }

  void push(int32_t id, float distance) {
    if (items_.size() == capacity_) {
      if (distance >= items_.front().distance) return;
      std::pop_heap(items_.begin(), items_.end(), by_distance);
      items_.pop_back();
      --valid_;  // faiss 1.7.3 decrements even when the evicted entry was expanded
    }
    items_.push_back({distance, id});
    std::push_heap(items_.begin(), items_.end(), by_distance);
    ++valid_;
  }

  /// The nearest unexpanded entry (marked expanded), or -1.
  int32_t pop_min(float& distance) {
    int best = -1;
    for (int i = static_cast<int>(items_.size()) - 1; i >= 0; --i) {
      if (items_[i].id != -1 && (best < 0 || items_[i].distance < items_[best].distance)) best = i;
    }
    if (best < 0) return -1;
    distance = items_[best].distance;
    const int32_t id = items_[best].id;
    items_[best].id = -1;
    --valid_;
    return id;
  }

  int count_below(float threshold) const {
    int count = 0;
    for (const Neighbor& item : items_) count += item.distance < threshold ? 1 : 0;
    return count;
  }

  /// Entries (before any pop), for the initial pass over the seeds.
  const std::vector<Neighbor>& items() const { return items_; }

 private:
  static bool by_distance(const Neighbor& a, const Neighbor& b) { return a.distance < b.distance; }
  size_t capacity_ = 0;
  std::vector<Neighbor> items_;
  int valid_ = 0;
};

/// The reference's filter (its filter_id_map): one byte per id, so a test is one load and a
/// compare where a bitmap's takes a shift and a mask (the bit tests were 29-40 % of the
/// filtered search's instructions, callgrind). An id passes when its byte holds the query's tag
/// (1 in a prepared IdByteMaps row).
struct ByteFilter {
  const uint8_t* tags;
  uint8_t tag;
  bool passes(int64_t id) const { return tags[id] == tag; }
};

/// Per-thread byte map (core's EpochTags, a byte per id): each query marks its ids with a new
/// epoch, so nothing is cleared after a query (the whole map only when the epochs wrap, once
/// per 255 queries).
class ScratchBytes {
 public:
  explicit ScratchBytes(size_t n) : marks_(n), n_(n) {}

  void ensure(size_t n) { n_ = std::max(n_, n); }

  ByteFilter fill(const int64_t* ids, size_t count) {
    marks_.reset(n_);
    mark_ids(ids, count, marks_.tags(), marks_.epoch());
    return ByteFilter{marks_.tags(), marks_.epoch()};
  }

 private:
  EpochTags<uint8_t> marks_;
  size_t n_;
};

struct RefSearchContext {
  explicit RefSearchContext(size_t n) : visited(n), bytes(n) {}

  static RefSearchContext& for_this_thread(size_t n) {
    thread_local std::unique_ptr<RefSearchContext> context;
    if (!context) context = std::make_unique<RefSearchContext>(n);
    context->bytes.ensure(n);
    return *context;
  }

  VisitedSet visited;
  ScratchBytes bytes;
  MinimaxHeap candidates;
  ResultHeap results;
  std::vector<int32_t> window;      // a list above a node's top level (reference_window)
  std::vector<int32_t> hop_window;  // the same for an ACORN-1 descent's second hop
};

template <class Filter>
class RefQuery {
 public:
  RefQuery(const Graph& graph, const BuildParams& build, const SearchParams& params, const Filter& filter,
           QueryDistance& distance, RefSearchContext& ctx)
      : graph_(graph),
        build_(build),
        params_(params),
        filter_(filter),
        distance_(distance),
        ctx_(ctx),
        layout_(build),
        limit_(2 * build.M) {}

  /// Filtered search (hybrid_search); ctx.results holds the answer.
  void run_filtered() {
    int32_t nearest = graph_.entry_point;
    float nearest_distance = distance_(nearest);
    for (int level = graph_.max_level; level >= 1; --level) descend(level, nearest, nearest_distance);
    start(nearest, nearest_distance);
    float d0 = 0;
    while (ctx_.candidates.valid() > 0) {
      const int32_t node = ctx_.candidates.pop_min(d0);
      if (node < 0) break;
      if (ctx_.candidates.count_below(d0) >= params_.ef_search) break;
      lookup(node);
    }
  }

  /// Unfiltered search (ACORN::search): HNSW's descent and beam.
  void run_unfiltered() {
    int32_t nearest = graph_.entry_point;
    float nearest_distance = distance_(nearest);
    for (int level = graph_.max_level; level >= 1; --level) greedy(level, nearest, nearest_distance);
    start(nearest, nearest_distance);
    float d0 = 0;
    while (ctx_.candidates.valid() > 0) {
      const int32_t node = ctx_.candidates.pop_min(d0);
      if (node < 0) break;
      if (ctx_.candidates.count_below(d0) >= params_.ef_search) break;
      const Graph::Span list = graph_.neighbors(node, 0);
      for (const int32_t* p = list.begin; p != list.end; ++p) {
        if (ctx_.visited.insert_new(*p)) score(*p);
      }
    }
  }

 private:
  void start(int32_t entry, float entry_distance) {
    ctx_.visited.reset(graph_.levels.size());
    ctx_.results.reset(static_cast<size_t>(params_.k));
    ctx_.candidates.reset(static_cast<size_t>(std::max(params_.ef_search, params_.k)));
    ctx_.candidates.push(entry, entry_distance);
    if (filter_.passes(entry)) ctx_.results.push({entry_distance, entry});
    ctx_.visited.insert(entry);
  }

  void score(int32_t id) {
    const float d = distance_(id);
    if (ctx_.results.accepts(d)) ctx_.results.push({d, id});
    ctx_.candidates.push(id, d);
  }

  /// A list on an upper level as the reference reads it: the node's own, or above its top
  /// level a window into the next nodes' lists (reference_window, into `buffer`).
  Graph::Span upper_list(int32_t node, int level, std::vector<int32_t>& buffer) const {
    if (level <= graph_.levels[node]) return graph_.neighbors(node, level);
    reference_window(graph_, layout_, node, level, buffer);
    return {buffer.data(), buffer.data() + buffer.size()};
  }

  /// hybrid_greedy_update_nearest on one level.
  void descend(int level, int32_t& nearest, float& nearest_distance) {
    const bool one = build_.variant == Variant::One;
    for (;;) {
      const int32_t previous = nearest;
      int found = 0;
      const Graph::Span list = upper_list(previous, level, ctx_.window);
      for (const int32_t* p = list.begin; p != list.end; ++p) {
        const int32_t v = *p;
        const bool passes = filter_.passes(v);
        if (!passes && !one) continue;
        if (passes) {
          ++found;
          consider(v, nearest, nearest_distance);
          if (found >= build_.M) break;
        }
        if (one) {
          const Graph::Span hop = upper_list(v, level, ctx_.hop_window);
          for (const int32_t* q = hop.begin; q != hop.end; ++q) {
            if (!filter_.passes(*q)) continue;
            ++found;
            consider(*q, nearest, nearest_distance);
            if (found >= build_.M) break;
          }
        }
      }
      if (nearest == previous) return;
    }
  }

  void consider(int32_t v, int32_t& nearest, float& nearest_distance) {
    const float d = distance_(v);
    if (d < nearest_distance || !filter_.passes(nearest)) {
      nearest = v;
      nearest_distance = d;
    }
  }

  /// greedy_update_nearest (unfiltered): the first M entries of each list.
  void greedy(int level, int32_t& nearest, float& nearest_distance) {
    for (;;) {
      const int32_t previous = nearest;
      const Graph::Span list = upper_list(previous, level, ctx_.window);
      const size_t count = std::min<size_t>(list.size(), build_.M);
      for (size_t i = 0; i < count; ++i) {
        const float d = distance_(list.begin[i]);
        if (d < nearest_distance) {
          nearest = list.begin[i];
          nearest_distance = d;
        }
      }
      if (nearest == previous) return;
    }
  }

  /// The level-0 neighbour loop of hybrid_search_from_candidates. The filter, the limits and
  /// the list bounds are copied into locals, so the loops keep them in registers instead of
  /// reloading them after every store.
  void lookup(int32_t node) {
    const Filter filter = filter_;
    const bool expand_all = build_.variant == Variant::One;
    const size_t m_beta = static_cast<size_t>(build_.M_beta);
    const int limit = limit_;
    int found = 0;
    bool keep_expanding = true;
    const Graph::Span list = graph_.neighbors(node, 0);
    const size_t size = list.size();
    for (size_t j = 0; j < size; ++j) {
      const int32_t v = list.begin[j];
      const bool passes = filter.passes(v);
      if (passes) ++found;
      if (ctx_.visited.contains(v)) continue;
      if (passes) {
        ctx_.visited.insert(v);
        score(v);
        if (found >= limit) {
          keep_expanding = false;
          break;
        }
      }
      if ((j >= m_beta && keep_expanding) || expand_all) {
        const Graph::Span hop = graph_.neighbors(v, 0);
        for (const int32_t *q = hop.begin, *end = hop.end; q != end; ++q) {
          const int32_t w = *q;
          if (!filter.passes(w)) continue;
          ++found;
          if (!ctx_.visited.insert_new(w)) continue;
          score(w);
          if (found >= limit) {
            keep_expanding = false;
            break;
          }
        }
      }
    }
  }

  const Graph& graph_;
  const BuildParams& build_;
  const SearchParams& params_;
  const Filter filter_;
  QueryDistance& distance_;
  RefSearchContext& ctx_;
  const ReferenceLayout layout_;
  const int limit_;
};

}  // namespace

void search_reference(const Graph& graph, const BuildParams& build, const VectorStore& store,
                      const float* queries, size_t nq, const QueryFilter* filters,
                      const SearchParams& params, int threads, int64_t* out_ids,
                      float* out_distances, uint64_t* out_distance_counts) {
  const size_t n = store.size();
  const size_t dim = store.dim();
  const size_t k = static_cast<size_t>(params.k);
  parallel_for_each(
      nq, threads, [&]() { return &RefSearchContext::for_this_thread(n); },
      [&](RefSearchContext* ctx, size_t q) {
        QueryDistance distance(store, queries + q * dim);
        const QueryFilter& filter = filters[q];
        ctx->results.reset(k);
        if (filter.kind == QueryFilter::Kind::All) {
          AllPassFilter all;
          RefQuery<AllPassFilter>(graph, build, params, all, distance, *ctx).run_unfiltered();
        } else if (filter.kind == QueryFilter::Kind::Ids) {
          if (filter.count > 0) {
            const ByteFilter bytes = ctx->bytes.fill(filter.ids, filter.count);
            // Fetch the next query's ids while this one searches: its fill then reads them from
            // cache instead of memory (batches of large sets are read from memory otherwise).
            if (q + 1 < nq && filters[q + 1].kind == QueryFilter::Kind::Ids) {
              const char* next = reinterpret_cast<const char*>(filters[q + 1].ids);
              const size_t bytes_next = filters[q + 1].count * sizeof(int64_t);
              for (size_t at = 0; at < bytes_next; at += 64) __builtin_prefetch(next + at);
            }
            RefQuery<ByteFilter>(graph, build, params, bytes, distance, *ctx).run_filtered();
          }
        } else if (filter.kind == QueryFilter::Kind::Bytes) {
          // A set prepared as a byte per id (IdByteMaps): nothing to validate or fill.
          if (filter.count > 0) {
            const ByteFilter bytes{filter.bytes, 1};
            RefQuery<ByteFilter>(graph, build, params, bytes, distance, *ctx).run_filtered();
          }
        } else {
          const BitmapFilter bits{filter.bitmap};
          RefQuery<BitmapFilter>(graph, build, params, bits, distance, *ctx).run_filtered();
        }
        const std::vector<Neighbor>& found = ctx->results.sorted();
        for (size_t j = 0; j < k; ++j) {
          const bool have = j < found.size();
          out_ids[q * k + j] = have ? found[j].id : -1;
          out_distances[q * k + j] = have ? found[j].distance : std::numeric_limits<float>::infinity();
        }
        out_distance_counts[q] = distance.count();
      });
}

}  // namespace fanns::acorn
