// NHQ-NSW construction (n2-style NSW insertion with the fusion distance), search and files.
#include "nhq/nhq_nsw.h"

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
#include "graph/best_first.h"
#include "nhq/nhq_common.h"

namespace fanns::nhq {
namespace {

size_t mismatches(const int32_t* a, const int32_t* b, size_t attributes) {
  size_t count = 0;
  for (size_t i = 0; i < attributes; ++i) count += (a[i] != b[i] || a[i] < 0) ? 1 : 0;
  return count;
}

struct Builder {
  const float* base;
  const int32_t* codes;
  size_t dim, A, M, ef;
  DistanceF32 l2;
  std::vector<std::vector<int32_t>>& adj;
  std::vector<std::mutex>& locks;

  float vector_distance(int32_t a, int32_t b) const { return l2(base + a * dim, base + b * dim, dim); }
  float fusion(int32_t a, int32_t b) const {
    const float d = vector_distance(a, b);
    return d + d * static_cast<float>(mismatches(codes + a * A, codes + b * A, A)) / static_cast<float>(A);
  }

  /// n2's heuristic: closest first, skip a candidate nearer (in vector distance) to a picked
  /// one than its fusion distance to the node; stop at m. Fewer than m candidates: keep all.
  void select(size_t m, std::vector<Neighbor>& candidates) const {
    if (candidates.size() < m) return;
    std::sort(candidates.begin(), candidates.end(), closer);
    std::vector<Neighbor> picked;
    for (const auto& c : candidates) {
      bool skip = false;
      for (const auto& p : picked) {
        if (vector_distance(c.id, p.id) < c.distance) {
          skip = true;
          break;
        }
      }
      if (!skip) picked.push_back(c);
      if (picked.size() == m) break;
    }
    candidates.swap(picked);
  }

  void search(int32_t node, int32_t entry, VisitedSet& visited, std::vector<Neighbor>& out) const {
    ResultHeap result;
    result.reset(ef);
    CandidateHeap candidates;
    visited.reset(adj.size());
    const Neighbor start{fusion(node, entry), entry};
    result.push(start);
    candidates.push(start);
    visited.insert(entry);
    std::vector<int32_t> friends;
    graph::search_layer(
        candidates, result, visited,
        [&](int32_t id, auto&& visit) {
          {
            std::lock_guard<std::mutex> guard(locks[id]);
            friends = adj[id];
          }
          for (int32_t next : friends) visit(next);
        },
        [&](int32_t next) { return fusion(node, next); });
    const std::vector<Neighbor>& kept = result.sorted();
    out.assign(kept.rbegin(), kept.rend());  // farthest first, as n2 pops its result heap
  }

  void link(int32_t source, int32_t target) {
    std::lock_guard<std::mutex> guard(locks[source]);
    auto& list = adj[source];
    list.push_back(target);
    if (list.size() <= M) return;
    std::vector<Neighbor> candidates;
    for (int32_t other : list) candidates.push_back({fusion(source, other), other});
    select(candidates.size() - 1, candidates);
    list.clear();
    for (const auto& c : candidates) list.push_back(c.id);
  }

