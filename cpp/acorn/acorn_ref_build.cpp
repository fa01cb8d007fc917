// ACORN construction as the authors' code does it (TAG-Research/ACORN,
// faiss/impl/ACORN.cpp and faiss/IndexACORN.cpp), written on the shared core.
//
// What makes it the reference's, and differs from acorn_build.cpp:
//  * fixed slots: M_beta + 1.5 M on level 0, M * gamma on every upper level;
//  * the reference's generators (faiss::RandomGenerator, std::mt19937): levels from
//    one seeded with the build seed (ACORN::random_level), the insertion order from
//    one seeded with 789 whatever the seed; so a build seeded like the authors'
//    program (its acorn.rng) is their graph, up to float rounding of distances;
//  * nodes are inserted from the highest level down, shuffled within a level;
//  * a new node's candidates come from a beam of width ef_construction = M * gamma
//    that looks at no more than about M/2 new neighbours per expanded node and,
//    for gamma > 1, has no distance stop on level 0 (it runs until its queue is
//    empty; on upper levels it stops once it holds M * gamma candidates);
//  * level 0 is compressed with the slot count as the limit, both for the list and
//    for the set of covered nodes (not M * gamma coverage);
//  * lists are kept in faiss-HNSW order: a node lists its own links farthest first,
//    back-links are appended, and a full list is rewritten farthest first;
//  * the reference's storage (FlatLists): one array, per node its levels' fixed slots
//    one after the other, a list ending at its first -1; a list above a node's top
//    level is read (and written) in the next nodes' slots, as the reference does;
//  * a full upper-level list that receives a back-link is not pruned: the reference
//    writes all M*gamma + 1 entries farthest first from the list's start, so the
//    nearest lands one slot past the list: in the first slot of the node's next level,
//    or of the next node's level-0 list (`write_past_list`, default true, as theirs;
//    false: that entry is lost). `drop_nearest_upper` false keeps the nearest M*gamma.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <queue>
#include <random>
#include <vector>

#include "acorn/acorn_index.h"
#include "core/heaps.h"
#include "core/parallel.h"
#include "core/visited.h"

