// Bindings of DSG: validate arrays, release the GIL, return numpy arrays.
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
#include "dsg/dsg_index.h"

namespace nb = nanobind;
using namespace nb::literals;
using namespace fanns::bindings;

namespace {

class PyDsg {
 public:
  PyDsg(size_t dim, const std::string& metric, const fanns::dsg::BuildParams& params)
      : index_(std::make_unique<fanns::dsg::DsgIndex>(dim, fanns::parse_metric(metric), params)) {}

  explicit PyDsg(fanns::dsg::DsgIndex&& index)
      : index_(std::make_unique<fanns::dsg::DsgIndex>(std::move(index))) {}

  void build(const AnyArray& vectors, int threads) {
    const float* data = checked_vectors(vectors, "vectors", index_->dim());
    const size_t count = vectors.shape(0);
    nb::gil_scoped_release release;
    index_->build(data, count, threads);
  }

  const auto& index() const { return *index_; }

  nb::dict graph_stats() const {
    const auto& g = index_->graph();
    const size_t n = index_->is_built() ? index_->size() : 0;
    nb::dict d;
    d["edges"] = g.neighbors.size();
    d["mean_degree"] = n ? static_cast<double>(g.neighbors.size()) / n : 0.0;
    d["graph_bytes"] = g.memory_bytes();
    d["huge_page_bytes"] = index_->huge_page_bytes();
    d["vectors_line_offset"] = index_->vectors_line_offset();
    return d;
  }

 private:
  std::unique_ptr<fanns::dsg::DsgIndex> index_;
};

}  // namespace

void register_dsg(nb::module_& m) {
  nb::class_<PyDsg> cls(m, "DsgIndex", "DSG dynamic segment graph over items in attribute order.");
  def_segment_search(cls);
  def_index_basics<PyDsg, fanns::dsg::DsgIndex>(cls);
  def_param_fields<PyDsg, fanns::dsg::BuildParams, false>(cls);
  cls.def("build", &PyDsg::build, "vectors"_a, "threads"_a,
           "Index float32 C-contiguous (N, dim) vectors in attribute order (row i = position i); "
           "the result is deterministic and independent of `threads`.")
      .def("graph_stats", &PyDsg::graph_stats);
}
