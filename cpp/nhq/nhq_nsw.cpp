// NHQ-NSW construction (n2-style NSW insertion with the fusion distance), search and files.
#include "nhq/nhq_nsw.h"

#include <immintrin.h>

#include <algorithm>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/binary_io.h"
#include "core/heaps.h"
#include "core/parallel.h"
#include "core/visited.h"
#include "nhq/nhq_common.h"
#include "nhq/nhq_layout.h"

namespace fanns::nhq {
namespace {

// n2's L2 as the authors' build of NHQ-NPG_nsw computes it (src/distance.cc, -O3
// -march=native): four SSE lanes, each accumulating (a - b)^2 with a fused multiply-add, then
// ((l0 + l1) + l2) + l3 and a scalar tail. Bit-identical distances give the authors' graph and
// search order (ties at the 10^6 attribute weight, where a float keeps 1/16 steps, included).
__attribute__((target("fma"))) float n2_l2_fma(const float* a, const float* b, size_t dim) {
  __m128 sum = _mm_setzero_ps();
  size_t i = 0;
  for (; i + 4 <= dim; i += 4) {
    const __m128 d = _mm_sub_ps(_mm_loadu_ps(a + i), _mm_loadu_ps(b + i));
    sum = _mm_fmadd_ps(d, d, sum);
  }
  alignas(16) float lanes[4];
  _mm_store_ps(lanes, sum);
  float res = lanes[0] + lanes[1] + lanes[2] + lanes[3];
  for (; i < dim; ++i) {
    const float d = a[i] - b[i];
    res += d * d;
  }
  return res;
}

/// The same sums without fused multiply-adds, for CPUs without FMA.
float n2_l2_plain(const float* a, const float* b, size_t dim) {
  __m128 sum = _mm_setzero_ps();
  size_t i = 0;
  for (; i + 4 <= dim; i += 4) {
    const __m128 d = _mm_sub_ps(_mm_loadu_ps(a + i), _mm_loadu_ps(b + i));
    sum = _mm_add_ps(sum, _mm_mul_ps(d, d));
  }
  alignas(16) float lanes[4];
  _mm_store_ps(lanes, sum);
  float res = lanes[0] + lanes[1] + lanes[2] + lanes[3];
  for (; i < dim; ++i) {
    const float d = a[i] - b[i];
    res += d * d;
  }
  return res;
}

using L2Kernel = float (*)(const float*, const float*, size_t);

L2Kernel n2_l2() { return __builtin_cpu_supports("fma") ? n2_l2_fma : n2_l2_plain; }

/// std::priority_queue order of n2's FurtherFirst / CloserFirst and its MinHeap: distances
/// only, ties left where std::push_heap / std::pop_heap put them (the authors' order; our
/// CandidateHeap breaks ties by id, which at weight 10^6 decides which of the many equally
/// far non-matching nodes are expanded).
struct FartherOnTop {
  bool operator()(const Neighbor& a, const Neighbor& b) const { return a.distance < b.distance; }
};
struct CloserOnTop {
  bool operator()(const Neighbor& a, const Neighbor& b) const { return a.distance > b.distance; }
};

template <class Less>
class KeyHeap {
 public:
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  const Neighbor& top() const { return items_.front(); }
  void push(Neighbor item) {
    items_.push_back(item);
    std::push_heap(items_.begin(), items_.end(), Less());
  }
  void pop() {
    std::pop_heap(items_.begin(), items_.end(), Less());
    items_.pop_back();
  }
  void clear() { items_.clear(); }

 private:
  std::vector<Neighbor> items_;
};

using FarHeap = KeyHeap<FartherOnTop>;

struct Builder {
  const float* base;
  const int32_t* codes;
  size_t dim, A, M, ef;
  L2Kernel l2;
  std::vector<std::vector<int32_t>>& adj;
  std::vector<std::mutex>& locks;

  float vector_distance(int32_t a, int32_t b) const { return l2(base + a * dim, base + b * dim, dim); }
  float fusion(int32_t a, int32_t b) const {
    const float d = vector_distance(a, b);
    return d + d * static_cast<float>(mismatches(codes + a * A, codes + b * A, A)) / static_cast<float>(A);
  }

