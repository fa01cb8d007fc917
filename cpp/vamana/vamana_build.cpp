// Construction of FilteredVamana and StitchedVamana (see vamana_index.h).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/visited.h"
#include "graph/best_first.h"
#include "graph/prune.h"
#include "graph/search_list.h"
#include "vamana/vamana_graph.h"
#include "vamana/vamana_index.h"

namespace fanns::vamana {

const char* method_name(Variant variant) {
  return variant == Variant::Stitched ? "stitched_vamana" : "filtered_vamana";
}

// Each variant's fields onto the engine's configuration, in BuildParams' member order: variant,
// R, L, alpha, unfiltered_pass, R_small, L_small, alpha_small, R_stitched, alpha_stitched,
// max_candidates, paper_prune, seed. The other variant's fields keep the values the Python
// adapters passed before the field lists (unused by this variant's build).
BuildParams FilteredParams::engine() const {
  check_fields(*this);
  return {Variant::Filtered, R, L, alpha, unfiltered_pass, 1, 1, 1.0f, 1, 1.0f, max_candidates, paper_prune, seed};
}

BuildParams StitchedParams::engine() const {
  check_fields(*this);
  return {Variant::Stitched, 1, 1, 1.0f, false, R_small, L_small, alpha, R_stitched, alpha_stitched,
          max_candidates, paper_prune, seed};
}

FilteredParams FilteredParams::of(const BuildParams& p) {
  return {p.R, p.L, p.alpha, p.unfiltered_pass, p.max_candidates, p.paper_prune, p.seed};
}

StitchedParams StitchedParams::of(const BuildParams& p) {
  return {p.R_small, p.L_small, p.alpha_small, p.R_stitched, p.alpha_stitched, p.max_candidates, p.paper_prune, p.seed};
}

bool LabelSets::covers(size_t a, size_t b) const { return std::includes(begin(a), end(a), begin(b), end(b)); }

bool LabelSets::covers_shared(size_t a, size_t b, size_t p) const {
  for (const int32_t* x = begin(b); x != end(b); ++x) {
    if (has(p, *x) && !has(a, *x)) return false;
  }
  return true;
}

bool LabelSets::shares(size_t a, size_t b) const {
  const int32_t *p = begin(a), *pe = end(a), *q = begin(b), *qe = end(b);
  while (p != pe && q != qe) {
    if (*p == *q) return true;
    if (*p < *q) ++p;
    else ++q;
  }
  return false;
}

VamanaIndex::VamanaIndex(size_t dim, Metric metric, BuildParams params)
    : params_(params), store_(dim, metric, StorageType::Float32) {
  if (dim == 0) throw std::invalid_argument("dim must be >= 1");
}

size_t VamanaIndex::memory_bytes() const {
  return store_.memory_bytes() + labels_.memory_bytes() + offsets_.size() * sizeof(uint64_t) +
         adjacency_.size() * sizeof(int32_t) + label_starts_.size() * sizeof(int32_t);
}

/// Vamana insertion (DiskANN's link()) over a subset of the items: node i of the subgraph is
/// item members[i]. With labels, searches are label-restricted and prunes label-aware.
class Builder {
 public:
  Builder(const VectorStore& store, std::vector<int32_t> members, const LabelSets* labels, int R, int L,
          float alpha, int max_candidates, bool unfiltered_pass, bool paper_prune)
      : store_(store),
        members_(std::move(members)),
        labels_(labels),
        R_(R),
        L_(L),
        alpha_(alpha),
        max_candidates_(max_candidates),
        unfiltered_pass_(unfiltered_pass),
        paper_prune_(paper_prune),
        l2_(distance_kernels(Metric::L2).f32),
        adjacency_(members_.size()),
        locks_(members_.size()) {}

  const float* vec(int32_t node) const {
    return store_.raw_f32().data() + static_cast<size_t>(members_[node]) * store_.dim();
  }
  float distance(int32_t a, int32_t b) const { return l2_(vec(a), vec(b), store_.dim()); }

