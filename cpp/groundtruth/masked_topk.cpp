// Exact filtered top-k (see masked_topk.h).
//
// Dense queries: a block of queries is packed into MR-row panels (k-major) and kept in L2;
// the base is walked in tiles that are packed into NR-column panels. A register-blocked
// micro-kernel computes MR x NR dot products at a time; its epilogue reads each query's
// match bits for those NR items and offers only matching scores that beat the query's
// current k-th best to its heap. Panels no query of the micro-panel matches are skipped.
// Items are visited in ascending id order, so a later item never displaces an equal score:
// ties go to the smaller id.
#include "groundtruth/masked_topk.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "core/parallel.h"

#if defined(__x86_64__) || defined(__i386__)
#define FANNS_GT_X86 1
#include <immintrin.h>
#endif

namespace fanns::groundtruth {
namespace {

constexpr size_t kTileBytes = size_t{1} << 19;   // packed base tile per thread (in L2)
constexpr size_t kBlockBytes = size_t{1} << 20;  // packed query block per thread (in L2)
constexpr size_t kMaxPanelsPerBlock = 32;        // and at most 32 micro-panels of queries

// ---------------------------------------------------------------- per-query heap

/// The best `capacity` (score, id) pairs seen; the worst on top (lower score, then larger id).
class BestK {
 public:
  void reset(size_t capacity) {
    capacity_ = capacity;
    size_ = 0;
    scores_.resize(capacity);
    ids_.resize(capacity);
  }

  bool accepts(float score) const { return size_ < capacity_ || score > scores_[0]; }
  bool full() const { return size_ >= capacity_; }
  /// The score a newcomer must beat once full (ids arrive ascending: an equal one loses).
  float bar() const { return scores_[0]; }

  void push(float score, int64_t id) {
    if (size_ < capacity_) {
      size_t i = size_++;
      while (i > 0) {
        const size_t parent = (i - 1) / 2;
        if (!worse(score, id, scores_[parent], ids_[parent])) break;
        scores_[i] = scores_[parent];
        ids_[i] = ids_[parent];
        i = parent;
      }
      scores_[i] = score;
      ids_[i] = id;
      return;
    }
    if (!worse(scores_[0], ids_[0], score, id)) return;
    size_t i = 0;
    for (;;) {
      size_t child = 2 * i + 1;
      if (child >= size_) break;
      if (child + 1 < size_ && worse(scores_[child + 1], ids_[child + 1], scores_[child], ids_[child])) {
        ++child;
      }
      if (!worse(scores_[child], ids_[child], score, id)) break;
      scores_[i] = scores_[child];
      ids_[i] = ids_[child];
      i = child;
    }
    scores_[i] = score;
    ids_[i] = id;
  }

  /// Best first into `ids` / `scores` (length `depth` >= capacity), padded with -1 / NaN.
  void write(int64_t* ids, float* scores, size_t depth) {
    order_.resize(size_);
    for (size_t i = 0; i < size_; ++i) order_[i] = i;
    std::sort(order_.begin(), order_.end(), [this](size_t a, size_t b) {
      return worse(scores_[b], ids_[b], scores_[a], ids_[a]);
    });
    for (size_t i = 0; i < size_; ++i) {
      ids[i] = ids_[order_[i]];
      scores[i] = scores_[order_[i]];
    }
    for (size_t i = size_; i < depth; ++i) {
      ids[i] = -1;
      scores[i] = std::numeric_limits<float>::quiet_NaN();
    }
  }

 private:
  static bool worse(float sa, int64_t ia, float sb, int64_t ib) {
    return sa < sb || (sa == sb && ia > ib);
  }