  /// n2's heuristic (HeuristicNeighborSelectingPolicies::Select): fewer than m candidates:
  /// keep all; else drain the heap (farthest first), walk it closest first, skip a candidate
  /// nearer (in vector distance) to a picked one than its fusion distance to the node, stop
  /// at m, and push the picked back in picking order.
  void select(size_t m, FarHeap& result) const {
    if (result.size() < m) return;
    std::vector<Neighbor> drained, picked;
    while (!result.empty()) {
      drained.push_back(result.top());
      result.pop();
    }
    for (auto c = drained.rbegin(); c != drained.rend(); ++c) {
      bool skip = false;
      for (const auto& p : picked) {
        if (vector_distance(c->id, p.id) < c->distance) {
          skip = true;
          break;
        }
      }
      if (!skip) picked.push_back(*c);
      if (picked.size() == m) break;
    }
    for (const auto& p : picked) result.push(p);
  }

  /// n2's SearchAtLayer from `entry` under the build fusion distance; `result` keeps the ef best.
  void search(int32_t node, int32_t entry, VisitedSet& visited, FarHeap& result) const {
    KeyHeap<CloserOnTop> candidates;
    visited.reset(adj.size());
    const Neighbor start{fusion(node, entry), entry};
    result.push(start);
    candidates.push(start);
    visited.insert(entry);
    std::vector<int32_t> friends;
    while (!candidates.empty()) {
      const Neighbor current = candidates.top();
      if (current.distance > result.top().distance) break;
      candidates.pop();
      {
        std::lock_guard<std::mutex> guard(locks[current.id]);
        friends = adj[current.id];
      }
      for (int32_t next : friends) {
        if (!visited.insert_new(next)) continue;
        const float d = fusion(node, next);
        if (result.size() < ef || result.top().distance > d) {
          result.push({d, next});
          candidates.push({d, next});
          if (result.size() > ef) result.pop();
        }
      }
    }
  }

  /// n2's Link: append; a list over M is re-selected to at most its size - 1 and rewritten in
  /// the heap's pop order (farthest first), as the authors' lists are stored.
  void link(int32_t source, int32_t target) {
    std::lock_guard<std::mutex> guard(locks[source]);
    auto& list = adj[source];
    list.push_back(target);
    if (list.size() <= M) return;
    FarHeap candidates;
    for (int32_t other : list) candidates.push({fusion(source, other), other});
    select(candidates.size() - 1, candidates);
    list.clear();
    for (; !candidates.empty(); candidates.pop()) list.push_back(candidates.top().id);
  }

