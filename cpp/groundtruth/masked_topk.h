// Exact filtered top-k: each query's best `depth` items among the ids it may match.
//
// Scores are "higher is better": the inner product for ip, the negated squared Euclidean
// distance for l2. Ties are broken by the smaller id, so the result is one exact answer.
// Queries matching few items score only those (one distance per match); the others are
// scored in a cache-blocked matrix product (packed panels, a SIMD micro-kernel chosen at
// run time) whose tiles are reduced straight into per-query heaps through a tile-local
// match bitmap, so no score matrix is ever stored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/distance.h"

namespace fanns::groundtruth {

/// One query's matching ids: sorted ascending, unique, each in [0, count).
struct MatchList {
  const int64_t* ids;
  size_t size;
};

struct TopKProblem {
  const float* queries;  // nq x dim, row-major
  size_t nq;
  const float* vectors;  // count x dim, row-major
  size_t count;
  size_t dim;
  std::vector<MatchList> matches;  // one per query
  size_t depth;
  Metric metric;
  double gather_below;  // match fraction under which a query scores only its matches
  int threads;
};

/// Fill `ids` (nq x depth, -1 padded) and `scores` (nq x depth, NaN padded), best first.
/// Throws std::invalid_argument when a match list is unsorted, repeats an id or leaves
/// [0, count).
void masked_top_k(const TopKProblem& problem, int64_t* ids, float* scores);

/// Name of the micro-kernel `masked_top_k` uses now ("avx512", "avx2" or "scalar").
const char* matmul_kernel_name();

}  // namespace fanns::groundtruth
