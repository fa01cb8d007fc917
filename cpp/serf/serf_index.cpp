// SeRF build (insertion in attribute order, segment pruning at level 0) and range search.
#include "serf/serf_index.h"

#include <algorithm>
#include <queue>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "graph/segment_common.h"

namespace fanns::serf {

using segment::RowDistance;

size_t Graph::memory_bytes() const {
  return (segment_offsets.size() + neighbor_offsets.size() + reverse_offsets.size()) * sizeof(uint64_t) +
         (segment_ends.size() + neighbors.size() + reverse.size()) * sizeof(int32_t);
}

SerfIndex::SerfIndex(size_t dim, Metric metric, BuildParams params)
    : params_(params), store_(dim, metric, StorageType::Float32) {
  if (dim == 0) throw std::invalid_argument("dim must be >= 1");
  params_.validate();
}

namespace {

struct Segment {
  int32_t end;
  std::vector<int32_t> ids;
};

/// SeRF's level-0 step for the item at position `self` (every candidate lies left of it).
/// Candidates are taken closest first into the current batch unless a batch member is closer
/// to them than `self` is (the RNG rule). A batch closes when it holds `capacity` links or
/// `window` candidates were examined; it serves left bounds up to its rightmost member. The
/// next batch only considers candidates right of that member; candidates pruned earlier but
/// still right of it are examined again.
class SegmentPruner {
 public:
  SegmentPruner(const RowDistance& distance, size_t capacity, size_t window)
      : distance_(distance), capacity_(capacity), window_(window) {}

  /// Fills `segments` (left to right) and returns the first batch (the HNSW's level-0 links).
  std::vector<int32_t> run(int32_t self, const std::vector<Neighbor>& candidates,
                           std::vector<Segment>& segments) {
    using Item = std::pair<float, int32_t>;  // min-heap on (distance, id)
    std::priority_queue<Item, std::vector<Item>, std::greater<Item>> queue;
    for (const Neighbor& c : candidates) queue.push({c.distance, c.id});
    std::vector<Neighbor> batch;
    std::vector<Neighbor> deferred;  // pruned, right of the batch's rightmost member
    std::vector<int32_t> first;
    int32_t rightmost = -1;
    int32_t previous_end = -1;
    size_t examined = 0;
    bool have_first = false;
    auto close_batch = [&](int32_t end) {
      std::vector<int32_t> ids;
      ids.reserve(batch.size());
      for (const Neighbor& b : batch) ids.push_back(b.id);
      if (!have_first) {
        first = ids;
        have_first = true;
      }
      segments.push_back({end, std::move(ids)});
      batch.clear();
    };
    while (!queue.empty()) {
      if (batch.size() >= capacity_ || examined >= window_) {
        for (const Neighbor& d : deferred) {
          if (d.id > rightmost) queue.push({d.distance, d.id});
        }
        deferred.clear();
        close_batch(rightmost);
        examined = 0;
        previous_end = rightmost;
        continue;
      }
      const auto [dist, id] = queue.top();
      queue.pop();
      if (id <= previous_end) continue;  // outside every left bound this batch serves
      ++examined;
      bool good = true;
      for (const Neighbor& b : batch) {
        if (distance_.between(b.id, id) < dist) {
          good = false;
          break;
        }
      }
      if (good) {
        batch.push_back({dist, id});
        rightmost = std::max(rightmost, id);
      } else if (id > rightmost) {
        deferred.push_back({dist, id});
      }
    }
    if (!batch.empty()) close_batch(self);
    return first;
  }

