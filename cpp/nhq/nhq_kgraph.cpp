// NHQ-KGraph construction (NN-descent + NHQ's pruning under the fusion distance), search, files.
#include "nhq/nhq_kgraph.h"

#include <algorithm>
#include <limits>
#include <mutex>
#include <random>
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

struct Candidate {
  int32_t id;
  float distance;
  bool fresh;  // NN-descent: not yet joined / search: not yet expanded
};
/// Distances only: the order of efanna's Neighbor::operator< (ties keep no id order, as in
/// every sort and pool insertion of theirs).
bool nearer_distance(const Candidate& a, const Candidate& b) { return a.distance < b.distance; }

uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// `count` distinct ids in [0, n), n > count (sorted, then rotated: kgraph's GenRandom).
void random_ids(std::mt19937_64& rng, size_t count, size_t n, std::vector<int32_t>& out) {
  out.resize(count);
  if (count == 0) return;
  for (size_t i = 0; i < count; ++i) out[i] = static_cast<int32_t>(rng() % (n - count));
  std::sort(out.begin(), out.end());
  for (size_t i = 1; i < count; ++i) {
    if (out[i] <= out[i - 1]) out[i] = out[i - 1] + 1;
  }
  const size_t offset = rng() % n;
  for (auto& id : out) id = static_cast<int32_t>((id + offset) % n);
}

size_t mismatches(const int32_t* a, const int32_t* b, size_t attributes) {
  size_t count = 0;
  for (size_t i = 0; i < attributes; ++i) count += (a[i] != b[i] || a[i] < 0) ? 1 : 0;
  return count;
}

struct Hood {
  std::mutex lock;
  std::vector<Candidate> pool;  // sorted, at most L
  size_t sampled = 0;           // kgraph's nhood::M
  std::vector<int32_t> nn_new, nn_old, rnn_new, rnn_old;
};

class Builder {
 public:
  Builder(const float* base, const int32_t* codes, size_t n, size_t dim, size_t A, const KGraphParams& p)
      : base_(base), codes_(codes), n_(n), dim_(dim), A_(A), p_(p), l2_(distance_kernels(Metric::L2).f32),
        hoods_(n) {}

  float vector_distance(int32_t a, int32_t b) const { return l2_(base_ + a * dim_, base_ + b * dim_, dim_); }
  float fusion(int32_t a, int32_t b) const {
    const float d = vector_distance(a, b);
    return d + d * static_cast<float>(mismatches(codes_ + a * A_, codes_ + b * A_, A_)) / static_cast<float>(A_);
  }

  int descend(int threads) {
    const size_t L = static_cast<size_t>(p_.L), S = static_cast<size_t>(p_.S);
    parallel_for_each(n_, threads, [] { return std::vector<int32_t>(); }, [&](std::vector<int32_t>& ids, size_t i) {
      std::mt19937_64 rng(mix(p_.seed ^ (i * 0x9e3779b97f4a7c15ull)));
      Hood& h = hoods_[i];
      h.sampled = S;
      random_ids(rng, std::min(2 * S, n_ - 1), n_, h.nn_new);
      random_ids(rng, std::min(S + 1, n_ - 1), n_, ids);
      for (size_t j = 0; j < S && j < ids.size(); ++j) {
        if (ids[j] == static_cast<int32_t>(i)) continue;
        h.pool.push_back({ids[j], fusion(static_cast<int32_t>(i), ids[j]), true});
      }
      std::sort(h.pool.begin(), h.pool.end(), nearer_distance);
      h.pool.reserve(L + 1);
    });
    // control set: exact fusion neighbours of up to 100 random points
    std::mt19937_64 rng(mix(p_.seed + 1));
    std::vector<int32_t> control;
    random_ids(rng, std::min<size_t>(100, n_ - 1), n_, control);
    std::vector<std::vector<int32_t>> truth(control.size());
    parallel_for_each(control.size(), threads, [] { return 0; }, [&](int&, size_t c) {
      std::vector<Candidate> all;
      for (size_t j = 0; j < n_; ++j) all.push_back({static_cast<int32_t>(j), fusion(control[c], static_cast<int32_t>(j)), false});
      const size_t keep = std::min<size_t>(100, all.size());
      std::partial_sort(all.begin(), all.begin() + keep, all.end(), nearer_distance);
      for (size_t j = 0; j < keep; ++j) truth[c].push_back(all[j].id);
      std::sort(truth[c].begin(), truth[c].end());
    });
    int it = 0;
    while (it < p_.iter) {
      ++it;
      join(threads);
      update(threads);
      if (control_recall(control, truth) >= 0.8) break;
    }
    return it;
  }