  /// The node closest to the centroid of the subgraph (ties: lowest node).
  int32_t medoid() const {
    const size_t dim = store_.dim();
    std::vector<double> sum(dim, 0.0);
    for (size_t i = 0; i < members_.size(); ++i) {
      const float* v = vec(static_cast<int32_t>(i));
      for (size_t j = 0; j < dim; ++j) sum[j] += v[j];
    }
    std::vector<float> centroid(dim);
    for (size_t j = 0; j < dim; ++j) centroid[j] = static_cast<float>(sum[j] / members_.size());
    int32_t best = 0;
    float best_distance = std::numeric_limits<float>::max();
    for (size_t i = 0; i < members_.size(); ++i) {
      const float d = l2_(centroid.data(), vec(static_cast<int32_t>(i)), dim);
      if (d < best_distance) best_distance = d, best = static_cast<int32_t>(i);
    }
    return best;
  }

  /// Insert every node in order 0..n-1 (on `threads` threads), then prune lists above R.
  /// `label_starts[t]` is the node to start label t's searches from (-1: none).
  void link(int threads, int32_t medoid, const std::vector<int32_t>& label_starts) {
    medoid_ = medoid;
    label_starts_ = &label_starts;
    const long long n = static_cast<long long>(members_.size());
    run_parallel(threads, [&](Scratch& s, long long node) { insert(s, static_cast<int32_t>(node)); }, n);
    run_parallel(
        threads,
        [&](Scratch& s, long long node) {
          if (adjacency_[node].size() > static_cast<size_t>(R_)) reprune(s, static_cast<int32_t>(node), R_, alpha_);
        },
        n);
  }

  /// Prune every list longer than `degree` with `alpha` (labels decide occlusion if given).
  void prune_all(int threads, int degree, float alpha) {
    run_parallel(
        threads,
        [&](Scratch& s, long long node) {
          if (adjacency_[node].size() > static_cast<size_t>(degree)) {
            reprune(s, static_cast<int32_t>(node), degree, alpha);
          }
        },
        static_cast<long long>(members_.size()));
  }

  std::vector<std::vector<int32_t>>& adjacency() { return adjacency_; }
  const std::vector<int32_t>& members() const { return members_; }

 private:
  struct Scratch {
    VisitedSet visited;
    graph::SearchList list;
    std::vector<Neighbor> pool;
    std::vector<int32_t> neighbors;
    std::vector<int32_t> pruned;
    std::vector<int32_t> copy;
    std::vector<float> factor;
  };

  template <class Work>
  void run_parallel(int threads, Work work, long long count) {
    if (threads < 1) threads = 1;
#pragma omp parallel num_threads(threads)
    {
      Scratch s;
#pragma omp for schedule(dynamic, 64)
      for (long long i = 0; i < count; ++i) work(s, i);
    }
  }

  bool may_occlude(int32_t node, int32_t selected, int32_t candidate) const {
    if (labels_ == nullptr) return true;
    if (paper_prune_) return labels_->covers_shared(members_[selected], members_[candidate], members_[node]);
    return labels_->covers(members_[selected], members_[candidate]);
  }

  /// Greedy search for node p's vector from `starts`, visiting nodes `admit` accepts;
  /// appends the expanded nodes to s.pool.
  template <class Admit>
  void greedy(Scratch& s, int32_t p, const std::vector<int32_t>& starts, Admit admit) {
    s.visited.reset(members_.size());
    s.list.reset(static_cast<size_t>(L_));
    for (int32_t start : starts) {
      if (start < 0 || !admit(start) || !s.visited.insert_new(start)) continue;
      s.list.insert({distance(p, start), start});
    }
    graph::search_to_fixed_point(
        s.list, s.visited,
        [&](int32_t node, auto&& visit) {
          {
            std::lock_guard<std::mutex> guard(locks_[node]);
            s.neighbors = adjacency_[node];
          }
          for (int32_t m : s.neighbors) visit(m);
        },
        [&](int32_t m) { return distance(p, m); }, admit, [&](const Neighbor& n) { s.pool.push_back(n); });
  }