  /// n2's Insert: search from item 0, select M, link both ways, farthest selected first.
  void insert(int32_t node, VisitedSet& visited) {
    FarHeap found;
    search(node, 0, visited, found);
    select(M, found);
    for (; !found.empty(); found.pop()) {
      const int32_t other = found.top().id;
      link(other, node);
      link(node, other);
    }
  }
};

}  // namespace

NhqNswIndex::NhqNswIndex(size_t dim, Metric metric, size_t attributes, NswParams params)
    : NhqGraph(dim, metric, attributes), params_(params) {
  params_.validate();
}

void NhqNswIndex::build(const float* data, const int32_t* codes, size_t count, int threads) {
  keep_items(data, codes, count, 1, "cannot build an index over 0 vectors");
  std::vector<std::vector<int32_t>> adj(count);
  std::vector<std::mutex> locks(count);
  Builder builder{store_.raw_f32().data(), codes_.data(), store_.dim(), attributes_,
                  static_cast<size_t>(params_.M), static_cast<size_t>(params_.ef_construction),
                  n2_l2(), adj, locks};
  if (threads <= 1) {
    VisitedSet visited(count);
    for (size_t i = 1; i < count; ++i) builder.insert(static_cast<int32_t>(i), visited);
  } else {
    parallel_for_each(count - 1, threads, [count] { return VisitedSet(count); },
                      [&](VisitedSet& visited, size_t i) { builder.insert(static_cast<int32_t>(i + 1), visited); });
  }
  set_graph(adj, [](int32_t id) { return id; });
}

void NhqNswIndex::search(const float* queries, size_t nq, const int32_t* query_codes, size_t code_rows,
                         const int64_t* rows, const NswSearchParams& params, int threads, int64_t* out_ids,
                         float* out_distances, uint64_t* out_distance_counts) const {
  check_search(params.k, params.ef_search, "ef_search", nq, rows, code_rows);
  const size_t n = size(), k = static_cast<size_t>(params.k), A = attributes_;
  const size_t ef = static_cast<size_t>(params.ef_search);
  const float weight = params.weight_search;
  const DistanceF32 kernel = distance_kernels(store_.metric()).f32;
  const size_t dim = store_.dim();
  // one body for both views (the node blocks, or the index's own arrays: same ids, same order)
  auto run = [&](const auto& view) {
    parallel_for_each(nq, threads, [n] { return VisitedSet(n); }, [&](VisitedSet& visited, size_t q) {
      const int32_t* want = query_codes + rows[q] * A;
      const float* query = queries + q * dim;
      uint64_t evaluations = 0;
      auto fusion = [&](int32_t id) {
        ++evaluations;
        return kernel(query, view.vector(id), dim) + weight * static_cast<float>(mismatches(want, view.codes_of(id), A));
      };
      // n2's search: expand up to ef/2 nodes best-first; a neighbour enters the candidates when
      // it beats the largest distance queued so far or fewer than ef were queued
      KeyHeap<CloserOnTop> candidates;  // n2's MinHeap: ties in push_heap order, as theirs
      std::vector<Neighbor> expanded;
      std::vector<Neighbor> fresh;
      visited.reset(n);
      const Neighbor start{fusion(0), 0};
      visited.insert(0);
      candidates.push(start);
      float max_key = start.distance;
      size_t queued = 1;
      while (!candidates.empty() && expanded.size() < ef / 2) {
        const Neighbor cur = candidates.top();
        candidates.pop();
        expanded.push_back(cur);
        const float top = max_key;
        fresh.clear();
        const int32_t* links = view.links(cur.id);
        const uint32_t degree = view.degree(cur.id);
        // the first line of every neighbour's block up front (as the KGraph search)
        for (uint32_t e = 0; e < degree; ++e) __builtin_prefetch(view.vector(links[e]));
        for (uint32_t e = 0; e < degree; ++e) {
          const int32_t next = links[e];
          if (!visited.insert_new(next)) continue;
          const float d = fusion(next);
          if (d < top || queued < ef) {
            fresh.push_back({d, next});
            ++queued;
          }
        }
        for (const auto& f : fresh) {
          candidates.push(f);
          max_key = std::max(max_key, f.distance);
        }
      }
      std::vector<Neighbor> pool;
      for (; !candidates.empty() && pool.size() < k; candidates.pop()) pool.push_back(candidates.top());
      std::sort(expanded.begin(), expanded.end(), closer);
      for (size_t i = 0; i < expanded.size() && i < k; ++i) pool.push_back(expanded[i]);
      std::sort(pool.begin(), pool.end(), closer);
      write_result_row(pool, k, out_ids + q * k, out_distances + q * k);
      out_distance_counts[q] = evaluations;
    });
  };
  with_view(run);
}

namespace {
constexpr char kMagic[8] = {'F', 'A', 'N', 'N', 'S', 'N', 'S', 'W'};
constexpr uint32_t kVersion = 1;
}  // namespace

void NhqNswIndex::save(const std::string& path) const {
  if (!is_built()) throw std::runtime_error("cannot save an index that is not built");
  BinaryWriter out(path);
  out.header(kMagic, kVersion);
  out.metric(store_);
  write_fields(out, params_);
  write_sizes_and_body(out);
  out.close();
}

NhqNswIndex NhqNswIndex::load(const std::string& path) {
  BinaryReader in(path);
  in.expect_header(kMagic, kVersion);
  const Metric metric = in.metric();
  NswParams p;
  read_fields(in, p);
  in.check_params(p);
  return read_sizes_and_body<NhqNswIndex>(in, 1, "bad sizes or parameters", [&](uint64_t dim, uint64_t attributes) {
    return NhqNswIndex(dim, metric, attributes, p);
  });
}

}  // namespace fanns::nhq