  /// NHQ's edge selection of node q: its pool plus two-hop candidates, kept unless an already
  /// kept neighbour is M times closer to the candidate than q is.
  std::vector<Candidate> prune(int32_t q) const {
    const Hood& h = hoods_[q];
    std::vector<Candidate> pool = h.pool;
    const size_t bK = static_cast<size_t>(static_cast<float>(p_.K) * p_.B);
    const size_t ML = static_cast<size_t>(p_.PL) + pool.size();
    std::vector<int32_t> seen;
    seen.push_back(q);
    for (const auto& c : pool) seen.push_back(c.id);
    std::sort(seen.begin(), seen.end());
    for (size_t i = 0; i < h.pool.size() && i < bK && pool.size() < ML; ++i) {
      const int32_t nid = h.pool[i].id;
      for (const auto& second : hoods_[nid].pool) {
        auto at = std::lower_bound(seen.begin(), seen.end(), second.id);
        if (at != seen.end() && *at == second.id) continue;
        seen.insert(at, second.id);
        const float d1 = h.pool[i].distance, d2 = second.distance;
        if (d1 < d2 && d2 - d1 > d1) continue;
        pool.push_back({second.id, fusion(q, second.id), true});
        if (pool.size() >= ML) break;
      }
    }
    std::sort(pool.begin(), pool.end(), nearer_distance);
    return select(q, pool, p_.M);
  }

  std::vector<Candidate> select(int32_t q, const std::vector<Candidate>& sorted, float m) const {
    std::vector<Candidate> kept;
    const size_t range = static_cast<size_t>(p_.RANGE);
    for (const auto& c : sorted) {
      if (kept.size() >= range) break;
      if (c.id == q) continue;
      bool occluded = false;
      for (const auto& k : kept) {
        if (k.id == c.id || m * fusion(k.id, c.id) < c.distance) {
          occluded = true;
          break;
        }
      }
      if (!occluded) kept.push_back(c);
    }
    return kept;
  }

 private:
  void insert(int32_t node, int32_t id, float distance) {
    Hood& h = hoods_[node];
    std::lock_guard<std::mutex> guard(h.lock);
    if (!h.pool.empty() && distance > h.pool.back().distance) return;  // kgraph: only better than the worst
    for (const auto& c : h.pool) {
      if (c.id == id) return;
    }
    // efanna's nhood::insert: after every entry as far (InsertIntopool); the pool holds up to
    // L + 1 entries between updates (its capacity), update() trims it to L
    const Candidate c{id, distance, true};
    h.pool.insert(std::upper_bound(h.pool.begin(), h.pool.end(), c, nearer_distance), c);
    if (h.pool.size() > static_cast<size_t>(p_.L) + 1) h.pool.pop_back();
  }

  void join(int threads) {
    parallel_for_each(n_, threads, [] { return 0; }, [&](int&, size_t node) {
      const Hood& h = hoods_[node];
      for (int32_t i : h.nn_new) {
        for (int32_t j : h.nn_new) {
          if (i < j) link(i, j);
        }
        for (int32_t j : h.nn_old) {
          if (i != j) link(i, j);
        }
      }
    });
  }

  void link(int32_t i, int32_t j) {
    const float d = fusion(i, j);
    insert(i, j, d);
    insert(j, i, d);
  }