  void insert(Scratch& s, int32_t p) {
    s.pool.clear();
    if (labels_ != nullptr) {
      std::vector<int32_t> starts;
      const size_t item = members_[p];
      for (const int32_t* t = labels_->begin(item); t != labels_->end(item); ++t) {
        starts.push_back((*label_starts_)[*t]);
      }
      greedy(s, p, starts, [&](int32_t m) { return labels_->shares(members_[m], item); });
    }
    if (labels_ == nullptr || unfiltered_pass_) greedy(s, p, {medoid_}, [](int32_t) { return true; });
    s.pool.erase(std::remove_if(s.pool.begin(), s.pool.end(), [p](const Neighbor& n) { return n.id == p; }),
                 s.pool.end());
    sort_unique(s.pool);
    prune(s, p, R_, alpha_);
    {
      std::lock_guard<std::mutex> guard(locks_[p]);
      adjacency_[p] = s.pruned;
    }
    const std::vector<int32_t> added = s.pruned;
    const size_t slack = static_cast<size_t>(1.3 * R_);
    for (int32_t j : added) {
      bool prune_needed = false;
      {
        std::lock_guard<std::mutex> guard(locks_[j]);
        auto& list = adjacency_[j];
        if (std::find(list.begin(), list.end(), p) != list.end()) continue;
        if (list.size() < slack) {
          list.push_back(p);
        } else {
          s.copy = list;
          s.copy.push_back(p);
          prune_needed = true;
        }
      }
      if (prune_needed) {
        pool_of(s, j, s.copy);
        prune(s, j, R_, alpha_);
        std::lock_guard<std::mutex> guard(locks_[j]);
        adjacency_[j] = s.pruned;
      }
    }
  }

  /// s.pool = the distinct entries of `ids` other than `node`, with distances to it, sorted.
  void pool_of(Scratch& s, int32_t node, const std::vector<int32_t>& ids) {
    s.pool.clear();
    for (int32_t id : ids) {
      if (id != node) s.pool.push_back({distance(node, id), id});
    }
    sort_unique(s.pool);
  }

  void reprune(Scratch& s, int32_t node, int degree, float alpha) {
    s.copy = adjacency_[node];
    pool_of(s, node, s.copy);
    prune(s, node, degree, alpha);
    adjacency_[node] = s.pruned;
  }

  void prune(Scratch& s, int32_t p, int degree, float alpha) {
    graph::robust_prune(
        s.pool, p, degree, alpha, max_candidates_, [this](int32_t a, int32_t b) { return distance(a, b); },
        [this, p](int32_t a, int32_t b) { return may_occlude(p, a, b); }, s.factor, s.pruned);
  }

