// DIGRA search: one beam search over the graphs of the (at most two) nodes meeting the range.
#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/heaps.h"
#include "core/parallel.h"
#include "core/range_search.h"
#include "core/seeded_random.h"
#include "core/visited.h"
#include "digra/digra_index.h"

namespace fanns::digra {
namespace {

struct SearchContext {
  VisitedSet visited;
  CandidateHeap candidates;
  ResultHeap results;
  std::vector<Neighbor> merged;
};

}  // namespace

void DigraIndex::search(const float* queries, size_t nq, const int64_t* starts, const int64_t* stops, int k,
                        int ef_search, bool strict, int threads, int64_t* out_ids, float* out_distances,
                        uint64_t* out_distance_counts) const {
  check_range_search(built_, size(), nq, starts, stops, k, ef_search);
  const size_t n = size();
  const size_t kk = static_cast<size_t>(k);
  parallel_for_each(
      nq, threads, [] { return 0; },
      [&](int&, size_t q) {
        int64_t* ids = out_ids + q * kk;
        float* dists = out_distances + q * kk;
        clear_result_row(ids, dists, out_distance_counts + q, kk);
        const int64_t lo = starts[q];
        const int64_t hi = stops[q];
        if (lo == hi) return;
        SearchContext& ctx = thread_scratch<SearchContext>();
        QueryDistance distance(store_, queries + q * store_.dim());
        // The deepest level whose nodes hold the whole range length.
        int level = graph_levels_;
        while (level > 0 && node_size(level) < hi - lo) --level;
        if (level == graph_levels_) {
          // No larger than a leaf: scan the range.
          ctx.results.reset(kk);
          for (int64_t p = lo; p < hi; ++p) ctx.results.push({distance(p), static_cast<int32_t>(p)});
        } else {
          // One beam search per node: the two graphs are not linked, so a shared beam would
          // drop the farther node's region before reaching it.
          const int64_t S = node_size(level);
          ctx.visited.reset(n);
          ctx.merged.clear();
          SplitMix64 rng(mix_seed(params_.seed, static_cast<uint64_t>(lo), static_cast<uint64_t>(hi)));
          for (int64_t node = lo / S; node <= (hi - 1) / S; ++node) {
            ctx.candidates.clear();
            ctx.results.reset(static_cast<size_t>(ef_search));
            auto enter = [&](int32_t pos) {
              if (!ctx.visited.insert_new(pos)) return;
              const Neighbor nb{distance(pos), pos};
              ctx.candidates.push(nb);
              if (!strict || (pos >= lo && pos < hi)) ctx.results.push(nb);
            };
            // The node's graph entry, and a random in-range item of the node's part of the range.
            enter(entry(level, node));
            const int64_t a = std::max(lo, node * S);
            const int64_t b = std::min(hi, (node + 1) * S);
            enter(static_cast<int32_t>(a + rng.below(b - a)));
            while (!ctx.candidates.empty()) {
              const Neighbor current = ctx.candidates.top();
              if (ctx.results.full() && current.distance > ctx.results.worst().distance) break;
              ctx.candidates.pop();
              const int32_t* slot = this->slot(level, current.id);
              for (int32_t j = 0; j < slot[0]; ++j) {
                const int32_t next = slot[1 + j];
                if (!ctx.visited.insert_new(next)) continue;
                const float dist = distance(next);
                if (!ctx.results.full() || dist < ctx.results.worst().distance) {
                  ctx.candidates.push({dist, next});
                  if (!strict || (next >= lo && next < hi)) ctx.results.push({dist, next});
                }
              }
            }
            const auto& found = ctx.results.sorted();
            ctx.merged.insert(ctx.merged.end(), found.begin(), found.end());
          }
          std::sort(ctx.merged.begin(), ctx.merged.end(), closer);
          ctx.results.reset(kk);
          for (const Neighbor& nb : ctx.merged) ctx.results.push(nb);
        }
        const auto& found = ctx.results.sorted();
        const size_t m = std::min(kk, found.size());
        for (size_t i = 0; i < m; ++i) {
          ids[i] = order_[found[i].id];
          dists[i] = found[i].distance;
        }
        out_distance_counts[q] = distance.count();
      });
}

}  // namespace fanns::digra
