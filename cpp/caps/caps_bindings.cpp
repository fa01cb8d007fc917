// Bindings of CAPS: validate arrays, release the GIL, return numpy arrays.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bindings/arrays.h"
#include "bindings/param_fields.h"
#include "bindings/search_results.h"
#include "caps/caps_index.h"
#include "core/distance.h"

namespace nb = nanobind;
using namespace nb::literals;
using namespace fanns::bindings;

namespace {

/// int64 value tokens (rows x attributes) as int32, each >= `lowest`.
std::vector<int32_t> checked_values(const AnyArray& array, const char* name, size_t rows, size_t attributes,
                                    int64_t lowest) {
  const int64_t* raw = checked<int64_t>(array, name, 2);
  if (array.shape(0) != rows || array.shape(1) != attributes) {
    throw std::invalid_argument(std::string(name) + " must have shape (" + std::to_string(rows) + ", " +
                                std::to_string(attributes) + "), got (" + std::to_string(array.shape(0)) + ", " +
                                std::to_string(array.shape(1)) + ")");
  }
  std::vector<int32_t> out(rows * attributes);
  for (size_t i = 0; i < out.size(); ++i) {
    if (raw[i] < lowest || raw[i] > INT32_MAX) {
      throw std::invalid_argument(std::string(name) + " holds " + std::to_string(raw[i]) + " at row " +
                                  std::to_string(i / (attributes ? attributes : 1)) + "; expected a value token >= 0" +
                                  (lowest == -1 ? " or -1 (null)" : ", -1 (any) or -2 (no item has it)"));
    }
    out[i] = static_cast<int32_t>(raw[i]);
  }
  return out;
}

class PyCaps {
 public:
  PyCaps(size_t dim, const std::string& metric, const fanns::caps::BuildParams& params)
      : index_(std::make_unique<fanns::caps::CapsIndex>(dim, fanns::parse_metric(metric), params)) {}
  explicit PyCaps(fanns::caps::CapsIndex&& index)
      : index_(std::make_unique<fanns::caps::CapsIndex>(std::move(index))) {}

  void build(const AnyArray& vectors, const AnyArray& centroids, const AnyArray& assignment, const AnyArray& values) {
    const float* data = checked_vectors(vectors, "vectors", index_->dim());
    const size_t count = vectors.shape(0);
    const float* c = checked_vectors(centroids, "centroids", index_->dim());
    const size_t clusters = static_cast<size_t>(index_->params().clusters);
    if (centroids.shape(0) != clusters) {
      throw std::invalid_argument("centroids must have one row per cluster (" + std::to_string(clusters) +
                                  "), got " + std::to_string(centroids.shape(0)));
    }
    const int64_t* assign = checked<int64_t>(assignment, "assignment", 1);
    if (assignment.shape(0) != count) {
      throw std::invalid_argument("assignment must have one entry per vector (" + std::to_string(count) + "), got " +
                                  std::to_string(assignment.shape(0)));
    }
    if (values.ndim() != 2) throw std::invalid_argument("values must be 2-dimensional (items x attributes)");
    const size_t attributes = values.shape(1);
    auto tokens = checked_values(values, "values", count, attributes, -1);
    nb::gil_scoped_release release;
    index_->build(data, count, c, assign, tokens.data(), attributes);
  }

  nb::tuple search(const AnyArray& queries, const AnyArray& query_values, int k, int max_distances, int threads,
                   bool exact_top_k, bool fix_open_attributes) {
    check_built(index_->is_built());
    const float* q = checked_vectors(queries, "queries", index_->dim());
    const size_t nq = queries.shape(0);
    check_positive(k, "k");
    if (max_distances < 1) {
      throw std::invalid_argument("max_distances must be >= 1, got " + std::to_string(max_distances));
    }
    auto wanted = checked_values(query_values, "query_values", nq, index_->attributes(), -2);
    SearchResults results(nq, k);
    {
      nb::gil_scoped_release release;
      fanns::caps::SearchParams params;
      params.k = k;
      params.max_distances = max_distances;
      params.exact_top_k = exact_top_k;
      params.fix_open_attributes = fix_open_attributes;
      index_->search(q, nq, wanted.data(), params, threads,
                     results.ids(), results.distances(), results.counts());
    }
    return results.to_python();
  }

  static void more_params(const PyCaps& self, nb::dict& d) { d["attributes"] = self.index_->attributes(); }

  nb::object bucket_sizes() const {
    const auto sizes = index_->bucket_sizes();
    return id_array(sizes.data(), sizes.size());
  }

  const fanns::caps::CapsIndex& index() const { return *index_; }

 private:

  std::unique_ptr<fanns::caps::CapsIndex> index_;
};

}  // namespace

void register_caps(nb::module_& m) {
  nb::class_<PyCaps> cls(m, "CapsIndex", "CAPS: k-means partitions with per-partition attribute frequency trees.");
  def_index_basics<PyCaps, fanns::caps::CapsIndex>(cls);
  def_param_fields<PyCaps, fanns::caps::BuildParams, false>(cls, &PyCaps::more_params);
  cls.def("build", &PyCaps::build, "vectors"_a, "centroids"_a, "assignment"_a, "values"_a,
           "Index float32 (N, dim) vectors with k-means `centroids` (clusters, dim), int64 `assignment` (N,) "
           "and int64 value tokens `values` (N, attributes; -1 = null).")
      .def("search", &PyCaps::search, "queries"_a, "query_values"_a, "k"_a, "max_distances"_a, "threads"_a,
           // No defaults for the two flags: the Python method's parameter declaration is the one source.
           nb::kw_only(), "exact_top_k"_a, "fix_open_attributes"_a,
           "Search with a budget of `max_distances` distance computations per query; `query_values` (nq, "
           "attributes) int64: required token, -1 = any, -2 = a value no item has. exact_top_k: an exact "
           "bounded heap (False: the authors' stale maximum); fix_open_attributes: each partition's own "
           "tree and every bucket for open attributes (False: partition 0's tree, and no remainder "
           "bucket when every attribute is open, as the authors' program). Returns (ids int64 (nq, k) "
           "padded with -1, distances float32, distance computations uint64 (nq,)).")
      .def("bucket_sizes", &PyCaps::bucket_sizes);
}