  void insert(int32_t node, VisitedSet& visited) {
    std::vector<Neighbor> found;
    search(node, 0, visited, found);
    select(M, found);
    for (const auto& f : found) {
      link(f.id, node);
      link(node, f.id);
    }
  }
};

}  // namespace

NhqNswIndex::NhqNswIndex(size_t dim, Metric metric, size_t attributes, NswParams params)
    : params_(params), attributes_(attributes), store_(dim, metric, StorageType::Float32) {
  if (dim == 0) throw std::invalid_argument("dim must be >= 1");
  if (attributes == 0) throw std::invalid_argument("attributes must be >= 1");
  params_.validate();
}

void NhqNswIndex::build(const float* data, const int32_t* codes, size_t count, int threads) {
  if (built_) throw std::runtime_error("the index is already built");
  if (count == 0) throw std::invalid_argument("cannot build an index over 0 vectors");
  if (count > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    throw std::invalid_argument("at most 2^31 - 1 vectors are supported");
  }
  store_.assign(data, count);
  codes_.assign(codes, codes + count * attributes_);
  std::vector<std::vector<int32_t>> adj(count);
  std::vector<std::mutex> locks(count);
  Builder builder{store_.raw_f32().data(), codes_.data(), store_.dim(), attributes_,
                  static_cast<size_t>(params_.M), static_cast<size_t>(params_.ef_construction),
                  distance_kernels(Metric::L2).f32, adj, locks};
  if (threads <= 1) {
    VisitedSet visited(count);
    for (size_t i = 1; i < count; ++i) builder.insert(static_cast<int32_t>(i), visited);
  } else {
    parallel_for_each(count - 1, threads, [count] { return VisitedSet(count); },
                      [&](VisitedSet& visited, size_t i) { builder.insert(static_cast<int32_t>(i + 1), visited); });
  }
  offsets_.assign(count + 1, 0);
  adjacency_.clear();
  for (size_t i = 0; i < count; ++i) offsets_[i + 1] = offsets_[i] + adj[i].size();
  adjacency_.reserve(offsets_[count]);
  for (const auto& list : adj) adjacency_.insert(adjacency_.end(), list.begin(), list.end());
  built_ = true;
}

void NhqNswIndex::search(const float* queries, size_t nq, const int32_t* query_codes, size_t code_rows,
                         const int64_t* rows, const NswSearchParams& params, int threads, int64_t* out_ids,
                         float* out_distances, uint64_t* out_distance_counts) const {
  if (!built_) throw std::runtime_error("the index is not built yet");
  if (params.k < 1) throw std::invalid_argument("k must be >= 1");
  if (params.ef_search < 1) throw std::invalid_argument("ef_search must be >= 1");
  for (size_t q = 0; q < nq; ++q) {
    if (rows[q] < 0 || static_cast<size_t>(rows[q]) >= code_rows) {
      throw std::invalid_argument("rows[" + std::to_string(q) + "] = " + std::to_string(rows[q]) +
                                  " is not a row of query_codes");
    }
  }
  const size_t n = size(), k = static_cast<size_t>(params.k), A = attributes_;
  const size_t ef = static_cast<size_t>(params.ef_search);
  const float weight = params.weight_search;
  parallel_for_each(nq, threads, [n] { return VisitedSet(n); }, [&](VisitedSet& visited, size_t q) {
    const int32_t* want = query_codes + rows[q] * A;
    QueryDistance vector_distance(store_, queries + q * store_.dim());
    auto fusion = [&](int32_t id) {
      return vector_distance(id) + weight * static_cast<float>(mismatches(want, codes_.data() + id * A, A));
    };
    // n2's search: expand up to ef/2 nodes best-first; a neighbour enters the candidates when
    // it beats the largest distance queued so far or fewer than ef were queued
    CandidateHeap candidates;
    std::vector<Neighbor> expanded;
    std::vector<Neighbor> fresh;
    visited.reset(n);
    const Neighbor start{fusion(0), 0};
    visited.insert(0);
    candidates.push(start);
    float max_key = start.distance;
    size_t queued = 1;
    while (!candidates.empty() && expanded.size() < ef / 2) {
      const Neighbor cur = candidates.pop();
      expanded.push_back(cur);
      const float top = max_key;
      fresh.clear();
      for (uint64_t e = offsets_[cur.id]; e < offsets_[cur.id + 1]; ++e) {  // touch every neighbour first
        if (!visited.contains(adjacency_[e])) __builtin_prefetch(store_.address(adjacency_[e]));
      }
      for (uint64_t e = offsets_[cur.id]; e < offsets_[cur.id + 1]; ++e) {
        const int32_t next = adjacency_[e];
        if (e + 1 < offsets_[cur.id + 1]) vector_distance.prefetch(adjacency_[e + 1]);
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
    while (!candidates.empty() && pool.size() < k) pool.push_back(candidates.pop());
    std::sort(expanded.begin(), expanded.end(), closer);
    for (size_t i = 0; i < expanded.size() && i < k; ++i) pool.push_back(expanded[i]);
    std::sort(pool.begin(), pool.end(), closer);
    write_result_row(pool, k, out_ids + q * k, out_distances + q * k);
    out_distance_counts[q] = vector_distance.count();
  });
}

size_t NhqNswIndex::memory_bytes() const { return graph_memory_bytes(store_, codes_, offsets_, adjacency_); }

std::vector<int64_t> NhqNswIndex::neighbors(int64_t item) const {
  return neighbor_list(built_, size(), offsets_, adjacency_, item);
}

namespace {
constexpr char kMagic[8] = {'F', 'A', 'N', 'N', 'S', 'N', 'S', 'W'};
constexpr uint32_t kVersion = 1;
}  // namespace

void NhqNswIndex::save(const std::string& path) const {
  if (!built_) throw std::runtime_error("cannot save an index that is not built");
  BinaryWriter out(path);
  out.header(kMagic, kVersion);
  out.metric(store_);
  write_fields(out, params_);
  out.value<uint64_t>(attributes_);
  out.value<uint64_t>(store_.size());
  out.value<uint64_t>(store_.dim());
  write_graph_body(out, store_, codes_, offsets_, adjacency_);
  out.close();
}

NhqNswIndex NhqNswIndex::load(const std::string& path) {
  BinaryReader in(path);
  in.expect_header(kMagic, kVersion);
  const Metric metric = in.metric();
  NswParams p;
  read_fields(in, p);
  in.check_params(p);
  const uint64_t attributes = in.value<uint64_t>();
  const uint64_t n = in.value<uint64_t>();
  const uint64_t dim = in.value<uint64_t>();
  if (attributes == 0 || attributes > 4096 || n == 0 ||
      n > (uint64_t{1} << 31) || dim == 0 || dim > (uint64_t{1} << 20)) {
    in.corrupt("bad sizes or parameters");
  }
  NhqNswIndex index(dim, metric, attributes, p);
  read_graph_body(in, n, attributes, index.store_, index.codes_, index.offsets_, index.adjacency_);
  index.built_ = true;
  return index;
}

}  // namespace fanns::nhq