  void update(int threads) {
    const size_t S = static_cast<size_t>(p_.S), R = static_cast<size_t>(p_.R);
    for (auto& h : hoods_) {
      h.nn_new.clear();
      h.nn_old.clear();
    }
    for (auto& h : hoods_) {
      if (h.pool.size() > static_cast<size_t>(p_.L)) h.pool.resize(static_cast<size_t>(p_.L));
      const size_t max_l = std::min(h.sampled + S, h.pool.size());
      size_t fresh = 0, l = 0;
      while (l < max_l && fresh < S) {
        if (h.pool[l].fresh) ++fresh;
        ++l;
      }
      h.sampled = l;
    }
    const uint64_t round = ++round_;
    parallel_for_each(n_, threads, [] { return 0; }, [&](int&, size_t n) {
      Hood& h = hoods_[n];
      std::mt19937_64 rng(mix(p_.seed ^ (n * 0xda942042e4dd58b5ull) ^ (round << 48)));
      for (size_t l = 0; l < h.sampled; ++l) {
        Candidate& c = h.pool[l];
        Hood& other = hoods_[c.id];
        auto& own = c.fresh ? h.nn_new : h.nn_old;
        own.push_back(c.id);
        if (c.distance > other.pool.back().distance) {
          std::lock_guard<std::mutex> guard(other.lock);
          auto& reverse = c.fresh ? other.rnn_new : other.rnn_old;
          if (reverse.size() < R) {
            reverse.push_back(static_cast<int32_t>(n));
          } else {
            reverse[rng() % R] = static_cast<int32_t>(n);
          }
        }
        c.fresh = false;
      }
    });
    for (auto& h : hoods_) {
      h.nn_new.insert(h.nn_new.end(), h.rnn_new.begin(), h.rnn_new.end());
      h.nn_old.insert(h.nn_old.end(), h.rnn_old.begin(), h.rnn_old.end());
      if (h.nn_old.size() > 2 * R) h.nn_old.resize(2 * R);
      h.rnn_new.clear();
      h.rnn_old.clear();
    }
  }

  /// efanna's eval_recall, in its float arithmetic: per control point (hits / |truth|), summed
  /// and averaged in float. The stop test `>= 0.8` (a double) holds when every pool lies in its
  /// truth (80 / 100 summed in float rounds up to 0.80000013); the same sums in double give
  /// 0.7999999999999985 and never stop early, so every build ran all `iter` rounds.
  float control_recall(const std::vector<int32_t>& control, const std::vector<std::vector<int32_t>>& truth) const {
    float mean = 0;
    for (size_t c = 0; c < control.size(); ++c) {
      float hits = 0;
      for (const auto& cand : hoods_[control[c]].pool) {
        hits += std::binary_search(truth[c].begin(), truth[c].end(), cand.id) ? 1.0f : 0.0f;
      }
      mean += truth[c].empty() ? 0.0f : hits / static_cast<float>(truth[c].size());
    }
    return control.empty() ? 1.0f : mean / static_cast<float>(control.size());
  }

  const float* base_;
  const int32_t* codes_;
  size_t n_, dim_, A_;
  const KGraphParams& p_;
  DistanceF32 l2_;
  std::vector<Hood> hoods_;
  uint64_t round_ = 0;
};

}  // namespace

void KGraphParams::validate() const {
  check_fields(*this);
  if (!(M > 0.0f)) throw std::invalid_argument("M must be > 0, got " + std::to_string(M));
}

NhqKGraphIndex::NhqKGraphIndex(size_t dim, Metric metric, size_t attributes, KGraphParams params)
    : params_(params), attributes_(attributes), store_(dim, metric, StorageType::Float32) {
  if (dim == 0) throw std::invalid_argument("dim must be >= 1");
  if (attributes == 0) throw std::invalid_argument("attributes must be >= 1");
  params_.validate();
}

