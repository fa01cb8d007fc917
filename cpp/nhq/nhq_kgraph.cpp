// NHQ-KGraph construction (NN-descent + NHQ's pruning under the fusion distance), search, files.
#include "nhq/nhq_kgraph.h"

#include <immintrin.h>

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
#include "nhq/efanna_random.h"
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

// efanna's squared L2 as the authors' build computes it (DistanceL2 with AVX, -O3
// -march=native): eight lanes, each accumulating (a - b)^2 with a fused multiply-add, 16 dims a
// step in two 8-wide halves (the last 8 of a dimension that is 8 mod 16 first), then the lanes
// summed left to right. Bit-identical distances give the authors' NN-descent pools and pruning
// (which of two candidates within a rounding step of each other is kept). `dim` % 8 == 0.
__attribute__((target("avx2,fma"))) float efanna_l2_fma(const float* a, const float* b, size_t dim) {
  const size_t rest = dim % 16, body = dim - rest;
  __m256 sum = _mm256_setzero_ps();
  if (rest) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + body), _mm256_loadu_ps(b + body));
    sum = _mm256_fmadd_ps(d, d, sum);
  }
  for (size_t i = 0; i < body; i += 16) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    sum = _mm256_fmadd_ps(d0, d0, sum);
    const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
    sum = _mm256_fmadd_ps(d1, d1, sum);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}

/// The same sums without fused multiply-adds, for CPUs without FMA (as their build there).
float efanna_l2_plain(const float* a, const float* b, size_t dim) {
  float lanes[8] = {};
  const size_t rest = dim % 16, body = dim - rest;
  auto add = [&](size_t at) {
    for (size_t j = 0; j < 8; ++j) {
      const float d = a[at + j] - b[at + j];
      lanes[j] += d * d;
    }
  };
  if (rest) add(body);
  for (size_t i = 0; i < body; i += 16) {
    add(i);
    add(i + 8);
  }
  return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}

using L2Kernel = float (*)(const float*, const float*, size_t);

L2Kernel efanna_l2() { return __builtin_cpu_supports("fma") ? efanna_l2_fma : efanna_l2_plain; }

/// The seed the authors' search program (query_execution) gives srand before its queries.
constexpr uint32_t kSearchSeed = 161803398;
/// Queries whose starting points are drawn together: their mt19937s are seeded side by side
/// (mt19937_first_outputs), as one engine's seeding is a chain of dependent multiplies.
constexpr size_t kSeedLanes = 8;

/// One search thread's buffers, kept from query to query.
struct SearchScratch {
  explicit SearchScratch(size_t n) : visited(n) {}
  VisitedSet visited;
  std::vector<uint32_t> draws;  // kSeedLanes x (L + 1): each query's first mt19937 outputs
  std::vector<int32_t> start;
  std::vector<Candidate> pool;
};

struct Hood {
  std::mutex lock;
  std::vector<Candidate> pool;  // sorted, at most L
  size_t sampled = 0;           // kgraph's nhood::M
  std::vector<int32_t> nn_new, nn_old, rnn_new, rnn_old;
};

class Builder {
 public:
  /// `rand` is the authors' rand() (srand(seed + 1)): it seeds their generators and picks the
  /// reverse neighbours replaced in full lists, in their order.
  Builder(const float* base, const int32_t* codes, size_t n, size_t dim, size_t A, const KGraphParams& p)
      : codes_(codes), n_(n), stride_((dim + 7) / 8 * 8), A_(A), p_(p), l2_(efanna_l2()),
        rand_(static_cast<uint32_t>(p.seed + 1)), hoods_(n) {
    if (stride_ == dim) {
      base_ = base;
    } else {  // their vectors are zero-padded to a multiple of 8 (data_align); the kernel reads whole 8s
      padded_.assign(n * stride_, 0.0f);
      for (size_t i = 0; i < n; ++i) std::copy(base + i * dim, base + (i + 1) * dim, padded_.begin() + i * stride_);
      base_ = padded_.data();
    }
  }

