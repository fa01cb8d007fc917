// DIGRA construction: one proximity graph per tree node above the leaves.
#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/heaps.h"
#include "core/parallel.h"
#include "core/range_search.h"
#include "core/seeded_random.h"
#include "core/visited.h"
#include "graph/best_first.h"
#include "digra/digra_index.h"

namespace fanns::digra {

DigraIndex::DigraIndex(size_t dim, Metric metric, StorageType storage, BuildParams params)
    : params_(params), store_(dim, metric, storage) {
  if (dim == 0) throw std::invalid_argument("dim must be >= 1");
  params_.validate();
}

int64_t DigraIndex::node_size(int level) const {
  int64_t size = params_.leaf_size;
  for (int j = graph_levels_; j > level; --j) size *= params_.fanout;
  return size;
}

void DigraIndex::layout() {
  const int64_t n = static_cast<int64_t>(store_.size());
  graph_levels_ = 0;
  for (int64_t size = params_.leaf_size; size < n; size *= params_.fanout) ++graph_levels_;
  entry_offsets_.assign(graph_levels_ + 1, 0);
  for (int j = 0; j < graph_levels_; ++j) {
    const int64_t S = node_size(j);
    entry_offsets_[j + 1] = entry_offsets_[j] + static_cast<size_t>((n + S - 1) / S);
  }
}

namespace {

struct BuildContext {
  VisitedSet visited;
  CandidateHeap candidates;
  ResultHeap results;
  std::vector<float> query;
  std::vector<float> other;
  std::vector<Neighbor> found;
  std::vector<Neighbor> kept;
};

}  // namespace

class DigraBuilder {
 public:
  DigraBuilder(DigraIndex& index, int threads) : index_(index), threads_(std::max(1, threads)) {}

  void run() {
    struct Job {
      int level;
      int64_t node;
    };
    std::vector<Job> jobs;
    const int64_t n = static_cast<int64_t>(index_.size());
    for (int j = 0; j < index_.graph_levels_; ++j) {
      const int64_t S = index_.node_size(j);
      for (int64_t i = 0; i * S < n; ++i) jobs.push_back({j, i});
    }
    // Nodes are independent; the big ones first keeps the threads busy.
    parallel_for_each(jobs.size(), threads_, [] { return 0; },
                      [&](int&, size_t i) { build_node(jobs[i].level, jobs[i].node); });
  }

 private:
  const float* vector_of(int64_t pos, std::vector<float>& buffer) const {
    const VectorStore& store = index_.store_;
    if (store.type() == StorageType::Float32) return store.raw_f32().data() + pos * store.dim();
    buffer.resize(store.dim());
    store.decode(static_cast<size_t>(pos), buffer.data());
    return buffer.data();
  }

  void build_node(int level, int64_t node) {
    BuildContext& ctx = thread_scratch<BuildContext>();
    const int64_t S = index_.node_size(level);
    const int64_t lo = node * S;
    const int64_t hi = std::min<int64_t>(lo + S, static_cast<int64_t>(index_.size()));
    std::vector<int32_t> order(static_cast<size_t>(hi - lo));
    std::iota(order.begin(), order.end(), static_cast<int32_t>(lo));
    SplitMix64 rng(mix_seed(index_.params_.seed, static_cast<uint64_t>(level), static_cast<uint64_t>(node)));
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(static_cast<int64_t>(i))]);
    const int32_t entry = order[0];
    index_.entries_[index_.entry_offsets_[level] + node] = entry;
    for (size_t i = 1; i < order.size(); ++i) insert(ctx, level, entry, order[i]);
  }

  void insert(BuildContext& ctx, int level, int32_t entry, int32_t pos) {
    const float* query = vector_of(pos, ctx.query);
    QueryDistance distance(index_.store_, query);
    const auto& sorted = graph::search_layer_from(
        &entry, 1, index_.size(), static_cast<size_t>(index_.params_.ef_construction), ctx.candidates, ctx.results,
        ctx.visited, [&](int32_t node, auto&& visit) { graph::for_each_slot_link(index_.slot(level, node), visit); },
        distance);
    ctx.found.assign(sorted.begin(), sorted.end());
    prune(ctx, ctx.found);
    write(level, pos, ctx.kept);
    const std::vector<Neighbor> links = ctx.kept;
    for (const Neighbor& link : links) add_link(ctx, level, link.id, {link.distance, pos});
  }

  /// Give `target` a link to `from`; a full list is pruned again with the heuristic.
  void add_link(BuildContext& ctx, int level, int32_t target, Neighbor from) {
    int32_t* slot = index_.slot(level, target);
    if (slot[0] < index_.params_.M) {
      slot[1 + slot[0]] = from.id;
      ++slot[0];
      return;
    }
    QueryDistance distance(index_.store_, vector_of(target, ctx.query));
    ctx.found.clear();
    for (int32_t j = 0; j < slot[0]; ++j) ctx.found.push_back({distance(slot[1 + j]), slot[1 + j]});
    ctx.found.push_back(from);
    std::sort(ctx.found.begin(), ctx.found.end(), closer);
    prune(ctx, ctx.found);
    write(level, target, ctx.kept);
  }

  /// HNSW's heuristic on `sorted` (closest first): keep a candidate unless a kept one is closer
  /// to it than it is to the item. Fills ctx.kept.
  void prune(BuildContext& ctx, const std::vector<Neighbor>& sorted) {
    const size_t M = static_cast<size_t>(index_.params_.M);
    ctx.kept.clear();
    for (const Neighbor& candidate : sorted) {
      if (ctx.kept.size() >= M) break;
      QueryDistance from_candidate(index_.store_, vector_of(candidate.id, ctx.other));
      bool good = true;
      for (const Neighbor& kept : ctx.kept) {
        if (from_candidate(kept.id) < candidate.distance) {
          good = false;
          break;
        }
      }
      if (good) ctx.kept.push_back(candidate);
    }
  }

  void write(int level, int32_t pos, const std::vector<Neighbor>& kept) {
    int32_t* slot = index_.slot(level, pos);
    slot[0] = static_cast<int32_t>(kept.size());
    for (size_t j = 0; j < kept.size(); ++j) slot[1 + j] = kept[j].id;
  }

  DigraIndex& index_;
  int threads_;
};

void DigraIndex::build(const float* data, size_t rows, const int64_t* order, size_t count, int threads) {
  if (built_) throw std::runtime_error("the index is already built");
  order_ = store_in_attribute_order(data, rows, order, count, store_);
  layout();
  links_.assign(static_cast<size_t>(graph_levels_) * count * stride(), 0);
  entries_.assign(entry_offsets_.back(), 0);
  DigraBuilder(*this, threads).run();
  built_ = true;
}

}  // namespace fanns::digra
