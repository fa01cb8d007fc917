// ACORN construction: level assignment, insertion, neighbour selection, compaction.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "acorn/acorn_index.h"
#include "core/heaps.h"
#include "core/parallel.h"
#include "core/visited.h"

namespace fanns::acorn {

const char* method_name(Method method) {
  switch (method) {
    case Method::Gamma: return "acorn_gamma";
    case Method::One: return "acorn_1";
    case Method::GammaRef: return "acorn_gamma_ref";
    case Method::OneRef: return "acorn_1_ref";
  }
  return "unknown";
}

// Each method's fields onto the engine's configuration, in BuildParams' member order: variant,
// M, gamma, M_beta, ef_construction, seed, diversify, reference, drop_nearest_upper,
// write_past_list.
BuildParams GammaParams::engine() const {
  check_fields(*this);
  return {Variant::Gamma, M, gamma, M_beta, ef_construction, seed, diversify, false, false, false};
}

BuildParams OneParams::engine() const {
  check_fields(*this);
  return {Variant::One, M, 1, M, ef_construction, seed, true, false, false, false};
}

// The reference's efConstruction is M * gamma; its ACORN-1 demo uses M_beta = 2M (asked by 0).
BuildParams GammaRefParams::engine() const {
  check_fields(*this);
  return {Variant::Gamma, M, gamma, M_beta, M * gamma, seed, false, true, drop_nearest_upper, write_past_list};
}

BuildParams OneRefParams::engine() const {
  check_fields(*this);
  return {Variant::One, M, 1, M_beta == 0 ? 2 * M : M_beta, M, seed, false, true, drop_nearest_upper,
          write_past_list};
}

GammaParams GammaParams::of(const BuildParams& p) {
  return {p.M, p.gamma, p.M_beta, p.ef_construction, p.seed, p.diversify};
}

OneParams OneParams::of(const BuildParams& p) { return {p.M, p.ef_construction, p.seed}; }

GammaRefParams GammaRefParams::of(const BuildParams& p) {
  return {p.M, p.gamma, p.M_beta, p.seed, p.drop_nearest_upper, p.write_past_list};
}

OneRefParams OneRefParams::of(const BuildParams& p) {
  return {p.M, p.M_beta, p.seed, p.drop_nearest_upper, p.write_past_list};
}

void BuildParams::validate() const {
  auto require = [](bool ok, const std::string& message) {
    if (!ok) throw std::invalid_argument(message);
  };
  if (reference) {
    // The reference checks M_beta <= 2 M gamma (ACORN-1 uses M_beta = 2M).
    require(M_beta <= 2 * M * gamma,
            "M_beta must be in [0, 2*M*gamma = " + std::to_string(2 * M * gamma) + "], got " +
                std::to_string(M_beta));
    require(static_cast<long long>(M) * gamma <= 65536, "M*gamma must be <= 65536");
    require((variant == Variant::One) == (gamma == 1),
            "the reference's ACORN-1 is gamma = 1 (and ACORN-gamma has gamma > 1), got gamma = " +
                std::to_string(gamma));
  } else if (variant == Variant::Gamma) {
    require(M_beta <= M * gamma,
            "M_beta must be in [1, M*gamma = " + std::to_string(M * gamma) + "], got " +
                std::to_string(M_beta));
    require(static_cast<long long>(M) * gamma <= 65536, "M*gamma must be <= 65536");
  }
}

int BuildParams::reference_level0_slots() const {
  return static_cast<int>(M_beta + 1.5 * M);  // the reference's (int) of a double sum
}

int BuildParams::level0_capacity() const {
  if (variant == Variant::One) return 2 * M;
  // Compressed lists: the M_beta nearest plus room for 2M entries (compressed
  // candidates and back-links), never more than the M*gamma candidates.
  return std::min(M * gamma, M_beta + 2 * M);
}

// Upper levels are HNSW's in both variants: the search descends them greedily
// without the predicate, so only HNSW's M diverse links are ever used.
int BuildParams::upper_capacity() const { return M; }

int BuildParams::candidate_count(int level) const {
  return variant == Variant::One || level > 0 ? ef_construction : M * gamma;
}

size_t Graph::memory_bytes() const {
  size_t bytes = levels.size() + offsets0.size() * sizeof(uint64_t) +
                 adjacency0.size() * sizeof(int32_t) + upper_slot.size() * sizeof(int32_t);
  for (const auto& o : upper_offsets) bytes += o.size() * sizeof(uint64_t);
  for (const auto& a : upper_adjacency) bytes += a.size() * sizeof(int32_t);
  bytes += reference_offsets.size() * sizeof(uint64_t);
  return bytes;
}

AcornIndex::AcornIndex(size_t dim, Metric metric, StorageType storage, BuildParams params)
    : params_(params), store_(dim, metric, storage) {
  if (dim == 0) throw std::invalid_argument("dimension must be positive");
  params_.validate();
}

std::vector<uint8_t> assign_levels(size_t count, int M, uint64_t seed) {
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  auto next = [&state]() {  // splitmix64: exactly reproducible everywhere
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  const double level_mult = 1.0 / std::log(static_cast<double>(M));
  std::vector<uint8_t> levels(count);
  for (auto& level : levels) {
    const double u = (static_cast<double>(next() >> 11) + 1.0) * 0x1.0p-53;
    const double l = std::floor(-std::log(u) * level_mult);
    level = static_cast<uint8_t>(std::min(l, 30.0));
  }
  return levels;
}

namespace testing {
namespace {
std::atomic<int64_t> pause_node{-1};
std::atomic<int64_t> pause_inserts{0};
}  // namespace

void pause_insertion(int64_t node, int64_t inserts) {
  pause_inserts.store(inserts);
  pause_node.store(node);
}

PauseRequest pause_request() {
  const int64_t node = pause_node.load(std::memory_order_relaxed);
  if (node < 0) return {};
  return {node, pause_inserts.load()};
}
}  // namespace testing

namespace {

template <class T>
T load_relaxed(const T* p) {
  return __atomic_load_n(p, __ATOMIC_RELAXED);
}
template <class T>
void store_relaxed(T* p, T v) {
  __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/// Neighbour lists while building: fixed capacity per node and level, sorted by
/// distance to the owner, with the distances kept beside the ids. Lists are
/// written under the owner's lock and read without locks through relaxed
/// atomics (a reader may see a list mid-update; every id it sees is valid).
class BuildLists {
 public:
  BuildLists(const std::vector<uint8_t>& levels, int cap0, int cap_upper)
      : cap0_(cap0), cap_upper_(cap_upper), locks_(levels.size()) {
    const size_t n = levels.size();
    ids0_.assign(n * (cap0_ + 1), 0);
    dist0_.assign(n * cap0_, 0.f);
    upper_base_.assign(n, -1);
    size_t rows = 0;
    for (size_t i = 0; i < n; ++i) {
      if (levels[i] > 0) {
        upper_base_[i] = static_cast<int64_t>(rows);
        rows += levels[i];
      }
    }
    ids_upper_.assign(rows * (cap_upper_ + 1), 0);
    dist_upper_.assign(rows * cap_upper_, 0.f);
  }

  int capacity(int level) const { return level == 0 ? cap0_ : cap_upper_; }
  std::mutex& lock(int32_t node) { return locks_[node]; }

  /// [count, id_0, ..., id_cap-1] of `node` at `level`.
  int32_t* ids(int32_t node, int level) {
    if (level == 0) return ids0_.data() + static_cast<size_t>(node) * (cap0_ + 1);
    const size_t row = static_cast<size_t>(upper_base_[node]) + (level - 1);
    return ids_upper_.data() + row * (cap_upper_ + 1);
  }
  float* distances(int32_t node, int level) {
    if (level == 0) return dist0_.data() + static_cast<size_t>(node) * cap0_;
    const size_t row = static_cast<size_t>(upper_base_[node]) + (level - 1);
    return dist_upper_.data() + row * cap_upper_;
  }

  /// Copy the current list (relaxed reads) into `out`.
  void read(int32_t node, int level, std::vector<int32_t>& out) {
    const int32_t* row = ids(node, level);
    const int count = std::min<int>(load_relaxed(row), capacity(level));
    out.resize(count);
    for (int i = 0; i < count; ++i) out[i] = load_relaxed(row + 1 + i);
  }

  /// Replace the list (caller holds the owner's lock); `items` sorted, at most capacity.
  void write(int32_t node, int level, const std::vector<Neighbor>& items) {
    int32_t* row = ids(node, level);
    float* dist = distances(node, level);
    const int count = static_cast<int>(items.size());
    for (int i = 0; i < count; ++i) {
      store_relaxed(row + 1 + i, items[i].id);
      dist[i] = items[i].distance;
    }
    store_relaxed(row, count);
  }

  /// The list with distances (caller holds the owner's lock).
  void read_with_distances(int32_t node, int level, std::vector<Neighbor>& out) {
    const int32_t* row = ids(node, level);
    const float* dist = distances(node, level);
    const int count = load_relaxed(row);
    out.resize(count);
    for (int i = 0; i < count; ++i) out[i] = Neighbor{dist[i], row[1 + i]};
  }

 private:
  int cap0_;
  int cap_upper_;
  std::vector<std::mutex> locks_;
  std::vector<int32_t> ids0_;
  std::vector<float> dist0_;
  std::vector<int64_t> upper_base_;
  std::vector<int32_t> ids_upper_;
  std::vector<float> dist_upper_;
};

/// Per-thread scratch space for insertions.
struct BuildContext {
  BuildContext(size_t n, size_t dim) : visited(n), covered(n), query(dim), other(dim) {}
  VisitedSet visited;
  VisitedSet covered;
  std::vector<float> query;  // decoded vector of the node being inserted / relinked
  std::vector<float> other;  // decoded vector for pairwise distances
  std::vector<Neighbor> pool;
  std::vector<Neighbor> scratch;
  std::vector<Neighbor> selected;
  std::vector<std::vector<Neighbor>> chosen;  // the inserted node's links, per level
  std::vector<int32_t> list;
  CandidateHeap candidates;
  ResultHeap top;
};

class Builder {
 public:
  Builder(const BuildParams& params, const VectorStore& store, const std::vector<uint8_t>& levels)
      : params_(params),
        store_(store),
        levels_(levels),
        lists_(levels, params.level0_capacity(), params.upper_capacity()) {}

  void insert(int32_t node, BuildContext& ctx) {
    const int node_level = levels_[node];
    std::unique_lock<std::mutex> global(global_lock_);
    int32_t current = entry_point_;
    const int top_level = max_level_;
    if (current < 0) {
      entry_point_ = node;
      max_level_ = node_level;
      return;
    }
    if (node_level <= top_level) global.unlock();  // keep it only if the entry point changes

    store_.decode(node, ctx.query.data());
    QueryDistance distance(store_, ctx.query.data());
    float current_distance = distance(current);
    for (int level = top_level; level > node_level; --level) {
      greedy_step(level, distance, current, current_distance, ctx);
    }
    // Every list of `node` is written before any back-link makes it reachable: a node reachable
    // on an upper level with its level-0 list still empty hands the insertions that descend
    // through it (while its thread is preempted) a one-node level 0, so they link only to it and
    // to each other, and once it drops them from its list they are an island no search enters.
    // Single-threaded the order changes nothing (each level reads and writes only its own lists).
    const int linked_top = std::min(node_level, top_level);
    ctx.chosen.resize(linked_top + 1);
    for (int level = linked_top; level >= 0; --level) {
      if (level + 1 == linked_top) testing_pause(node);
      search_layer(level, distance, current, current_distance, ctx);
      const size_t keep = std::min<size_t>(params_.candidate_count(level), ctx.pool.size());
      std::partial_sort(ctx.pool.begin(), ctx.pool.begin() + keep, ctx.pool.end(), closer);
      ctx.pool.resize(keep);
      select_neighbors(node, level, ctx.pool, ctx.chosen[level], ctx);
      write_own_links(node, level, ctx.chosen[level]);
      current = ctx.pool.front().id;
      current_distance = ctx.pool.front().distance;
    }
    for (int level = linked_top; level >= 0; --level) {
      for (const Neighbor& link : ctx.chosen[level]) add_link(link.id, node, link.distance, level, ctx);
    }
    if (node_level > top_level) {
      entry_point_ = node;
      max_level_ = node_level;
    }
    finished_.fetch_add(1, std::memory_order_release);
  }

  /// Final order and flags of `node`'s level-0 list (ACORN-gamma). Entries
  /// past the first M_beta are compressed: flagged to be expanded at search time.
  /// Lists are nearest-first, so with a permissive predicate the truncated
  /// lookup would see a k-NN graph, which splits clustered data into islands;
  /// with `diversify`, the links HNSW's RNG rule keeps (at most M, chosen over
  /// the whole list) are listed first, the others follow in distance order.
  /// Only the order changes, never the set of links or their flags.
  void finalize(int32_t node, BuildContext& ctx) {
    lists_.read_with_distances(node, 0, ctx.scratch);
    std::vector<Neighbor>& encoded = ctx.pool;
    encoded = ctx.scratch;
    for (size_t i = params_.M_beta; i < encoded.size(); ++i) encoded[i].id = ~encoded[i].id;
    if (params_.diversify) {
      rng_prune(ctx.scratch, params_.M, ctx.selected, ctx);
      ctx.covered.reset(levels_.size());
      for (const Neighbor& kept : ctx.selected) ctx.covered.insert(kept.id);
      std::stable_partition(encoded.begin(), encoded.end(), [&](const Neighbor& link) {
        return ctx.covered.contains(link_id(link.id));
      });
    }
    lists_.write(node, 0, encoded);
  }

  Graph finish(size_t count) {
    Graph graph;
    graph.entry_point = entry_point_;
    graph.max_level = max_level_;
    graph.levels = levels_;
    std::vector<int32_t> list;
    graph.offsets0.assign(count + 1, 0);
    for (size_t i = 0; i < count; ++i) {
      graph.offsets0[i + 1] = graph.offsets0[i] + load_relaxed(lists_.ids(i, 0));
    }
    graph.adjacency0.resize(graph.offsets0[count]);
    for (size_t i = 0; i < count; ++i) {
      lists_.read(i, 0, list);
      std::copy(list.begin(), list.end(), graph.adjacency0.begin() + graph.offsets0[i]);
    }
    graph.upper_slot.assign(count, -1);
    std::vector<int32_t> upper_nodes;
    for (size_t i = 0; i < count; ++i) {
      if (levels_[i] > 0) {
        graph.upper_slot[i] = static_cast<int32_t>(upper_nodes.size());
        upper_nodes.push_back(static_cast<int32_t>(i));
      }
    }
    for (int level = 1; level <= std::max(max_level_, 0); ++level) {
      std::vector<uint64_t> offsets(upper_nodes.size() + 1, 0);
      std::vector<int32_t> adjacency;
      for (size_t s = 0; s < upper_nodes.size(); ++s) {
        const int32_t node = upper_nodes[s];
        if (levels_[node] >= level) {
          lists_.read(node, level, list);
          adjacency.insert(adjacency.end(), list.begin(), list.end());
        }
        offsets[s + 1] = adjacency.size();
      }
      graph.upper_offsets.push_back(std::move(offsets));
      graph.upper_adjacency.push_back(std::move(adjacency));
    }
    return graph;
  }

 private:
  /// Greedy walk on an upper level towards the inserted vector.
  void greedy_step(int level, QueryDistance& distance, int32_t& current, float& current_distance,
                   BuildContext& ctx) {
    for (bool moved = true; moved;) {
      moved = false;
      lists_.read(current, level, ctx.list);
      for (int32_t neighbor : ctx.list) {
        const float d = distance(neighbor);
        if (d < current_distance) {
          current_distance = d;
          current = neighbor;
          moved = true;
        }
      }
    }
  }

  /// Beam search (width ef_construction) on one level; every evaluated node goes to ctx.pool.
  void search_layer(int level, QueryDistance& distance, int32_t entry, float entry_distance,
                    BuildContext& ctx) {
    ctx.visited.reset(levels_.size());
    ctx.candidates.clear();
    ctx.top.reset(params_.ef_construction);
    ctx.pool.clear();
    ctx.visited.insert(entry);
    ctx.candidates.push({entry_distance, entry});
    ctx.top.push({entry_distance, entry});
    ctx.pool.push_back({entry_distance, entry});
    while (!ctx.candidates.empty()) {
      const Neighbor nearest = ctx.candidates.top();
      if (ctx.top.full() && nearest.distance > ctx.top.worst().distance) break;
      ctx.candidates.pop();
      lists_.read(nearest.id, level, ctx.list);
      for (size_t i = 0; i < ctx.list.size(); ++i) {
        if (i + 1 < ctx.list.size()) distance.prefetch(ctx.list[i + 1]);
        const int32_t neighbor = ctx.list[i];
        if (!ctx.visited.insert_new(neighbor)) continue;
        const float d = distance(neighbor);
        ctx.pool.push_back({d, neighbor});
        if (ctx.top.accepts(d)) {
          ctx.top.push({d, neighbor});
          ctx.candidates.push({d, neighbor});
        }
      }
    }
  }

  /// Choose the links of `owner` at `level` from `candidates` (sorted closest first).
  void select_neighbors(int32_t owner, int level, const std::vector<Neighbor>& candidates,
                        std::vector<Neighbor>& out, BuildContext& ctx) {
    if (params_.variant == Variant::Gamma && level == 0) {
      compress(owner, candidates, out, ctx);
    } else {
      rng_prune(candidates, lists_.capacity(level), out, ctx);
    }
  }

  /// HNSW's heuristic: keep a candidate only if it is closer to the owner than
  /// to every neighbour kept so far.
  void rng_prune(const std::vector<Neighbor>& candidates, int capacity, std::vector<Neighbor>& out,
                 BuildContext& ctx) {
    out.clear();
    for (const Neighbor& candidate : candidates) {
      if (static_cast<int>(out.size()) >= capacity) break;
      store_.decode(candidate.id, ctx.other.data());
      QueryDistance from_candidate(store_, ctx.other.data());
      bool keep = true;
      for (const Neighbor& kept : out) {
        if (from_candidate(kept.id) < candidate.distance) {
          keep = false;
          break;
        }
      }
      if (keep) out.push_back(candidate);
    }
  }

  /// ACORN's predicate-agnostic compression of a level-0 list: keep the first
  /// M_beta candidates; after that, skip a candidate already covered as a
  /// neighbour of a kept (compressed) candidate, and stop once the kept
  /// candidates and their neighbours cover M*gamma nodes.
  void compress(int32_t owner, const std::vector<Neighbor>& candidates, std::vector<Neighbor>& out,
                BuildContext& ctx) {
    out.clear();
    ctx.covered.reset(levels_.size());
    ctx.covered.insert(owner);
    const size_t target = static_cast<size_t>(params_.M) * params_.gamma;
    const size_t capacity = lists_.capacity(0);
    size_t covered = 0;
    for (size_t i = 0; i < candidates.size() && out.size() < capacity; ++i) {
      const int32_t id = candidates[i].id;
      const bool prefix = i < static_cast<size_t>(params_.M_beta);
      if (!prefix && ctx.covered.contains(id)) continue;
      out.push_back(candidates[i]);
      covered += ctx.covered.insert_new(id) ? 1 : 0;
      if (prefix) continue;
      lists_.read(id, 0, ctx.list);
      for (int32_t two_hop : ctx.list) covered += ctx.covered.insert_new(two_hop) ? 1 : 0;
      if (covered >= target) break;
    }
  }

  /// Write `node`'s chosen links at `level`. No other insertion writes there: `node` has no
  /// in-links until all its own lists are written (insert), so nothing can choose it yet.
  void write_own_links(int32_t node, int level, const std::vector<Neighbor>& links) {
    std::lock_guard<std::mutex> guard(lists_.lock(node));
    lists_.write(node, level, links);
  }

  /// Test hook (testing::pause_insertion): an armed insertion waits here, its top level linked
  /// and the levels below not yet, until as many other insertions as asked have finished.
  void testing_pause(int32_t node) {
    const testing::PauseRequest request = testing::pause_request();
    if (request.node != node) return;
    const int64_t target = finished_.load(std::memory_order_acquire) + request.inserts;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (finished_.load(std::memory_order_acquire) < target &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }

  /// Add `node` to the list of `owner` at `level`, shrinking the list if full.
  void add_link(int32_t owner, int32_t node, float node_distance, int level, BuildContext& ctx) {
    std::lock_guard<std::mutex> guard(lists_.lock(owner));
    lists_.read_with_distances(owner, level, ctx.scratch);
    const Neighbor incoming{node_distance, node};
    for (const Neighbor& existing : ctx.scratch) {
      if (existing.id == node) return;
    }
    ctx.scratch.insert(std::upper_bound(ctx.scratch.begin(), ctx.scratch.end(), incoming, closer),
                       incoming);
    const int capacity = lists_.capacity(level);
    if (static_cast<int>(ctx.scratch.size()) > capacity) {
      std::vector<Neighbor> merged = ctx.scratch;
      if (params_.variant == Variant::Gamma && level == 0) {
        compress(owner, merged, ctx.scratch, ctx);
      } else {
        rng_prune(merged, capacity, ctx.scratch, ctx);
      }
    }
    lists_.write(owner, level, ctx.scratch);
  }

  const BuildParams& params_;
  const VectorStore& store_;
  const std::vector<uint8_t>& levels_;
  BuildLists lists_;
  std::mutex global_lock_;
  std::atomic<int64_t> finished_{0};  // insertions finished (testing_pause counts them)
  int32_t entry_point_ = -1;
  int max_level_ = -1;
};

}  // namespace

void AcornIndex::build(const float* data, size_t count, int threads) {
  if (built_) throw std::runtime_error("the index is already built; create a new one");
  if (count == 0) throw std::invalid_argument("cannot build an index over 0 vectors");
  if (count >= static_cast<size_t>(INT32_MAX)) {
    throw std::invalid_argument("at most 2^31 - 1 vectors are supported");
  }
  store_.assign(data, count);
  if (params_.reference) {
    graph_ = build_reference_graph(params_, store_, reference_levels(count, params_.M, params_.seed), threads);
    built_ = true;
    return;
  }
  const std::vector<uint8_t> levels = assign_levels(count, params_.M, params_.seed);
  Builder builder(params_, store_, levels);
  const size_t dim = store_.dim();
  BuildContext first(count, dim);
  builder.insert(0, first);
  parallel_for_each(
      count - 1, threads, [&]() { return std::make_unique<BuildContext>(count, dim); },
      [&](std::unique_ptr<BuildContext>& ctx, size_t i) {
        builder.insert(static_cast<int32_t>(i + 1), *ctx);
      });
  if (params_.variant == Variant::Gamma) {
    parallel_for_each(
        count, threads, [&]() { return std::make_unique<BuildContext>(count, dim); },
        [&](std::unique_ptr<BuildContext>& ctx, size_t i) {
          builder.finalize(static_cast<int32_t>(i), *ctx);
        });
  }
  graph_ = builder.finish(count);
  built_ = true;
}

}  // namespace fanns::acorn