void NhqKGraphIndex::build(const float* data, const int32_t* codes, size_t count, int threads) {
  if (built_) throw std::runtime_error("the index is already built");
  if (count < 2) throw std::invalid_argument("NHQ-KGraph needs at least 2 vectors");
  if (count > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    throw std::invalid_argument("at most 2^31 - 1 vectors are supported");
  }
  store_.assign(data, count);
  codes_.assign(codes, codes + count * attributes_);
  Builder builder(store_.raw_f32().data(), codes_.data(), count, store_.dim(), attributes_, params_);
  iterations_ = builder.descend(threads);
  // prune every node, then add reverse edges (pruned again with factor 1 when over RANGE)
  std::vector<std::vector<Candidate>> cut(count);
  parallel_for_each(count, threads, [] { return 0; },
                    [&](int&, size_t q) { cut[q] = builder.prune(static_cast<int32_t>(q)); });
  std::vector<std::mutex> locks(count);
  const size_t range = static_cast<size_t>(params_.RANGE);
  parallel_for_each(count, threads, [] { return 0; }, [&](int&, size_t n) {
    std::vector<Candidate> mine;
    {
      std::lock_guard<std::mutex> guard(locks[n]);
      mine = cut[n];
    }
    for (const auto& edge : mine) {
      const int32_t des = edge.id;
      std::vector<Candidate> list;
      {
        std::lock_guard<std::mutex> guard(locks[des]);
        bool present = false;
        for (const auto& c : cut[des]) present = present || c.id == static_cast<int32_t>(n);
        if (present) continue;
        if (cut[des].size() < range) {
          cut[des].push_back({static_cast<int32_t>(n), edge.distance, false});
          continue;
        }
        list = cut[des];
      }
      list.push_back({static_cast<int32_t>(n), edge.distance, false});
      std::sort(list.begin(), list.end(), nearer_distance);
      auto kept = builder.select(des, list, 1.0f);
      std::lock_guard<std::mutex> guard(locks[des]);
      cut[des] = std::move(kept);
    }
  });
  offsets_.assign(count + 1, 0);
  adjacency_.clear();
  for (size_t i = 0; i < count; ++i) offsets_[i + 1] = offsets_[i] + cut[i].size();
  adjacency_.reserve(offsets_[count]);
  for (const auto& list : cut) {
    for (const auto& c : list) adjacency_.push_back(c.id);
  }
  layout_.assign(csr());
  built_ = true;
}

void NhqKGraphIndex::search(const float* queries, size_t nq, const int32_t* query_codes, size_t code_rows,
                            const int64_t* rows, const KGraphSearchParams& params, int threads,
                            int64_t* out_ids, float* out_distances, uint64_t* out_distance_counts) const {
  if (!built_) throw std::runtime_error("the index is not built yet");
  if (params.k < 1) throw std::invalid_argument("k must be >= 1");
  if (params.L_search < 1) throw std::invalid_argument("L_search must be >= 1");
  for (size_t q = 0; q < nq; ++q) {
    if (rows[q] < 0 || static_cast<size_t>(rows[q]) >= code_rows) {
      throw std::invalid_argument("rows[" + std::to_string(q) + "] = " + std::to_string(rows[q]) +
                                  " is not a row of query_codes");
    }
  }
  const size_t n = size(), k = static_cast<size_t>(params.k), A = attributes_;
  const size_t L = std::min(n - 1, std::max(static_cast<size_t>(params.L_search), k));
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
      // L random starting points (fixed per query position: identical for any thread count)
      std::mt19937_64 rng(mix(params_.seed ^ (q + 1) * 0x632be59bd9b4e019ull));
      std::vector<int32_t> start;
      random_ids(rng, L, n, start);
      visited.reset(n);
      std::vector<Candidate> pool;
      pool.reserve(L + 1);
      for (int32_t id : start) __builtin_prefetch(view.vector(id));  // as theirs: one line each
      for (int32_t id : start) {
        visited.insert(id);
        pool.push_back({id, fusion(id), true});
      }
      // efanna's order: distances only (std::sort of the starting points as drawn; a new entry
      // goes after every pool entry as far as it, InsertIntoPool). At weight 10^6 a float keeps
      // 1/16 steps, so non-matching items tie often; breaking ties by id instead changes which
      // of them stay in the pool and are expanded.
      std::sort(pool.begin(), pool.end(), nearer_distance);
      // two passes as in the authors' search: first over the first half of each neighbour list,
      // then over whole lists (`fresh` flips meaning between the passes)
      for (int pass = 0; pass < 2; ++pass) {
        const bool expand_when = pass == 0;
        size_t i = 0;
        while (i < pool.size()) {
          size_t lowest = pool.size();
          if (pool[i].fresh == expand_when) {
            pool[i].fresh = !expand_when;
            const int32_t node = pool[i].id;
            const int32_t* links = view.links(node);
            const uint32_t degree = view.degree(node);
            const uint32_t end = pass == 0 ? degree / 2 : degree;
            // as the authors: ask for the first line of every neighbour's block up front, visited
            // or not, and nothing per neighbour after that (testing the visited marks here and
            // asking for four more lines of the next neighbour each step was 10-20 % slower)
            for (uint32_t e = 0; e < end; ++e) __builtin_prefetch(view.vector(links[e]));
            for (uint32_t e = 0; e < end; ++e) {
              const int32_t next = links[e];
              if (!visited.insert_new(next)) continue;
              const float d = fusion(next);
              if (pool.size() == L && d >= pool.back().distance) continue;
              const Candidate c{next, d, expand_when};
              auto at = std::upper_bound(pool.begin(), pool.end(), c, nearer_distance);
              const size_t position = static_cast<size_t>(at - pool.begin());
              pool.insert(at, c);
              if (pool.size() > L) pool.pop_back();
              lowest = std::min(lowest, position);
            }
          }
          i = lowest <= i ? lowest : i + 1;
        }
      }
      write_result_row(pool, k, out_ids + q * k, out_distances + q * k);
      out_distance_counts[q] = evaluations;
    });
  };
  if (use_layout_) {
    run(layout_);
  } else {
    run(csr());
  }
}