  float vector_distance(int32_t a, int32_t b) const {
    return l2_(base_ + a * stride_, base_ + b * stride_, stride_);
  }
  float fusion(int32_t a, int32_t b) const {
    const float d = vector_distance(a, b);
    return d + d * static_cast<float>(mismatches(codes_ + a * A_, codes_ + b * A_, A_)) / static_cast<float>(A_);
  }

  int descend(int threads) {
    const size_t L = static_cast<size_t>(p_.L), S = static_cast<size_t>(p_.S);
    // the authors' draws, in their order: every node's first samples from mt19937(rand()), its
    // initial pool from their IndexRandom's own mt19937 (default seed), the control points from
    // another mt19937(rand()); the distances after that, in parallel
    std::mt19937 samples(rand_.next());
    for (auto& h : hoods_) {
      h.sampled = S;
      gen_random(samples, std::min(2 * S, n_ - 1), n_, h.nn_new);
    }
    std::mt19937 initial;
    std::vector<std::vector<int32_t>> drawn(n_);
    for (auto& ids : drawn) gen_random(initial, std::min(S + 1, n_ - 1), n_, ids);
    parallel_for_each(n_, threads, [] { return 0; }, [&](int&, size_t i) {
      Hood& h = hoods_[i];
      const auto& ids = drawn[i];
      for (size_t j = 0; j < S && j < ids.size(); ++j) {
        if (ids[j] == static_cast<int32_t>(i)) continue;
        h.pool.push_back({ids[j], fusion(static_cast<int32_t>(i), ids[j]), true});
      }
      std::sort(h.pool.begin(), h.pool.end(), nearer_distance);
      h.pool.reserve(L + 1);
    });
    // control set: exact fusion neighbours of up to 100 random points
    std::mt19937 draw_control(rand_.next());
    std::vector<int32_t> control;
    gen_random(draw_control, std::min<size_t>(100, n_ - 1), n_, control);
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
      update();
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
    // efanna's nhood::insert: the pool holds up to L + 1 entries between updates (its capacity;
    // update() trims it to L), and a full one places the entry among its first L, overwriting
    // the last. InsertIntopool's binary search puts it after every entry as far, except the
    // last of those it looks at: as far as that one, it goes before it.
    const Candidate c{id, distance, true};
    const size_t looked = std::min(h.pool.size(), static_cast<size_t>(p_.L));
    size_t at = 0;
    if (looked > 0 && !(h.pool[0].distance > distance)) {
      at = h.pool[looked - 1].distance < distance
               ? looked
               : std::min<size_t>(looked - 1, std::upper_bound(h.pool.begin(), h.pool.begin() + looked, c,
                                                               nearer_distance) - h.pool.begin());
    }
    h.pool.insert(h.pool.begin() + at, c);
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

  void update() {
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
    // one pass in node order (cheap: no distances), as theirs on one thread: a full reverse list
    // replaces the entry at rand() % R, so the order of these draws is the authors'
    for (size_t n = 0; n < n_; ++n) {
      Hood& h = hoods_[n];
      for (size_t l = 0; l < h.sampled; ++l) {
        Candidate& c = h.pool[l];
        Hood& other = hoods_[c.id];
        auto& own = c.fresh ? h.nn_new : h.nn_old;
        own.push_back(c.id);
        if (c.distance > other.pool.back().distance) {
          auto& reverse = c.fresh ? other.rnn_new : other.rnn_old;
          if (reverse.size() < R) {
            reverse.push_back(static_cast<int32_t>(n));
          } else {
            reverse[rand_.next() % R] = static_cast<int32_t>(n);
          }
        }
        c.fresh = false;
      }
    }
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

  const float* base_ = nullptr;
  std::vector<float> padded_;  // the vectors with a stride of a multiple of 8, where dim is not
  const int32_t* codes_;
  size_t n_, stride_, A_;
  const KGraphParams& p_;
  L2Kernel l2_;
  GlibcRand rand_;
  std::vector<Hood> hoods_;
};

}  // namespace

void KGraphParams::validate() const {
  check_fields(*this);
  if (!(M > 0.0f)) throw std::invalid_argument("M must be > 0, got " + std::to_string(M));
}

NhqKGraphIndex::NhqKGraphIndex(size_t dim, Metric metric, size_t attributes, KGraphParams params)
    : NhqGraph(dim, metric, attributes), params_(params) {
  params_.validate();
}

void NhqKGraphIndex::build(const float* data, const int32_t* codes, size_t count, int threads) {
  keep_items(data, codes, count, 2, "NHQ-KGraph needs at least 2 vectors");
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
  set_graph(cut, [](const Candidate& c) { return c.id; });
}

void NhqKGraphIndex::search(const float* queries, size_t nq, const int32_t* query_codes, size_t code_rows,
                            const int64_t* rows, const KGraphSearchParams& params, int threads,
                            int64_t* out_ids, float* out_distances, uint64_t* out_distance_counts) const {
  check_search(params.k, params.L_search, "L_search", nq, rows, code_rows);
  const size_t n = size(), k = static_cast<size_t>(params.k), A = attributes_;
  const size_t L = std::min(n - 1, std::max(static_cast<size_t>(params.L_search), k));
  const float weight = params.weight_search;
  const DistanceF32 kernel = distance_kernels(store_.metric()).f32;
  const size_t dim = store_.dim();
  // the authors' search program calls srand(161803398), then draws each query's starting points
  // from mt19937(rand()) in query order: the same seeds by query position (any thread count)
  std::vector<uint32_t> query_seeds(nq);
  GlibcRand rand(kSearchSeed);
  for (auto& seed : query_seeds) seed = rand.next();
  // one body for both views (the node blocks, or the index's own arrays: same ids, same order)
  auto run = [&](const auto& view) {
    auto one = [&](SearchScratch& scratch, size_t q, const uint32_t* draws) {
      const int32_t* want = query_codes + rows[q] * A;
      const float* query = queries + q * dim;
      uint64_t evaluations = 0;
      auto fusion = [&](int32_t id) {
        ++evaluations;
        return kernel(query, view.vector(id), dim) + weight * static_cast<float>(mismatches(want, view.codes_of(id), A));
      };
      // L random starting points (efanna's GenRandom on mt19937(seed): its first L + 1 outputs)
      Replay rng{draws};
      std::vector<int32_t>& start = scratch.start;
      gen_random(rng, L, n, start);
      VisitedSet& visited = scratch.visited;
      visited.reset(n);
      std::vector<Candidate>& pool = scratch.pool;
      pool.clear();
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
    };
    const size_t draws_per_query = L + 1;  // gen_random: L draws, then the rotation
    const size_t blocks = (nq + kSeedLanes - 1) / kSeedLanes;
    parallel_for_each(blocks, threads, [n] { return SearchScratch(n); }, [&](SearchScratch& scratch, size_t b) {
      const size_t first = b * kSeedLanes, last = std::min(nq, first + kSeedLanes);
      uint32_t seeds[kSeedLanes] = {};
      std::copy(query_seeds.begin() + first, query_seeds.begin() + last, seeds);
      scratch.draws.resize(kSeedLanes * draws_per_query);
      mt19937_first_outputs<kSeedLanes>(seeds, draws_per_query, scratch.draws.data());
      for (size_t q = first; q < last; ++q) one(scratch, q, scratch.draws.data() + (q - first) * draws_per_query);
    });
  };
  with_view(run);
}

namespace {
constexpr char kMagic[8] = {'F', 'A', 'N', 'N', 'S', 'N', 'K', 'G'};
// 1: the parameter struct's raw bytes (with padding); 2: its fields one by one (write_fields)
constexpr uint32_t kVersion = 2;
}  // namespace

void NhqKGraphIndex::save(const std::string& path) const {
  if (!is_built()) throw std::runtime_error("cannot save an index that is not built");
  BinaryWriter out(path);
  out.header(kMagic, kVersion);
  out.metric(store_);
  write_fields(out, params_);
  out.value<int32_t>(iterations_);
  write_sizes_and_body(out);
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
  NhqKGraphIndex index = read_sizes_and_body<NhqKGraphIndex>(
      in, 2, "bad sizes", [&](uint64_t dim, uint64_t attributes) { return NhqKGraphIndex(dim, metric, attributes, p); });
  index.iterations_ = iterations;
  return index;
}

}  // namespace fanns::nhq
