// iRangeGraph construction: elemental graphs of the segment tree, built bottom-up.
#include <algorithm>
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

int tree_depth(size_t n) {
  int depth = 0;
  for (size_t len = n; len > 1; len = (len + 1) / 2) ++depth;
  return depth;
}

IRangeGraphIndex::IRangeGraphIndex(size_t dim, Metric metric, StorageType storage, BuildParams params)
    : params_(params), store_(dim, metric, storage) {
  if (dim == 0) throw std::invalid_argument("dim must be >= 1");
  params_.validate();
}

namespace {

/// Entry points of one insertion: the authors take three random items of the merged part.
constexpr int kInsertEntries = 3;

/// Per-thread scratch space of the build (kept across nodes and layers).
struct BuildContext {
  VisitedSet visited;
  CandidateHeap candidates;
  ResultHeap results;
  std::vector<float> query;
  std::vector<float> other;
  std::vector<Neighbor> found;
  std::vector<Neighbor> pool;
  std::vector<uint8_t> pool_old;
  std::vector<Neighbor> kept;
  std::vector<uint8_t> kept_old;
};

/// Run fn(i) for i in [0, count): a plain loop on one thread, OpenMP otherwise.
template <class Fn>
void for_range(size_t count, int threads, Fn fn) {
  if (threads <= 1) {
    for (size_t i = 0; i < count; ++i) fn(i);
    return;
  }
  parallel_for_each(count, threads, [] { return 0; }, [&](int&, size_t i) { fn(i); });
}

}  // namespace

/// Builds the links of an IRangeGraphIndex whose vectors and order are set.
class Builder {
 public:
  Builder(IRangeGraphIndex& index, int threads) : index_(index), threads_(std::max(1, threads)) {}

  void run() {
    const size_t n = index_.store_.size();
    const int layers = index_.layers_;
    std::vector<std::vector<TreeNode>> by_depth(layers);
    std::vector<TreeNode> stack{{0, static_cast<int64_t>(n) - 1, 0}};
    while (!stack.empty()) {
      const TreeNode u = stack.back();
      stack.pop_back();
      if (u.leaf()) continue;
      by_depth[u.depth].push_back(u);
      stack.push_back({u.split(), u.hi, u.depth + 1});
      stack.push_back({u.lo, u.split() - 1, u.depth + 1});
    }
    for (int depth = layers - 1; depth >= 0; --depth) {
      auto& nodes = by_depth[depth];
      std::sort(nodes.begin(), nodes.end(), [](const TreeNode& a, const TreeNode& b) { return a.lo < b.lo; });
      if (nodes.size() >= static_cast<size_t>(4 * threads_)) {
        for_range(nodes.size(), threads_, [&](size_t i) { merge_children(nodes[i], 1); });
      } else {
        for (const TreeNode& u : nodes) merge_children(u, threads_);
      }
    }
  }

 private:
  /// Build node u's graph (layer u.depth) from its two children's graphs.
  void merge_children(const TreeNode& u, int threads) {
    const int d = u.depth;
    const int64_t mid = u.split();
    const int M = index_.params_.M;
    // The first child's graph is the start of u's graph.
    for (int64_t p = u.lo; p < mid; ++p) {
      std::copy_n(index_.slot(p, d + 1), M + 1, index_.slot(p, d));
    }
    // Insert every item of the second child into the graph of the items before it.
    const size_t inserted = static_cast<size_t>(u.hi - mid + 1);
    std::vector<float> link_distances(inserted * M);
    for_range(inserted, threads, [&](size_t i) {
      insert(mid + static_cast<int64_t>(i), u.lo, mid, d, link_distances.data() + i * M);
    });
    // Reverse links from the inserted items, then prune the earlier items' lists with them.
    const size_t earlier = static_cast<size_t>(mid - u.lo);
    std::vector<std::vector<Neighbor>> reverse(earlier);
    for (size_t i = 0; i < inserted; ++i) {
      const int32_t* slot = index_.slot(mid + static_cast<int64_t>(i), d);
      for (int32_t j = 0; j < slot[0]; ++j) {
        const int32_t target = slot[1 + j];
        if (target < mid) {
          reverse[target - u.lo].push_back({link_distances[i * M + j], static_cast<int32_t>(mid + i)});
        }
      }
    }
    for_range(earlier, threads, [&](size_t i) {
      if (!reverse[i].empty()) add_reverse_links(u.lo + static_cast<int64_t>(i), d, reverse[i]);
    });
  }

  const float* vector_of(int64_t pos, std::vector<float>& buffer) const {
    const VectorStore& store = index_.store_;
    if (store.type() == StorageType::Float32) return store.raw_f32().data() + pos * store.dim();
    buffer.resize(store.dim());
    store.decode(static_cast<size_t>(pos), buffer.data());
    return buffer.data();
  }

