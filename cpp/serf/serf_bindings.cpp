// Bindings of SeRF: validate arrays, release the GIL, return numpy arrays.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "bindings/arrays.h"
#include "bindings/param_fields.h"
#include "bindings/range_arrays.h"
#include "bindings/search_results.h"
#include "core/distance.h"
#include "serf/serf_index.h"

namespace nb = nanobind;
using namespace nb::literals;
using namespace fanns::bindings;

namespace {

class PySerf {
 public:
  PySerf(size_t dim, const std::string& metric, const fanns::serf::BuildParams& params)
      : index_(std::make_unique<fanns::serf::SerfIndex>(dim, fanns::parse_metric(metric), params)) {}

  explicit PySerf(fanns::serf::SerfIndex&& index)
      : index_(std::make_unique<fanns::serf::SerfIndex>(std::move(index))) {}

  void build(const AnyArray& vectors) {
    const float* data = checked_vectors(vectors, "vectors", index_->dim());
    const size_t count = vectors.shape(0);
    nb::gil_scoped_release release;
    index_->build(data, count);
  }

  const auto& index() const { return *index_; }

  nb::dict graph_stats() const {
    const auto& g = index_->graph();
    const size_t n = index_->is_built() ? index_->size() : 0;
    nb::dict d;
    d["segments"] = g.segment_ends.size();
    d["forward_edges"] = g.neighbors.size();
    d["reverse_edges"] = g.reverse.size();
    d["mean_segments"] = n ? static_cast<double>(g.segment_ends.size()) / n : 0.0;
    d["mean_forward_edges"] = n ? static_cast<double>(g.neighbors.size()) / n : 0.0;
    d["mean_reverse_edges"] = n ? static_cast<double>(g.reverse.size()) / n : 0.0;
    d["graph_bytes"] = g.memory_bytes();
    return d;
  }

 private:
  std::unique_ptr<fanns::serf::SerfIndex> index_;
};

}  // namespace

void register_serf(nb::module_& m) {
  nb::class_<PySerf> cls(m, "SerfIndex", "SeRF 2D segment graph over items in attribute order.");
  def_segment_search(cls);
  def_index_basics<PySerf, fanns::serf::SerfIndex>(cls);
  def_param_fields<PySerf, fanns::serf::BuildParams, false>(cls);
  cls.def("build", &PySerf::build, "vectors"_a,
           "Index float32 C-contiguous (N, dim) vectors in attribute order (row i = position i); "
           "single-threaded and deterministic.")
      .def("graph_stats", &PySerf::graph_stats);
}