 private:
  const RowDistance& distance_;
  size_t capacity_;
  size_t window_;
};

}  // namespace

void SerfIndex::build(const float* data, size_t count) {
  if (count == 0) throw std::invalid_argument("cannot build an index over 0 vectors");
  if (count >= static_cast<size_t>(INT32_MAX)) throw std::invalid_argument("too many vectors");
  store_.assign(data, count);
  const RowDistance distance(store_.raw_f32().data(), store_.dim(), store_.metric());
  const size_t k = static_cast<size_t>(params_.index_k);
  const size_t window = static_cast<size_t>(std::max(params_.ef_construction, params_.index_k));
  segment::InsertionHnsw hnsw(distance, count, params_.index_k, params_.index_k,
                              params_.ef_construction, params_.seed);
  SegmentPruner pruner(distance, k, window);
  std::vector<std::vector<Segment>> forward(count);
  // The authors link back only the first 70% (+1) of the first batch (maxM0 * 0.7).
  const size_t back_links = static_cast<size_t>(static_cast<double>(k) * 0.7) + 1;
  for (size_t i = 0; i < count; ++i) {
    const int32_t self = static_cast<int32_t>(i);
    hnsw.insert(self, static_cast<size_t>(params_.ef_max), true,
                [&](const std::vector<Neighbor>& candidates, size_t& links_back) {
                  links_back = back_links;
                  return pruner.run(self, candidates, forward[i]);
                });
  }
  // Flatten forward segments; reverse edges: each forward edge u -> v gives v -> u once,
  // listed by decreasing u (the order the authors' search scans them in).
  Graph g;
  g.segment_offsets.assign(count + 1, 0);
  g.neighbor_offsets.push_back(0);
  std::vector<std::vector<int32_t>> reverse(count);
  std::vector<int32_t> last_source(count, -1);
  for (size_t u = 0; u < count; ++u) {
    for (const Segment& s : forward[u]) {
      g.segment_ends.push_back(s.end);
      g.neighbors.insert(g.neighbors.end(), s.ids.begin(), s.ids.end());
      g.neighbor_offsets.push_back(g.neighbors.size());
      for (int32_t v : s.ids) {
        if (last_source[v] == static_cast<int32_t>(u)) continue;
        last_source[v] = static_cast<int32_t>(u);
        reverse[v].push_back(static_cast<int32_t>(u));
      }
    }
    g.segment_offsets[u + 1] = g.segment_ends.size();
    std::vector<Segment>().swap(forward[u]);
  }
  g.reverse_offsets.assign(count + 1, 0);
  for (size_t v = 0; v < count; ++v) {
    g.reverse.insert(g.reverse.end(), reverse[v].rbegin(), reverse[v].rend());
    g.reverse_offsets[v + 1] = g.reverse.size();
  }
  graph_ = std::move(g);
  built_ = true;
}

void SerfIndex::search(const float* queries, size_t nq, const int64_t* starts, const int64_t* stops,
                       size_t k, size_t ef_search, size_t scan_below, bool return_seeds,
                       bool raise_ef_to_k, int threads, int64_t* out_ids,
                       float* out_distances, uint64_t* out_distance_counts) const {
  if (!built_) throw std::runtime_error("the index is not built yet");
  const size_t n = store_.size();
  const size_t dim = store_.dim();
  const size_t ef = segment::beam_width(ef_search, k, raise_ef_to_k);
  const size_t per_list = 2 * static_cast<size_t>(params_.index_k);
  const RowDistance distance(store_.raw_f32().data(), dim, store_.metric());
  const Graph& g = graph_;
  parallel_for_each(
      nq, threads, [] { return segment::RangeSearchScratch(); },
      [&](segment::RangeSearchScratch& scratch, size_t q) {
        int64_t* ids = out_ids + q * k;
        float* dists = out_distances + q * k;
        if (segment::answer_small_range(distance, queries + q * dim, starts[q], stops[q], scan_below, ef, k,
                                        scratch, ids, dists, out_distance_counts + q)) {
          return;
        }
        const int32_t left = static_cast<int32_t>(starts[q]);
        const int32_t right = static_cast<int32_t>(stops[q] - 1);
        const int32_t interval = (right - left) / 3;
        const std::vector<int32_t> seeds = {left, left + interval, left + 2 * interval};
        auto neighbours = [&](int32_t node, auto& visit) {
          // Forward: the first segment serving this left bound (left < its end), if any.
          for (uint64_t s = g.segment_offsets[node]; s < g.segment_offsets[node + 1]; ++s) {
            if (left < g.segment_ends[s]) {
              size_t in_range = 0;
              for (uint64_t e = g.neighbor_offsets[s]; e < g.neighbor_offsets[s + 1]; ++e) {
                const int32_t v = g.neighbors[e];
                if (v < left || v > right) continue;
                if (++in_range > per_list) break;
                visit(v);
              }
              break;
            }
          }
          size_t in_range = 0;
          for (uint64_t e = g.reverse_offsets[node]; e < g.reverse_offsets[node + 1]; ++e) {
            const int32_t v = g.reverse[e];
            if (v < left || v > right) continue;
            if (++in_range > per_list) break;
            visit(v);
          }
        };
        out_distance_counts[q] = segment::range_beam_search(distance, queries + q * dim, n, seeds,
                                                            ef, return_seeds, scratch, neighbours);
        segment::write_results(scratch, k, ids, dists);
      });
}

}  // namespace fanns::serf