  /// Links of item `pos` at layer d: nearest items among [lo, mid) found by a beam search on
  /// the partly built graph, pruned together with its links at layer d + 1.
  void insert(int64_t pos, int64_t lo, int64_t mid, int d, float* distances_out) {
    BuildContext& ctx = thread_scratch<BuildContext>();
    const float* query = vector_of(pos, ctx.query);
    QueryDistance distance(index_.store_, query);
    SplitMix64 rng(mix_seed(index_.params_.seed, static_cast<uint64_t>(pos), static_cast<uint64_t>(d)));
    int32_t entries[kInsertEntries];
    for (int e = 0; e < kInsertEntries; ++e) entries[e] = static_cast<int32_t>(lo + rng.below(mid - lo));
    beam_search(ctx, distance, entries, kInsertEntries, d, index_.params_.ef_construction);

    ctx.pool.clear();
    ctx.pool_old.clear();
    const int32_t* below = index_.slot(pos, d + 1);
    for (int32_t j = 0; j < below[0]; ++j) {
      ctx.pool.push_back({distance(below[1 + j]), below[1 + j]});
      ctx.pool_old.push_back(1);
    }
    for (const Neighbor& nb : ctx.found) {
      ctx.pool.push_back(nb);
      ctx.pool_old.push_back(0);
    }
    prune(ctx);
    write(pos, d, ctx.kept, distances_out);
  }

  /// Prune item `pos`'s list at layer d together with reverse links `extra`.
  void add_reverse_links(int64_t pos, int d, const std::vector<Neighbor>& extra) {
    BuildContext& ctx = thread_scratch<BuildContext>();
    const float* query = vector_of(pos, ctx.query);
    QueryDistance distance(index_.store_, query);
    ctx.pool.clear();
    ctx.pool_old.clear();
    const int32_t* current = index_.slot(pos, d);
    for (int32_t j = 0; j < current[0]; ++j) {
      ctx.pool.push_back({distance(current[1 + j]), current[1 + j]});
      ctx.pool_old.push_back(1);
    }
    for (const Neighbor& nb : extra) {
      ctx.pool.push_back(nb);
      ctx.pool_old.push_back(0);
    }
    prune(ctx);
    write(pos, d, ctx.kept, nullptr);
  }

  void write(int64_t pos, int d, const std::vector<Neighbor>& kept, float* distances_out) {
    int32_t* slot = index_.slot(pos, d);
    slot[0] = static_cast<int32_t>(kept.size());
    for (size_t j = 0; j < kept.size(); ++j) {
      slot[1 + j] = kept[j].id;
      if (distances_out) distances_out[j] = kept[j].distance;
    }
  }

  /// Best-first search of layer d's links from `entries`; ctx.found gets the ef closest.
  void beam_search(BuildContext& ctx, QueryDistance& distance, const int32_t* entries, int count, int d,
                   int ef) {
    const auto& sorted = graph::search_layer_from(
        entries, static_cast<size_t>(count), index_.store_.size(), static_cast<size_t>(ef), ctx.candidates,
        ctx.results, ctx.visited, [&](int32_t node, auto&& visit) { graph::for_each_slot_link(index_.slot(node, d), visit); },
        distance);
    ctx.found.assign(sorted.begin(), sorted.end());
  }

  /// The authors' heuristic: closest first, a candidate is dropped when a kept one is closer
  /// to it than it is to the item, except that two links of the child layer (already pruned
  /// against each other) are not compared. Fills ctx.kept (closest first).
  void prune(BuildContext& ctx) {
    const size_t M = static_cast<size_t>(index_.params_.M);
    std::vector<size_t> order(ctx.pool.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return closer(ctx.pool[a], ctx.pool[b]); });
    ctx.kept.clear();
    ctx.kept_old.clear();
    if (order.size() <= M) {
      for (size_t i : order) ctx.kept.push_back(ctx.pool[i]);
      return;
    }
    for (size_t i : order) {
      if (ctx.kept.size() >= M) break;
      const Neighbor& candidate = ctx.pool[i];
      const bool old = ctx.pool_old[i] != 0;
      QueryDistance from_candidate(index_.store_, vector_of(candidate.id, ctx.other));
      bool good = true;
      for (size_t j = 0; j < ctx.kept.size(); ++j) {
        if (old && ctx.kept_old[j]) continue;
        if (from_candidate(ctx.kept[j].id) < candidate.distance) {
          good = false;
          break;
        }
      }
      if (good) {
        ctx.kept.push_back(candidate);
        ctx.kept_old.push_back(old ? 1 : 0);
      }
    }
  }

  IRangeGraphIndex& index_;
  int threads_;
};

void IRangeGraphIndex::build(const float* data, size_t rows, const int64_t* order, size_t count, int threads) {
  if (built_) throw std::runtime_error("the index is already built");
  order_ = store_in_attribute_order(data, rows, order, count, store_);
  layers_ = tree_depth(count) + 1;
  links_.assign(count * layers_ * stride(), 0);
  Builder(*this, threads).run();
  built_ = true;
}

}  // namespace fanns::irangegraph
