// iRangeGraph search: a beam search on the graph of the query range, merged on the fly.
#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/heaps.h"
#include "core/parallel.h"
#include "core/range_search.h"
#include "core/visited.h"
#include "graph/best_first.h"
#include "irangegraph/irangegraph_index.h"
#include "core/seeded_random.h"

namespace fanns::irangegraph {
namespace {

struct SearchContext {
  VisitedSet visited;
  CandidateHeap candidates;
  ResultHeap results;
  std::vector<int32_t> selected;
  std::vector<int32_t> entries;
  std::vector<TreeNode> stack;
};

/// Positions of [lo, hi] inside the query range [ql, qr] (both inclusive).
inline int64_t overlap(const TreeNode& u, int64_t ql, int64_t qr) {
  return std::min(u.hi, qr) - std::max(u.lo, ql) + 1;
}

class QuerySearch {
 public:
  QuerySearch(const IRangeGraphIndex& index, SearchContext& ctx, QueryDistance& distance, int64_t ql,
              int64_t qr)
      : index_(index), ctx_(ctx), distance_(distance), ql_(ql), qr_(qr), limit_(index.params().M) {}

  /// Beam search from one random item of every tree node covering the range. As in the
  /// authors' code, all entries enter the results, so the beam is max(ef, entries) wide.
  void run(int ef) {
    ctx_.visited.reset(index_.size());
    ctx_.candidates.clear();
    ctx_.entries.clear();
    SplitMix64 rng(mix_seed(index_.params().seed, static_cast<uint64_t>(ql_), static_cast<uint64_t>(qr_)));
    ctx_.stack.assign(1, TreeNode{0, static_cast<int64_t>(index_.size()) - 1, 0});
    while (!ctx_.stack.empty()) {
      const TreeNode u = ctx_.stack.back();
      ctx_.stack.pop_back();
      if (u.hi < ql_ || u.lo > qr_) continue;
      if (u.lo >= ql_ && u.hi <= qr_) {
        ctx_.entries.push_back(static_cast<int32_t>(u.lo + rng.below(u.hi - u.lo + 1)));
        continue;
      }
      ctx_.stack.push_back({u.split(), u.hi, u.depth + 1});
      ctx_.stack.push_back({u.lo, u.split() - 1, u.depth + 1});
    }
    ctx_.results.reset(std::max<size_t>(static_cast<size_t>(ef), ctx_.entries.size()));
    for (const int32_t entry : ctx_.entries) {
      ctx_.visited.insert(entry);
      const Neighbor nb{distance_(entry), entry};
      ctx_.candidates.push(nb);
      ctx_.results.push(nb);
    }
    graph::search_layer(
        ctx_.candidates, ctx_.results, ctx_.visited,
        [&](int32_t node, auto&& visit) {
          select_links(node);
          const size_t count = ctx_.selected.size();
          for (size_t i = 0; i < std::min<size_t>(count, 3); ++i) distance_.prefetch(ctx_.selected[i]);
          for (size_t i = 0; i < count; ++i) {
            if (i + 3 < count) distance_.prefetch(ctx_.selected[i + 3]);
            visit(ctx_.selected[i]);  // visited already when listed at two layers
          }
        },
        distance_);
  }

 private:
  /// The authors' edge selection: walk down the tree towards `pos`, skipping layers whose
  /// node holds no more of the range than the child holding `pos`; take the in-range,
  /// unvisited links of each layer reached until `limit_` are found or the node lies inside
  /// the range.
  void select_links(int32_t pos) {
    ctx_.selected.clear();
    TreeNode node{0, static_cast<int64_t>(index_.size()) - 1, 0};
    while (true) {
      TreeNode next = node;
      while (!node.leaf()) {
        next = node.child_holding(pos);
        if (overlap(node, ql_, qr_) != overlap(next, ql_, qr_)) break;
        node = next;
      }
      const int32_t* links = index_.links(pos, node.depth);
      const int32_t count = index_.link_count(pos, node.depth);
      for (int32_t j = 0; j < count; ++j) {
        const int32_t id = links[j];
        if (id < ql_ || id > qr_ || ctx_.visited.contains(id)) continue;
        ctx_.selected.push_back(id);
        if (static_cast<int>(ctx_.selected.size()) == limit_) return;
      }
      if ((node.lo >= ql_ && node.hi <= qr_) || node.leaf()) return;
      node = node.child_holding(pos);
    }
  }

  const IRangeGraphIndex& index_;
  SearchContext& ctx_;
  QueryDistance& distance_;
  int64_t ql_;
  int64_t qr_;
  int limit_;
};

}  // namespace

void IRangeGraphIndex::search(const float* queries, size_t nq, const int64_t* starts, const int64_t* stops,
                              int k, int ef_search, int threads, int64_t* out_ids, float* out_distances,
                              uint64_t* out_distance_counts) const {
  check_range_search(built_, size(), nq, starts, stops, k, ef_search);
  const size_t kk = static_cast<size_t>(k);
  parallel_for_each(
      nq, threads, [] { return 0; },
      [&](int&, size_t q) {
        int64_t* ids = out_ids + q * kk;
        float* dists = out_distances + q * kk;
        clear_result_row(ids, dists, out_distance_counts + q, kk);
        if (starts[q] == stops[q]) return;
        SearchContext& ctx = thread_scratch<SearchContext>();
        QueryDistance distance(store_, queries + q * store_.dim());
        QuerySearch search(*this, ctx, distance, starts[q], stops[q] - 1);
        search.run(ef_search);
        const auto& found = ctx.results.sorted();
        const size_t m = std::min(kk, found.size());
        for (size_t i = 0; i < m; ++i) {
          ids[i] = order_[found[i].id];
          dists[i] = found[i].distance;
        }
        out_distance_counts[q] = distance.count();
      });
}

}  // namespace fanns::irangegraph