size_t NhqKGraphIndex::memory_bytes() const {
  return graph_memory_bytes(store_, codes_, offsets_, adjacency_) + layout_.memory_bytes();
}

std::vector<int64_t> NhqKGraphIndex::neighbors(int64_t item) const {
  return neighbor_list(built_, size(), offsets_, adjacency_, item);
}

namespace {
constexpr char kMagic[8] = {'F', 'A', 'N', 'N', 'S', 'N', 'K', 'G'};
// 1: the parameter struct's raw bytes (with padding); 2: its fields one by one (write_fields)
constexpr uint32_t kVersion = 2;
}  // namespace

void NhqKGraphIndex::save(const std::string& path) const {
  if (!built_) throw std::runtime_error("cannot save an index that is not built");
  BinaryWriter out(path);
  out.header(kMagic, kVersion);
  out.metric(store_);
  write_fields(out, params_);
  out.value<int32_t>(iterations_);
  out.value<uint64_t>(attributes_);
  out.value<uint64_t>(store_.size());
  out.value<uint64_t>(store_.dim());
  write_graph_body(out, store_, codes_, offsets_, adjacency_);
  out.close();
}

NhqKGraphIndex NhqKGraphIndex::load(const std::string& path) {
  BinaryReader in(path);
  const uint32_t version = in.expect_header(kMagic, 1, kVersion);
  const Metric metric = in.metric();
  KGraphParams p;
  if (version == 1) {
    p = in.value<KGraphParams>();
  } else {
    read_fields(in, p);
  }
  in.check_params(p);
  const int32_t iterations = in.value<int32_t>();
  const uint64_t attributes = in.value<uint64_t>();
  const uint64_t n = in.value<uint64_t>();
  const uint64_t dim = in.value<uint64_t>();
  if (attributes == 0 || attributes > 4096 || n < 2 || n > (uint64_t{1} << 31) || dim == 0 ||
      dim > (uint64_t{1} << 20)) {
    in.corrupt("bad sizes");
  }
  NhqKGraphIndex index(dim, metric, attributes, p);
  index.iterations_ = iterations;
  read_graph_body(in, n, attributes, index.store_, index.codes_, index.offsets_, index.adjacency_);
  index.layout_.assign(index.csr());
  index.built_ = true;
  return index;
}

}  // namespace fanns::nhq