namespace fanns::acorn {
namespace {

template <class T>
T load_relaxed(const T* p) {
  return __atomic_load_n(p, __ATOMIC_RELAXED);
}
template <class T>
void store_relaxed(T* p, T v) {
  __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/// The reference's neighbour storage (faiss ACORN's `neighbors`, `offsets` and
/// `cum_nneighbor_per_level`): one array holding, node after node, the fixed slots of each
/// of its levels; a list ends at its first -1. The slots of (node, level) are
/// offsets[node] + cum(level) .. + cum(level + 1) whatever the node's top level, so a list
/// above a node's top level is a window into the next nodes' slots (as in the reference).
/// Slots past the array read as -1 and writes there are dropped (the reference reads and
/// writes past its vector there). Written under the owner's lock, read without locks
/// through relaxed atomics.
class FlatLists {
 public:
  FlatLists(const std::vector<uint8_t>& levels, const BuildParams& params)
      : layout_(params), offsets_(reference_node_offsets(levels, params)), locks_(levels.size()) {
    links_.assign(offsets_.back(), -1);
  }

  int slots(int level) const { return static_cast<int>(layout_.slots(level)); }
  std::mutex& lock(int32_t node) { return locks_[node]; }
  size_t begin(int32_t node, int level) const { return offsets_[node] + layout_.start(level); }
  size_t end(int32_t node, int level) const { return begin(node, level) + slots(level); }
  int32_t get(size_t at) const { return at < links_.size() ? load_relaxed(links_.data() + at) : -1; }
  void set(size_t at, int32_t id) {
    if (at < links_.size()) store_relaxed(links_.data() + at, id);
  }

  /// The list of (node, level) as the reference reads it: up to its first -1.
  void read(int32_t node, int level, std::vector<int32_t>& out) const {
    out.clear();
    for (size_t at = begin(node, level), stop = end(node, level); at < stop; ++at) {
      const int32_t id = get(at);
      if (id < 0) break;
      out.push_back(id);
    }
  }

  const std::vector<uint64_t>& offsets() const { return offsets_; }

 private:
  ReferenceLayout layout_;
  std::vector<uint64_t> offsets_;
  std::vector<std::mutex> locks_;
  std::vector<int32_t> links_;
};

struct RefContext {
  RefContext(size_t n, size_t dim) : visited(n), covered(n), query(dim), other(dim) {}
  VisitedSet visited;
  VisitedSet covered;
  std::vector<float> query;
  std::vector<float> other;
  std::vector<int32_t> list;
  std::vector<Neighbor> candidates;  // sorted nearest first
  std::vector<Neighbor> kept;
  std::vector<int32_t> ids;
};

class RefBuilder {
 public:
  RefBuilder(const BuildParams& params, const VectorStore& store, const std::vector<uint8_t>& levels)
      : params_(params),
        store_(store),
        levels_(levels),
        lists_(levels, params),
        ef_construction_(params.M * params.gamma) {}

  void set_entry(int32_t node) {
    entry_point_ = node;
    max_level_ = levels_[node];
  }

  void insert(int32_t node, RefContext& ctx) {
    const int node_level = levels_[node];
    store_.decode(node, ctx.query.data());
    QueryDistance distance(store_, ctx.query.data());
    int32_t nearest = entry_point_;
    float nearest_distance = distance(nearest);
    int level = max_level_;
    for (; level > node_level; --level) greedy_step(level, distance, nearest, nearest_distance, ctx);
    std::unique_lock<std::mutex> own(lists_.lock(node));
    for (; level >= 0; --level) {
      // Every level starts from the node the upper-level walk reached (as in faiss).
      candidates(level, distance, nearest, nearest_distance, ctx);
      if (level == 0) {
        compress(ctx.candidates, ctx.kept, ctx);
      } else {
        ctx.kept = ctx.candidates;
      }
      // Own links, farthest first, added like back-links (appended, or the list
      // rebuilt when full): back-links other insertions added meanwhile are kept.
      std::vector<int32_t> targets;
      for (auto it = ctx.kept.rbegin(); it != ctx.kept.rend(); ++it) targets.push_back(it->id);
      for (int32_t other : targets) add_link_locked(node, other, level, ctx);
      own.unlock();
      for (int32_t other : targets) {
        std::lock_guard<std::mutex> guard(lists_.lock(other));
        add_link_locked(other, node, level, ctx);
      }
      own.lock();
    }
  }

  Graph finish(size_t count) {
    Graph graph;
    graph.entry_point = entry_point_;
    graph.max_level = max_level_;
    graph.levels = levels_;
    graph.reference_offsets = lists_.offsets();
    std::vector<int32_t> list;
    graph.offsets0.assign(count + 1, 0);
    for (size_t i = 0; i < count; ++i) {
      lists_.read(i, 0, list);
      graph.adjacency0.insert(graph.adjacency0.end(), list.begin(), list.end());
      graph.offsets0[i + 1] = graph.adjacency0.size();
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
        if (levels_[upper_nodes[s]] >= level) {
          lists_.read(upper_nodes[s], level, list);
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
  /// faiss's greedy walk on an upper level over the first M entries of each list.
  void greedy_step(int level, QueryDistance& distance, int32_t& nearest, float& nearest_distance,
                   RefContext& ctx) {
    for (;;) {
      const int32_t previous = nearest;
      lists_.read(nearest, level, ctx.list);
      const size_t count = std::min<size_t>(ctx.list.size(), params_.M);
      for (size_t i = 0; i < count; ++i) {
        const float d = distance(ctx.list[i]);
        if (d < nearest_distance) {
          nearest = ctx.list[i];
          nearest_distance = d;
        }
      }
      if (nearest == previous) return;
    }
  }

  /// The reference's candidate search (search_neighbors_to_add): result set of
  /// ef_construction, at most ~M/2 new neighbours scored per expanded node (its
  /// iteration counter steps twice per scored neighbour, and the neighbour that
  /// trips it is marked visited unscored). Leaves ctx.candidates sorted nearest first.
  void candidates(int level, QueryDistance& distance, int32_t entry, float entry_distance,
                  RefContext& ctx) {
    const size_t target = level == 0 ? 2 * static_cast<size_t>(params_.M) * params_.gamma
                                     : static_cast<size_t>(lists_.slots(level));
    const bool greedy_stop = params_.gamma == 1;
    std::priority_queue<Neighbor, std::vector<Neighbor>, decltype(&closer)> results(&closer);
    std::priority_queue<Neighbor, std::vector<Neighbor>, decltype(&farther)> queue(&farther);
    ctx.visited.reset(levels_.size());
    queue.push({entry_distance, entry});
    results.push({entry_distance, entry});
    ctx.visited.insert(entry);
    while (!queue.empty()) {
      const Neighbor current = queue.top();
      if ((greedy_stop && current.distance > results.top().distance) || results.size() >= target) break;
      queue.pop();
      lists_.read(current.id, level, ctx.list);
      int steps = 0;
      for (int32_t neighbor : ctx.list) {
        if (!ctx.visited.insert_new(neighbor)) continue;
        if (++steps > params_.M) break;
        const float d = distance(neighbor);
        if (results.size() < ef_construction_ || results.top().distance > d) {
          results.push({d, neighbor});
          queue.push({d, neighbor});
          if (results.size() > ef_construction_) results.pop();
        }
        if (++steps > params_.M) break;
      }
    }
    ctx.candidates.clear();
    while (!results.empty()) {
      ctx.candidates.push_back(results.top());
      results.pop();
    }
    std::reverse(ctx.candidates.begin(), ctx.candidates.end());
  }

  static bool farther(const Neighbor& a, const Neighbor& b) { return closer(b, a); }

  /// The reference's level-0 compression (ACORN::shrink_neighbor_list) over
  /// `input` (nearest first): the first M_beta candidates are kept; a later one
  /// is skipped if a kept candidate covers it; a kept later candidate covers its
  /// own level-0 list. Stops when `slots` are kept or cover that many nodes.
  void compress(const std::vector<Neighbor>& input, std::vector<Neighbor>& out, RefContext& ctx) {
    const size_t slots = static_cast<size_t>(lists_.slots(0));
    out.clear();
    ctx.covered.reset(levels_.size());
    size_t covered = 0;
    int position = 0;
    for (const Neighbor& candidate : input) {
      ++position;
      const bool compressed = position > params_.M_beta;
      if (compressed && ctx.covered.contains(candidate.id)) continue;
      out.push_back(candidate);
      if (out.size() >= slots) return;
      covered += ctx.covered.insert_new(candidate.id) ? 1 : 0;
      if (compressed) {
        lists_.read(candidate.id, 0, ctx.list);
        for (int32_t two_hop : ctx.list) covered += ctx.covered.insert_new(two_hop) ? 1 : 0;
      }
      if (covered >= slots) return;
    }
  }

  /// The reference's add_link on (owner, level): if the list's last slot is free, `node`
  /// goes after its last entry; otherwise the list is rebuilt from its slots and `node`
  /// (distances recomputed) and written farthest first from its first slot. On level 0
  /// the rebuilt list is compressed; on an upper level it keeps all slots + 1 entries, so
  /// the nearest lands one slot past the list (`write_past_list`) or is lost; with
  /// `drop_nearest_upper` false the farthest is dropped instead. The caller holds the
  /// owner's lock.
  void add_link_locked(int32_t owner, int32_t node, int level, RefContext& ctx) {
    const size_t begin = lists_.begin(owner, level);
    const size_t end = lists_.end(owner, level);
    if (lists_.get(end - 1) == -1) {
      size_t at = end;
      while (at > begin && lists_.get(at - 1) == -1) --at;
      lists_.set(at, node);
      return;
    }
    store_.decode(owner, ctx.other.data());
    QueryDistance from_owner(store_, ctx.other.data());
    std::vector<Neighbor>& all = ctx.candidates;
    all.clear();
    all.push_back({from_owner(node), node});
    for (size_t at = begin; at < end; ++at) {
      // A -1 inside a full list happens only in a window above a node's top level; the
      // reference scores it (reading before its vectors), we skip it.
      const int32_t id = lists_.get(at);
      if (id >= 0) all.push_back({from_owner(id), id});
    }
    std::stable_sort(all.begin(), all.end(), closer);
    ctx.ids.clear();
    if (level == 0) {
      compress(all, ctx.kept, ctx);
      for (auto it = ctx.kept.rbegin(); it != ctx.kept.rend(); ++it) ctx.ids.push_back(it->id);
    } else {
      const size_t slots = static_cast<size_t>(lists_.slots(level));
      const size_t drop_farthest = params_.drop_nearest_upper || all.size() <= slots ? 0 : all.size() - slots;
      for (auto it = all.rbegin() + drop_farthest; it != all.rend(); ++it) ctx.ids.push_back(it->id);
    }
    size_t at = begin;
    for (int32_t id : ctx.ids) {
      if (at == end && !params_.write_past_list) break;
      lists_.set(at++, id);
    }
    for (; at < end; ++at) lists_.set(at, -1);
  }

  const BuildParams& params_;
  const VectorStore& store_;
  const std::vector<uint8_t>& levels_;
  FlatLists lists_;
  const size_t ef_construction_;
  int32_t entry_point_ = -1;
  int max_level_ = -1;
};

/// Insertion order of the reference (acorn_add_vertices): nodes bucketed by level
/// (ids ascending), buckets taken from the highest level down, each shuffled in
/// place with faiss::RandomGenerator(789) (std::mt19937; rand_int(m) = mt() % m),
/// one generator for all levels, one draw per slot including the last.
std::vector<std::vector<int32_t>> insertion_batches(const std::vector<uint8_t>& levels) {
  int top = 0;
  for (uint8_t l : levels) top = std::max<int>(top, l);
  std::vector<std::vector<int32_t>> batches(top + 1);
  for (size_t i = 0; i < levels.size(); ++i) batches[top - levels[i]].push_back(static_cast<int32_t>(i));
  std::mt19937 order_rng(789);
  for (auto& batch : batches) {
    const size_t size = batch.size();
    for (size_t j = 0; j < size; ++j) {
      const size_t r = static_cast<size_t>(order_rng() % static_cast<uint32_t>(size - j));
      std::swap(batch[j], batch[j + r]);
    }
  }
  return batches;
}

}  // namespace

std::vector<uint64_t> reference_node_offsets(const std::vector<uint8_t>& levels, const BuildParams& params) {
  const ReferenceLayout layout(params);
  std::vector<uint64_t> offsets(levels.size() + 1, 0);
  for (size_t i = 0; i < levels.size(); ++i) offsets[i + 1] = offsets[i] + layout.start(levels[i] + 1);
  return offsets;
}

std::vector<uint8_t> reference_levels(size_t count, int M, uint64_t seed) {
  // ACORN::set_default_probas in its own types: levelMult is a float, and so is
  // each level's probability (exp of a float), stored in a vector<double>.
  const float level_mult = static_cast<float>(1.0 / std::log(static_cast<double>(M)));
  std::vector<double> probas;
  for (int level = 0;; ++level) {
    const float proba = std::exp(-level / level_mult) * (1 - std::exp(-1 / level_mult));
    if (proba < 1e-9) break;
    probas.push_back(proba);
  }
  std::mt19937 rng(static_cast<unsigned int>(seed));  // faiss::RandomGenerator(seed)
  std::vector<uint8_t> levels(count);
  for (auto& level : levels) {
    double f = static_cast<float>(rng()) / static_cast<float>(std::mt19937::max());  // rand_float
    int chosen = static_cast<int>(probas.size()) - 1;  // exponentially unlikely fall-through
    for (size_t l = 0; l < probas.size(); ++l) {
      if (f < probas[l]) {
        chosen = static_cast<int>(l);
        break;
      }
      f -= probas[l];
    }
    level = static_cast<uint8_t>(chosen);
  }
  return levels;
}

Graph build_reference_graph(const BuildParams& params, const VectorStore& store,
                            const std::vector<uint8_t>& levels, int threads) {
  const size_t n = store.size();
  const size_t dim = store.dim();
  RefBuilder builder(params, store, levels);
  const std::vector<std::vector<int32_t>> batches = insertion_batches(levels);
  bool first = true;
  for (const std::vector<int32_t>& batch : batches) {
    size_t start = 0;
    if (first && !batch.empty()) {
      builder.set_entry(batch[0]);  // the first node inserted becomes the entry point
      start = 1;
      first = false;
    }
    if (batch.size() <= start) continue;
    // Small batches (upper levels) run on one thread, as in the reference.
    const int batch_threads = batch.size() - start > 100 ? threads : 1;
    parallel_for_each(
        batch.size() - start, batch_threads, [&]() { return std::make_unique<RefContext>(n, dim); },
        [&](std::unique_ptr<RefContext>& ctx, size_t i) { builder.insert(batch[start + i], *ctx); });
  }
  return builder.finish(n);
}

}  // namespace fanns::acorn
