// Bindings of the exact filtered top-k used for ground truth (fanns_bench/groundtruth.py).
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <string>
#include <vector>

#include "bindings/arrays.h"
#include "groundtruth/masked_topk.h"

namespace nb = nanobind;
using namespace nb::literals;
using namespace fanns::bindings;

namespace {

nb::tuple filtered_top_k(const AnyArray& queries, const AnyArray& vectors,
                         const std::vector<AnyArray>& match_ids, size_t depth, const std::string& metric,
                         double gather_below, int threads) {
  fanns::groundtruth::TopKProblem problem;
  problem.queries = checked<float>(queries, "queries", 2);
  problem.vectors = checked<float>(vectors, "vectors", 2);
  problem.nq = queries.shape(0);
  problem.count = vectors.shape(0);
  problem.dim = vectors.shape(1);
  if (queries.shape(1) != problem.dim) {
    throw std::invalid_argument("queries have dimension " + std::to_string(queries.shape(1)) +
                                ", vectors " + std::to_string(problem.dim));
  }
  if (match_ids.size() != problem.nq) {
    throw std::invalid_argument(std::to_string(problem.nq) + " queries but " +
                                std::to_string(match_ids.size()) + " match id arrays");
  }
  if (depth < 1) throw std::invalid_argument("depth must be >= 1");
  if (threads < 1) throw std::invalid_argument("threads must be >= 1");
  problem.matches.reserve(match_ids.size());
  for (size_t i = 0; i < match_ids.size(); ++i) {
    const std::string name = "match_ids[" + std::to_string(i) + "]";
    const int64_t* ids = checked<int64_t>(match_ids[i], name.c_str(), 1);
    problem.matches.push_back({ids, match_ids[i].shape(0)});
  }
  problem.depth = depth;
  problem.metric = fanns::parse_metric(metric);
  problem.gather_below = gather_below;
  problem.threads = threads;
  int64_t* ids = new_buffer<int64_t>(problem.nq * depth);
  float* scores = new_buffer<float>(problem.nq * depth);
  try {
    nb::gil_scoped_release release;
    fanns::groundtruth::masked_top_k(problem, ids, scores);
  } catch (...) {
    delete[] ids;
    delete[] scores;
    throw;
  }
  return nb::make_tuple(wrap(ids, {problem.nq, depth}), wrap(scores, {problem.nq, depth}));
}

}  // namespace

void register_groundtruth(nb::module_& m) {
  m.def("filtered_top_k", &filtered_top_k, "queries"_a, "vectors"_a, "match_ids"_a, "depth"_a,
        "metric"_a, "gather_below"_a, "threads"_a,
        "Exact top-`depth` ids (-1 padded) and scores (NaN padded; higher is better) of each "
        "query among its sorted match ids; ties go to the smaller id.");
  m.def("groundtruth_kernel", &fanns::groundtruth::matmul_kernel_name,
        "Instruction set of the ground-truth matrix micro-kernel.");
}