  size_t capacity_ = 0, size_ = 0;
  std::vector<float> scores_;
  std::vector<int64_t> ids_;
  std::vector<size_t> order_;
};

// ---------------------------------------------------------------- micro-kernels
// c[r * NR + j] = sum_k qp[k * MR + r] * xp[k * NR + j]   (packed panels, k-major)

template <int MR, int NR>
void kernel_scalar(const float* qp, const float* xp, size_t dim, float* c) {
  float acc[MR][NR] = {};
  for (size_t k = 0; k < dim; ++k) {
    const float* q = qp + k * MR;
    const float* x = xp + k * NR;
    for (int r = 0; r < MR; ++r) {
      for (int j = 0; j < NR; ++j) acc[r][j] += q[r] * x[j];
    }
  }
  for (int r = 0; r < MR; ++r) {
    for (int j = 0; j < NR; ++j) c[r * NR + j] = acc[r][j];
  }
}

#ifdef FANNS_GT_X86

__attribute__((target("avx2,fma"))) void kernel_avx2(const float* qp, const float* xp, size_t dim,
                                                     float* c) {
  constexpr int MR = 6, NR = 16;
  __m256 acc[MR][2];
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (size_t k = 0; k < dim; ++k) {
    const __m256 x0 = _mm256_loadu_ps(xp + k * NR);
    const __m256 x1 = _mm256_loadu_ps(xp + k * NR + 8);
    const float* q = qp + k * MR;
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      const __m256 b = _mm256_broadcast_ss(q + r);
      acc[r][0] = _mm256_fmadd_ps(b, x0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(b, x1, acc[r][1]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    _mm256_storeu_ps(c + r * NR, acc[r][0]);
    _mm256_storeu_ps(c + r * NR + 8, acc[r][1]);
  }
}

__attribute__((target("avx512f"))) void kernel_avx512(const float* qp, const float* xp, size_t dim,
                                                      float* c) {
  constexpr int MR = 12, NR = 32;
  __m512 acc[MR][2];
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (size_t k = 0; k < dim; ++k) {
    const __m512 x0 = _mm512_loadu_ps(xp + k * NR);
    const __m512 x1 = _mm512_loadu_ps(xp + k * NR + 16);
    const float* q = qp + k * MR;
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const __m512 b = _mm512_set1_ps(q[r]);
      acc[r][0] = _mm512_fmadd_ps(b, x0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(b, x1, acc[r][1]);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) {
    _mm512_storeu_ps(c + r * NR, acc[r][0]);
    _mm512_storeu_ps(c + r * NR + 16, acc[r][1]);
  }
}

#endif  // FANNS_GT_X86

// ---------------------------------------------------------------- the search

/// What every work item reads: the problem, validated lists, norms for l2.
struct Shared {
  const TopKProblem& p;
  std::vector<float> query_norms, vector_norms;  // squared, l2 only
  std::vector<size_t> dense, sparse;               // query rows by path
  size_t block = 0;                                // queries per dense block
  size_t tile = 0;                                 // base items per tile (multiple of 64)

  float score(float dot, size_t query, size_t item) const {
    if (p.metric == Metric::InnerProduct) return dot;
    return (2.0f * dot - query_norms[query]) - vector_norms[item];
  }
};

[[noreturn]] void bad_list(size_t query, const std::string& what) {
  throw std::invalid_argument("match ids of query " + std::to_string(query) + ": " + what);
}

/// One query scored against its matches only.
void sparse_query(const Shared& s, size_t query, BestK& heap, int64_t* ids, float* scores) {
  const TopKProblem& p = s.p;
  const DistanceF32 negdot = distance_kernels(Metric::InnerProduct).f32;
  const float* q = p.queries + query * p.dim;
  const MatchList& list = p.matches[query];
  heap.reset(p.depth);
  int64_t last = -1;
  for (size_t i = 0; i < list.size; ++i) {
    const int64_t id = list.ids[i];
    if (id < 0) bad_list(query, "id " + std::to_string(id) + " is negative");
    if (id <= last) bad_list(query, "not sorted ascending without repeats (" + std::to_string(id) +
                                        " after " + std::to_string(last) + ")");
    if (id >= static_cast<int64_t>(p.count)) {
      bad_list(query, "id " + std::to_string(id) + " is not below the base size " +
                          std::to_string(p.count));
    }
    last = id;
    const float value = s.score(-negdot(q, p.vectors + id * p.dim, p.dim), query, id);
    if (heap.accepts(value)) heap.push(value, id);
  }
  heap.write(ids + query * p.depth, scores + query * p.depth, p.depth);
}

template <int MR, int NR, void (*Kernel)(const float*, const float*, size_t, float*)>
struct DenseWorkspace {
  std::vector<float> qpack, xpack, c;
  std::vector<uint64_t> bits;
  std::vector<size_t> cursor;
  std::vector<int64_t> last;
  std::vector<BestK> heaps;
  std::vector<char> panel_used;

  /// Queries `rows` (at most `s.block`) against the whole base.
  void run(const Shared& s, const size_t* rows, size_t n_rows, int64_t* out_ids, float* out_scores) {
    const TopKProblem& p = s.p;
    const size_t dim = p.dim, words = s.tile / 64;
    const size_t q_panels = (n_rows + MR - 1) / MR;
    qpack.assign(q_panels * dim * MR, 0.0f);
    for (size_t i = 0; i < n_rows; ++i) {
      const float* q = p.queries + rows[i] * dim;
      float* panel = qpack.data() + (i / MR) * dim * MR + (i % MR);
      for (size_t k = 0; k < dim; ++k) panel[k * MR] = q[k];
    }
    xpack.resize((s.tile / NR) * dim * NR);
    c.resize(MR * NR);
    bits.resize(n_rows * words);
    cursor.assign(n_rows, 0);
    last.assign(n_rows, -1);
    panel_used.resize(s.tile / NR);
    heaps.resize(n_rows);
    for (size_t i = 0; i < n_rows; ++i) heaps[i].reset(p.depth);

    for (size_t t0 = 0; t0 < p.count; t0 += s.tile) {
      const size_t tn = std::min(s.tile, p.count - t0);
      if (!mark_matches(s, rows, n_rows, t0, tn)) continue;
      pack_tile(s, t0, tn, n_rows);
      const size_t x_panels = (tn + NR - 1) / NR;
      for (size_t m = 0; m < q_panels; ++m) {
        const size_t r_end = std::min<size_t>(MR, n_rows - m * MR);
        const float* qp = qpack.data() + m * dim * MR;
        for (size_t xpanel = 0; xpanel < x_panels; ++xpanel) {
          if (!panel_used[xpanel]) continue;
          uint64_t masks[MR];
          uint64_t any = 0;
          for (size_t r = 0; r < r_end; ++r) {
            masks[r] = panel_bits(m * MR + r, xpanel, words);
            any |= masks[r];
          }
          if (!any) continue;
          Kernel(qp, xpack.data() + xpanel * dim * NR, dim, c.data());
          const size_t base = t0 + xpanel * NR;
          const size_t valid = std::min<size_t>(NR, p.count - base);
          for (size_t r = 0; r < r_end; ++r) {
            if (!masks[r]) continue;
            const size_t row = m * MR + r;
            BestK& heap = heaps[row];
            float* score = c.data() + r * NR;
            if (p.metric == Metric::L2) {
              const float qn = s.query_norms[rows[row]];
              const float* xn = s.vector_norms.data() + base;
              for (size_t j = 0; j < valid; ++j) score[j] = (2.0f * score[j] - qn) - xn[j];
            }
            // Only scores above the current k-th best go on to the heap (branch-free filter).
            uint64_t above = ~uint64_t{0};
            if (heap.full()) {
              const float bar = heap.bar();
              above = 0;
              for (size_t j = 0; j < valid; ++j) above |= static_cast<uint64_t>(score[j] > bar) << j;
            }
            for (uint64_t b = above & masks[r]; b; b &= b - 1) {
              const size_t j = static_cast<size_t>(__builtin_ctzll(b));
              if (heap.accepts(score[j])) heap.push(score[j], static_cast<int64_t>(base + j));
            }
          }
        }
      }
    }
    for (size_t i = 0; i < n_rows; ++i) {
      const MatchList& list = p.matches[rows[i]];
      if (cursor[i] != list.size) {
        bad_list(rows[i], "id " + std::to_string(list.ids[cursor[i]]) +
                              " is not below the base size " + std::to_string(p.count));
      }
      heaps[i].write(out_ids + rows[i] * p.depth, out_scores + rows[i] * p.depth, p.depth);
    }
  }

  uint64_t panel_bits(size_t row, size_t xpanel, size_t words) const {
    const size_t bit = xpanel * NR;
    const uint64_t word = bits[row * words + bit / 64] >> (bit % 64);
    return NR >= 64 ? word : word & ((uint64_t{1} << NR) - 1);
  }

  /// Each query's match bits for items [t0, t0 + tn); false when none matches any.
  bool mark_matches(const Shared& s, const size_t* rows, size_t n_rows, size_t t0, size_t tn) {
    const TopKProblem& p = s.p;
    const size_t words = s.tile / 64;
    std::fill(bits.begin(), bits.end(), 0);
    std::fill(panel_used.begin(), panel_used.end(), 0);
    bool any = false;
    const int64_t end = static_cast<int64_t>(t0 + tn);
    for (size_t i = 0; i < n_rows; ++i) {
      const MatchList& list = p.matches[rows[i]];
      uint64_t* row_bits = bits.data() + i * words;
      size_t at = cursor[i];
      int64_t previous = last[i];
      if (list.size == p.count) {  // every item matches (the list is 0..count-1)
        for (size_t w = 0; w < (tn + 63) / 64; ++w) row_bits[w] = ~uint64_t{0};
        if (tn % 64) row_bits[tn / 64] = (uint64_t{1} << (tn % 64)) - 1;
        at = t0 + tn;
        previous = end - 1;
      } else {
        for (; at < list.size && list.ids[at] < end; ++at) {
          const int64_t id = list.ids[at];
          if (id < 0) bad_list(rows[i], "id " + std::to_string(id) + " is negative");
          if (id <= previous) {
            bad_list(rows[i], "not sorted ascending without repeats (" + std::to_string(id) +
                                  " after " + std::to_string(previous) + ")");
          }
          previous = id;
          const size_t offset = static_cast<size_t>(id) - t0;
          row_bits[offset / 64] |= uint64_t{1} << (offset % 64);
        }
      }
      if (at != cursor[i]) any = true;
      cursor[i] = at;
      last[i] = previous;
    }
    if (!any) return false;
    for (size_t i = 0; i < n_rows; ++i) {
      for (size_t xpanel = 0; xpanel < (tn + NR - 1) / NR; ++xpanel) {
        if (panel_bits(i, xpanel, words)) panel_used[xpanel] = 1;
      }
    }
    return true;
  }

  /// Pack the used NR-item panels of the tile (k-major, zero beyond the base).
  void pack_tile(const Shared& s, size_t t0, size_t tn, size_t /*n_rows*/) {
    const TopKProblem& p = s.p;
    const size_t dim = p.dim;
    for (size_t xpanel = 0; xpanel < (tn + NR - 1) / NR; ++xpanel) {
      if (!panel_used[xpanel]) continue;
      float* panel = xpack.data() + xpanel * dim * NR;
      const size_t first = xpanel * NR, valid = std::min<size_t>(NR, tn - first);
      const float* rows[NR];
      for (size_t j = 0; j < valid; ++j) rows[j] = p.vectors + (t0 + first + j) * dim;
      // Contiguous writes, one read stream per item row (each cache line serves 16 k).
      for (size_t k = 0; k < dim; ++k) {
        float* out = panel + k * NR;
        for (size_t j = 0; j < valid; ++j) out[j] = rows[j][k];
        for (size_t j = valid; j < NR; ++j) out[j] = 0.0f;
      }
    }
  }
};

enum class Kind { Scalar, Avx2, Avx512 };

Kind active_kind() {
  const std::string level = simd_level();  // follows force_scalar_kernels
  if (level == "avx512") return Kind::Avx512;
  if (level == "avx2") return Kind::Avx2;
  return Kind::Scalar;
}

template <int MR, int NR, void (*Kernel)(const float*, const float*, size_t, float*)>
void solve(Shared& s, int64_t* ids, float* scores) {
  const TopKProblem& p = s.p;
  const size_t threads = static_cast<size_t>(std::max(1, p.threads));
  // Blocks of whole micro-panels, as many as a multiple of the thread count.
  const size_t fits = kBlockBytes / (4 * std::max<size_t>(p.dim, 1)) / MR;
  const size_t max_block = std::clamp<size_t>(fits, 1, kMaxPanelsPerBlock) * MR;
  size_t n_blocks = (s.dense.size() + max_block - 1) / max_block;
  if (n_blocks > 0) n_blocks = (n_blocks + threads - 1) / threads * threads;
  if (n_blocks > 0) {
    const size_t per_block = (s.dense.size() + n_blocks - 1) / n_blocks;
    s.block = std::max<size_t>(MR, (per_block + MR - 1) / MR * MR);
    n_blocks = (s.dense.size() + s.block - 1) / s.block;
  }
  s.tile = std::clamp<size_t>(kTileBytes / (4 * std::max<size_t>(p.dim, 1)) / 64 * 64, 64, 4096);
  struct Context {
    DenseWorkspace<MR, NR, Kernel> dense;
    BestK heap;
  };
  parallel_for_each(
      n_blocks + s.sparse.size(), p.threads, [] { return Context(); },
      [&](Context& context, size_t item) {
        if (item < n_blocks) {
          const size_t start = item * s.block;
          const size_t size = std::min(s.block, s.dense.size() - start);
          context.dense.run(s, s.dense.data() + start, size, ids, scores);
        } else {
          sparse_query(s, s.sparse[item - n_blocks], context.heap, ids, scores);
        }
      });
}

void squared_norms(const float* rows, size_t n, size_t dim, int threads, std::vector<float>& out) {
  const DistanceF32 negdot = distance_kernels(Metric::InnerProduct).f32;
  out.resize(n);
  const size_t chunk = 4096;
  parallel_for_each(
      (n + chunk - 1) / chunk, threads, [] { return 0; },
      [&](int&, size_t c) {
        for (size_t i = c * chunk; i < std::min(n, (c + 1) * chunk); ++i) {
          out[i] = -negdot(rows + i * dim, rows + i * dim, dim);
        }
      });
}

}  // namespace

const char* matmul_kernel_name() {
  switch (active_kind()) {
    case Kind::Avx512:
      return "avx512";
    case Kind::Avx2:
      return "avx2";
    default:
      return "scalar";
  }
}

void masked_top_k(const TopKProblem& p, int64_t* ids, float* scores) {
  if (p.matches.size() != p.nq) throw std::invalid_argument("one match list per query is needed");
  if (p.depth == 0) throw std::invalid_argument("depth must be >= 1");
  Shared s{p, {}, {}, {}, {}};
  for (size_t q = 0; q < p.nq; ++q) {
    const bool few = static_cast<double>(p.matches[q].size) < p.gather_below * static_cast<double>(p.count);
    (few ? s.sparse : s.dense).push_back(q);
  }
  if (p.metric == Metric::L2) {
    squared_norms(p.queries, p.nq, p.dim, p.threads, s.query_norms);
    squared_norms(p.vectors, p.count, p.dim, p.threads, s.vector_norms);
  }
  switch (active_kind()) {
#ifdef FANNS_GT_X86
    case Kind::Avx512:
      solve<12, 32, kernel_avx512>(s, ids, scores);
      return;
    case Kind::Avx2:
      solve<6, 16, kernel_avx2>(s, ids, scores);
      return;
#endif
    default:
      solve<4, 16, kernel_scalar<4, 16>>(s, ids, scores);
  }
}

}  // namespace fanns::groundtruth
