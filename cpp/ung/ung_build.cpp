// UNG construction: label-set groups, a Vamana graph per group, the label navigating graph
// and the cross-group edges (Cai et al., SIGMOD 2025, Sections 4-5).
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <iterator>
#include <utility>
#include <vector>

#include "core/parallel.h"
#include "core/visited.h"
#include "graph/best_first.h"
#include "graph/prune.h"
#include "graph/search_list.h"
#include "ung/ung_index.h"

namespace fanns::ung {

Scenario parse_scenario(const std::string& name) {
  if (name == "general") return Scenario::General;
  if (name == "equality") return Scenario::Equality;
  throw std::invalid_argument("scenario must be 'general' or 'equality', got '" + name + "'");
}

const char* scenario_name(Scenario scenario) {
  return scenario == Scenario::Equality ? "equality" : "general";
}

QueryMode parse_mode(const std::string& name) {
  if (name == "containment") return QueryMode::Containment;
  if (name == "equality") return QueryMode::Equality;
  throw std::invalid_argument("mode must be 'containment' or 'equality', got '" + name + "'");
}

EntryPoints parse_entry_points(const std::string& name) {
  if (name == "first") return EntryPoints::First;
  if (name == "drawn") return EntryPoints::Drawn;
  throw std::invalid_argument("entry_points must be 'first' or 'drawn', got '" + name + "'");
}

void BuildParams::validate() const {
  check_fields(*this);
  if (num_cross_edges > L_build) {
    throw std::invalid_argument("num_cross_edges must be <= L_build (cross edges come from one "
                                "search of width L_build)");
  }
  if (max_candidates < 1) throw std::invalid_argument("max_candidates must be >= 1");
}

UngIndex::UngIndex(size_t dim, Metric metric, BuildParams params)
    : params_(params), store_(dim, metric, StorageType::Float32) {
  if (dim == 0) throw std::invalid_argument("dim must be >= 1");
  params_.validate();
}

namespace {

using Adjacency = std::vector<std::vector<int32_t>>;

/// Squared L2 between stored vectors: the geometry of the graph, whatever the search metric.
struct BuildDistance {
  const float* base;
  size_t dim;
  DistanceF32 l2;
  float between(int32_t a, int32_t b) const { return l2(base + a * dim, base + b * dim, dim); }
  float to(const float* query, int32_t b) const { return l2(query, base + b * dim, dim); }
  const float* vector(int32_t a) const { return base + a * dim; }
};

struct Scratch {
  VisitedSet visited;
  graph::SearchList queue;
  std::vector<Neighbor> expanded;
  std::vector<float> occlude;
};

/// Best-first search from `entry` until the L closest found are all expanded; with `record`,
/// the expanded nodes other than `target` are kept in scratch.expanded (Vamana's candidates).
void beam_search(const BuildDistance& dist, const Adjacency& adj, const float* query,
                 int32_t entry, size_t L, size_t n, Scratch& s, bool record, int32_t target) {
  s.visited.reset(n);
  s.queue.reset(L);
  s.expanded.clear();
  s.visited.insert(entry);
  s.queue.insert({dist.to(query, entry), entry});
  graph::search_to_fixed_point(
      s.queue, s.visited,
      [&](int32_t node, auto&& visit) {
        for (int32_t next : adj[node]) visit(next);
      },
      [&](int32_t next) { return dist.to(query, next); }, graph::AdmitAll(),
      [&](const Neighbor& cur) {
        if (record && cur.id != target) s.expanded.push_back(cur);
      });
}

/// Vamana's robust prune with alpha raised from 1 by x1.2 steps (as in the authors' code).
void prune(const BuildDistance& dist, const BuildParams& p, int32_t id,
           std::vector<Neighbor>& candidates, std::vector<int32_t>& out, Scratch& s) {
  std::sort(candidates.begin(), candidates.end(), closer);
  graph::robust_prune(
      candidates, id, p.max_degree, p.alpha, p.max_candidates,
      [&](int32_t candidate, int32_t selected) { return dist.between(selected, candidate); },
      [](int32_t, int32_t) { return true; }, s.occlude, out);
}

/// Add the reverse edges dst -> src; a list over 1.3 R is pruned back.
void insert_reverse(const BuildDistance& dist, const BuildParams& p, Adjacency& adj, int32_t src,
                    const std::vector<int32_t>& targets, Scratch& s) {
  const size_t slack = static_cast<size_t>(1.3 * p.max_degree);
  std::vector<Neighbor> candidates;
  std::vector<int32_t> pruned;
  for (int32_t dst : targets) {
    auto& list = adj[dst];
    if (std::find(list.begin(), list.end(), src) != list.end()) continue;
    if (list.size() < slack) {
      list.push_back(src);
      continue;
    }
    candidates.clear();
    for (int32_t other : list) candidates.push_back({dist.between(dst, other), other});
    candidates.push_back({dist.between(dst, src), src});
    prune(dist, p, dst, candidates, pruned, s);
    list = pruned;
  }
}

/// Build the Vamana graph of the items [start, end) (one pass in id order, from an empty
/// graph, as the authors' code does); returns its entry point (the medoid).
int32_t build_group(const BuildDistance& dist, const BuildParams& p, Adjacency& adj, int32_t start,
                    int32_t end, size_t n, Scratch& s) {
  const int32_t size = end - start;
  if (size <= p.max_degree) {  // small group: complete graph, entry = its first item
    for (int32_t i = start; i < end; ++i) {
      for (int32_t j = start; j < end; ++j) {
        if (i != j) adj[i].push_back(j);
      }
    }
    return start;
  }
  std::vector<double> sum(dist.dim, 0.0);
  for (int32_t i = start; i < end; ++i) {
    const float* v = dist.vector(i);
    for (size_t d = 0; d < dist.dim; ++d) sum[d] += v[d];
  }
  std::vector<float> center(dist.dim);
  for (size_t d = 0; d < dist.dim; ++d) center[d] = static_cast<float>(sum[d] / size);
  int32_t medoid = start;
  float best = std::numeric_limits<float>::max();
  for (int32_t i = start; i < end; ++i) {
    const float d = dist.to(center.data(), i);
    if (d < best) best = d, medoid = i;
  }
  std::vector<int32_t> pruned;
  for (int32_t id = start; id < end; ++id) {
    beam_search(dist, adj, dist.vector(id), medoid, static_cast<size_t>(p.L_build), n, s, true, id);
    prune(dist, p, id, s.expanded, pruned, s);
    adj[id] = pruned;
    insert_reverse(dist, p, adj, id, pruned, s);
  }
  std::vector<Neighbor> candidates;
  for (int32_t id = start; id < end; ++id) {
    if (adj[id].size() <= static_cast<size_t>(p.max_degree)) continue;
    candidates.clear();
    for (int32_t other : adj[id]) candidates.push_back({dist.between(id, other), other});
    prune(dist, p, id, candidates, pruned, s);
    adj[id] = pruned;
  }
  return medoid;
}

/// Keep the `capacity` closest of a small sorted list (no duplicate ids).
void insert_bounded(std::vector<Neighbor>& list, Neighbor item, size_t capacity) {
  for (const auto& existing : list) {
    if (existing.id == item.id) return;
  }
  if (list.size() == capacity && !closer(item, list.back())) return;
  auto at = std::upper_bound(list.begin(), list.end(), item, closer);
  list.insert(at, item);
  if (list.size() > capacity) list.pop_back();
}

}  // namespace

void UngIndex::build(const float* data, size_t count, const LabelSetsView& labels, int threads) {
  if (built_) throw std::runtime_error("the index is already built");
  if (count == 0) throw std::invalid_argument("cannot build an index over 0 vectors");
  if (count > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    throw std::invalid_argument("at most 2^31 - 1 vectors are supported");
  }
  if (labels.count != count) {
    throw std::invalid_argument("label sets must have one entry per vector (" + std::to_string(count) +
                                "), got " + std::to_string(labels.count));
  }
  const size_t dim = store_.dim();

  // 1. groups: distinct label sets, numbered in order of first appearance
  std::map<std::vector<int32_t>, int32_t> groups;
  std::vector<std::vector<int32_t>> members;
  std::vector<std::vector<int32_t>> group_sets;
  std::vector<int32_t> set;
  for (size_t i = 0; i < count; ++i) {
    set.assign(labels.labels + labels.offsets[i], labels.labels + labels.offsets[i + 1]);
    std::sort(set.begin(), set.end());
    set.erase(std::unique(set.begin(), set.end()), set.end());
    auto [it, added] = groups.emplace(set, static_cast<int32_t>(members.size()));
    if (added) {
      members.emplace_back();
      group_sets.push_back(set);
    }
    members[it->second].push_back(static_cast<int32_t>(i));
  }
  const size_t G = members.size();

  // 2. internal order: groups contiguous, items in their original order within a group
  internal_to_item_.clear();
  internal_to_item_.reserve(count);
  group_start_.assign(1, 0);
  group_label_offsets_.assign(1, 0);
  group_label_values_.clear();
  for (size_t g = 0; g < G; ++g) {
    internal_to_item_.insert(internal_to_item_.end(), members[g].begin(), members[g].end());
    group_start_.push_back(static_cast<int32_t>(internal_to_item_.size()));
    group_label_values_.insert(group_label_values_.end(), group_sets[g].begin(), group_sets[g].end());
    group_label_offsets_.push_back(static_cast<int64_t>(group_label_values_.size()));
  }
  {
    std::vector<float> ordered(count * dim);
    for (size_t i = 0; i < count; ++i) {
      std::copy(data + static_cast<size_t>(internal_to_item_[i]) * dim,
                data + (static_cast<size_t>(internal_to_item_[i]) + 1) * dim, ordered.data() + i * dim);
    }
    store_.assign(ordered.data(), count);
  }
  index_groups();

  const BuildDistance dist{store_.raw_f32().data(), dim, distance_kernels(Metric::L2).f32};
  auto make_scratch = [] { return Scratch{}; };

  // 3. one Vamana graph per group (each built on one thread, groups in parallel)
  Adjacency adj(count);
  group_entry_.assign(G, 0);
  parallel_for_each(G, threads, make_scratch, [&](Scratch& s, size_t g) {
    group_entry_[g] = build_group(dist, params_, adj, group_start_[g], group_start_[g + 1], count, s);
  });

  // 4. label navigating graph and cross-group edges
  lng_offsets_.assign(G + 1, 0);
  lng_targets_.clear();
  cross_edges_ = 0;
  if (params_.scenario == Scenario::General) {
    std::vector<std::vector<int32_t>> out(G);
    parallel_for_each(G, threads, [] { return 0; }, [&](int&, size_t g) {
      out[g] = minimal_supersets(group_sets[g], static_cast<int32_t>(g));
    });
    for (size_t g = 0; g < G; ++g) {
      lng_targets_.insert(lng_targets_.end(), out[g].begin(), out[g].end());
      lng_offsets_[g + 1] = lng_targets_.size();
    }
    std::vector<int32_t> group_of(count);
    for (size_t g = 0; g < G; ++g) {
      for (int32_t i = group_start_[g]; i < group_start_[g + 1]; ++i) group_of[i] = static_cast<int32_t>(g);
    }
    // the delta closest items over all out-neighbour groups (order-independent)
    const size_t delta = static_cast<size_t>(params_.num_cross_edges);
    std::vector<std::vector<Neighbor>> cross(count);
    parallel_for_each(count, threads, make_scratch, [&](Scratch& s, size_t v) {
      const int32_t h = group_of[v];
      for (int32_t g : out[h]) {
        beam_search(dist, adj, dist.vector(static_cast<int32_t>(v)), group_entry_[g],
                    static_cast<size_t>(params_.L_build), count, s, false, -1);
        for (size_t r = 0; r < s.queue.size(); ++r) insert_bounded(cross[v], s.queue[r], delta);
      }
    });
    // groups left without an edge into some out-neighbour group get a few extra edges
    std::vector<std::vector<std::pair<int32_t, int32_t>>> extra(G);
    const size_t half = delta / 2;
    parallel_for_each(G, threads, make_scratch, [&](Scratch& s, size_t h) {
      if (half == 0) return;
      std::vector<int32_t> connected;
      for (int32_t v = group_start_[h]; v < group_start_[h + 1]; ++v) {
        for (const auto& c : cross[v]) connected.push_back(group_of[c.id]);
      }
      std::sort(connected.begin(), connected.end());
      for (int32_t g : out[h]) {
        if (std::binary_search(connected.begin(), connected.end(), g)) continue;
        size_t added = 0;
        for (int32_t v = group_start_[h]; v < group_start_[h + 1] && added < delta; ++v) {
          beam_search(dist, adj, dist.vector(v), group_entry_[g], static_cast<size_t>(params_.L_build),
                      count, s, false, -1);
          for (size_t r = 0; r < s.queue.size() && r < half; ++r, ++added) {
            extra[h].emplace_back(v, s.queue[r].id);
          }
        }
      }
    });
    for (size_t v = 0; v < count; ++v) {
      for (const auto& c : cross[v]) adj[v].push_back(c.id);
      cross_edges_ += cross[v].size();
    }
    for (size_t h = 0; h < G; ++h) {
      for (const auto& [from, to] : extra[h]) adj[from].push_back(to);
      cross_edges_ += extra[h].size();
    }
  }

  index_label_graph();

  // 5. the unified graph in CSR form
  offsets_.assign(count + 1, 0);
  adjacency_.clear();
  for (size_t i = 0; i < count; ++i) offsets_[i + 1] = offsets_[i] + adj[i].size();
  adjacency_.reserve(offsets_[count]);
  for (size_t i = 0; i < count; ++i) adjacency_.insert(adjacency_.end(), adj[i].begin(), adj[i].end());
  built_ = true;
}

std::vector<int32_t> UngIndex::group_labels(int32_t group) const {
  return std::vector<int32_t>(group_label_values_.begin() + group_label_offsets_[group],
                              group_label_values_.begin() + group_label_offsets_[group + 1]);
}

void UngIndex::index_groups() {
  label_groups_.clear();
  group_of_set_.clear();
  const size_t G = group_count();
  for (size_t g = 0; g < G; ++g) {
    const auto set = group_labels(static_cast<int32_t>(g));
    for (int32_t label : set) {
      if (static_cast<size_t>(label) >= label_groups_.size()) label_groups_.resize(label + 1);
      label_groups_[label].push_back(static_cast<int32_t>(g));
    }
    group_of_set_.emplace(set, static_cast<int32_t>(g));
  }
}

std::vector<int32_t> UngIndex::supersets(const std::vector<int32_t>& query) const {
  const size_t G = group_count();
  std::vector<int32_t> candidates;
  if (query.empty()) {
    candidates.resize(G);
    for (size_t g = 0; g < G; ++g) candidates[g] = static_cast<int32_t>(g);
    return candidates;
  }
  for (size_t i = 0; i < query.size(); ++i) {
    const int32_t label = query[i];
    if (label < 0 || static_cast<size_t>(label) >= label_groups_.size()) return {};
    const auto& posting = label_groups_[label];
    if (i == 0) {
      candidates = posting;
    } else {
      std::vector<int32_t> both;
      std::set_intersection(candidates.begin(), candidates.end(), posting.begin(), posting.end(),
                            std::back_inserter(both));
      candidates.swap(both);
    }
    if (candidates.empty()) return {};
  }
  return candidates;
}

std::vector<int32_t> UngIndex::minimal_supersets_by_lng(const std::vector<int32_t>& query) const {
  // A superset c of the query is minimal iff none of its LNG in-neighbours (its maximal proper
  // subsets among the groups) contains the query: any group strictly between the query and c
  // lies inside one of them. A group equal to the query is the only minimal superset.
  const auto equal = group_of_set_.find(query);
  if (equal != group_of_set_.end()) return {equal->second};
  const std::vector<int32_t> candidates = supersets(query);
  std::vector<int32_t> kept;
  for (int32_t c : candidates) {
    bool minimal = true;
    for (uint64_t e = lng_in_offsets_[c]; e < lng_in_offsets_[c + 1] && minimal; ++e) {
      minimal = !std::binary_search(candidates.begin(), candidates.end(), lng_sources_[e]);
    }
    if (minimal) kept.push_back(c);
  }
  return kept;
}

void UngIndex::index_label_graph() {
  const size_t G = group_count();
  lng_in_offsets_.assign(G + 1, 0);
  for (int32_t t : lng_targets_) ++lng_in_offsets_[t + 1];
  for (size_t g = 0; g < G; ++g) lng_in_offsets_[g + 1] += lng_in_offsets_[g];
  lng_sources_.assign(lng_targets_.size(), 0);
  std::vector<uint64_t> fill(lng_in_offsets_.begin(), lng_in_offsets_.end() - 1);
  for (size_t g = 0; g < G; ++g) {
    for (uint64_t e = lng_offsets_[g]; e < lng_offsets_[g + 1]; ++e) {
      lng_sources_[fill[lng_targets_[e]]++] = static_cast<int32_t>(g);
    }
  }
}

std::vector<int32_t> UngIndex::minimal_supersets(const std::vector<int32_t>& query,
                                                 int32_t avoid) const {
  std::vector<int32_t> candidates = supersets(query);
  candidates.erase(std::remove(candidates.begin(), candidates.end(), avoid), candidates.end());
  auto size_of = [&](int32_t g) { return group_label_offsets_[g + 1] - group_label_offsets_[g]; };
  std::stable_sort(candidates.begin(), candidates.end(),
                   [&](int32_t a, int32_t b) { return size_of(a) < size_of(b); });
  std::vector<int32_t> kept;
  if (candidates.empty()) return kept;
  const int64_t min_size = size_of(candidates[0]);
  for (int32_t c : candidates) {
    bool minimal = true;
    if (size_of(c) > min_size) {
      const int32_t* cb = group_label_values_.data() + group_label_offsets_[c];
      const int32_t* ce = group_label_values_.data() + group_label_offsets_[c + 1];
      for (int32_t m : kept) {
        const int32_t* mb = group_label_values_.data() + group_label_offsets_[m];
        const int32_t* me = group_label_values_.data() + group_label_offsets_[m + 1];
        if (std::includes(cb, ce, mb, me)) {
          minimal = false;
          break;
        }
      }
    }
    if (minimal) kept.push_back(c);
  }
  return kept;
}

size_t UngIndex::memory_bytes() const {
  size_t labels = lng_in_offsets_.size() * sizeof(uint64_t) + lng_sources_.size() * sizeof(int32_t);
  for (const auto& p : label_groups_) labels += p.size() * sizeof(int32_t);
  return store_.memory_bytes() + adjacency_.size() * sizeof(int32_t) + offsets_.size() * sizeof(uint64_t) +
         internal_to_item_.size() * sizeof(int32_t) + group_start_.size() * sizeof(int32_t) * 2 +
         group_label_offsets_.size() * sizeof(int64_t) + group_label_values_.size() * sizeof(int32_t) * 2 +
         lng_offsets_.size() * sizeof(uint64_t) + lng_targets_.size() * sizeof(int32_t) + labels;
}

std::vector<int64_t> UngIndex::neighbors(int64_t item) const {
  if (!built_ || item < 0 || static_cast<size_t>(item) >= size()) {
    throw std::invalid_argument("item " + std::to_string(item) + " is not in the index");
  }
  size_t internal = 0;
  for (; internal < internal_to_item_.size(); ++internal) {
    if (internal_to_item_[internal] == item) break;
  }
  std::vector<int64_t> out;
  for (uint64_t e = offsets_[internal]; e < offsets_[internal + 1]; ++e) {
    out.push_back(internal_to_item_[adjacency_[e]]);
  }
  return out;
}

}  // namespace fanns::ung