  const VectorStore& store_;
  std::vector<int32_t> members_;
  const LabelSets* labels_;
  int R_, L_;
  float alpha_;
  int max_candidates_;
  bool unfiltered_pass_;
  bool paper_prune_;
  DistanceF32 l2_;
  std::vector<std::vector<int32_t>> adjacency_;
  std::vector<std::mutex> locks_;
  int32_t medoid_ = 0;
  const std::vector<int32_t>* label_starts_ = nullptr;
};

namespace {

std::vector<std::vector<int32_t>> label_members(const LabelSets& labels) {
  std::vector<std::vector<int32_t>> members(static_cast<size_t>(labels.label_count));
  for (size_t i = 0; i < labels.size(); ++i) {
    for (const int32_t* t = labels.begin(i); t != labels.end(i); ++t) members[*t].push_back(static_cast<int32_t>(i));
  }
  return members;
}

std::vector<int32_t> all_items(size_t n) {
  std::vector<int32_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int32_t>(i);
  return ids;
}

/// Per label, the least-used of 25 random items carrying it (DiskANN's load-balanced start
/// points); -1 for labels no item carries.
std::vector<int32_t> balanced_starts(const std::vector<std::vector<int32_t>>& members, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int32_t> starts(members.size(), -1);
  std::vector<uint32_t> uses;
  for (size_t t = 0; t < members.size(); ++t) {
    const auto& items = members[t];
    if (items.empty()) continue;
    uint32_t best_count = std::numeric_limits<uint32_t>::max();
    int32_t best = items[0];
    for (int c = 0; c < 25; ++c) {
      const int32_t candidate = items[rng() % items.size()];
      if (uses.size() <= static_cast<size_t>(candidate)) uses.resize(static_cast<size_t>(candidate) + 1, 0);
      if (uses[candidate] < best_count) best_count = uses[candidate], best = candidate;
    }
    starts[t] = best;
    ++uses[best];
  }
  return starts;
}

void to_csr(const std::vector<std::vector<int32_t>>& lists, std::vector<uint64_t>& offsets,
            std::vector<int32_t>& adjacency) {
  offsets.assign(lists.size() + 1, 0);
  for (size_t i = 0; i < lists.size(); ++i) offsets[i + 1] = offsets[i] + lists[i].size();
  adjacency.clear();
  adjacency.reserve(offsets.back());
  for (const auto& list : lists) adjacency.insert(adjacency.end(), list.begin(), list.end());
}

}  // namespace

void VamanaIndex::build(const float* data, size_t count, LabelSets labels, int threads) {
  if (count == 0) throw std::invalid_argument("vectors must hold at least one row");
  if (count > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    throw std::invalid_argument("at most 2^31 - 1 vectors can be indexed");
  }
  if (labels.size() != count) {
    throw std::invalid_argument("label_offsets must have one entry per vector plus one (" +
                                std::to_string(count + 1) + ")");
  }
  store_.assign(data, count);
  labels_ = std::move(labels);
  const auto members = label_members(labels_);
  const BuildParams& p = params_;
  if (p.variant == Variant::Filtered) {
    Builder builder(store_, all_items(count), &labels_, p.R, p.L, p.alpha, p.max_candidates, p.unfiltered_pass,
                    p.paper_prune);
    medoid_ = builder.medoid();
    label_starts_ = balanced_starts(members, p.seed);
    builder.link(threads, medoid_, label_starts_);
    to_csr(builder.adjacency(), offsets_, adjacency_);
  } else {
    Builder stitched(store_, all_items(count), &labels_, p.R_stitched, p.L, p.alpha_stitched, p.max_candidates,
                     false, p.paper_prune);
    medoid_ = stitched.medoid();
    auto& graph = stitched.adjacency();
    std::mt19937_64 rng(p.seed);
    label_starts_.assign(members.size(), -1);
    const std::vector<int32_t> no_starts;
    for (size_t t = 0; t < members.size(); ++t) {
      if (members[t].empty()) continue;
      Builder sub(store_, members[t], nullptr, p.R_small, p.L_small, p.alpha_small, p.max_candidates, false, false);
      sub.link(threads, sub.medoid(), no_starts);
      const auto& ids = sub.members();
      for (size_t i = 0; i < ids.size(); ++i) {
        auto& list = graph[ids[i]];
        for (int32_t local : sub.adjacency()[i]) {
          const int32_t global = ids[local];
          if (std::find(list.begin(), list.end(), global) == list.end()) list.push_back(global);
        }
      }
      label_starts_[t] = ids[rng() % ids.size()];
    }
    stitched.prune_all(threads, p.R_stitched, p.alpha_stitched);
    to_csr(graph, offsets_, adjacency_);
  }
  built_ = true;
}

}  // namespace fanns::vamana
