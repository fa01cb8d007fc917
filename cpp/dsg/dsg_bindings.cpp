// Bindings of DSG: validate arrays, release the GIL, return numpy arrays.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "bindings/arrays.h"
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
  PyDsg(size_t dim, const std::string& metric, int M, int ef_construction, int ef_max, float alpha,
        uint64_t seed)
      : index_(std::make_unique<fanns::dsg::DsgIndex>(dim, fanns::parse_metric(metric),
                                                        make_params(M, ef_construction, ef_max, alpha, seed))) {}

  explicit PyDsg(fanns::dsg::DsgIndex&& index)
      : index_(std::make_unique<fanns::dsg::DsgIndex>(std::move(index))) {}

  void build(const AnyArray& vectors, int threads) {
    const float* data = checked_vectors(vectors, "vectors", index_->dim());
    const size_t count = vectors.shape(0);
    nb::gil_scoped_release release;
    index_->build(data, count, threads);
  }

  const auto& index() const { return *index_; }

  nb::dict params() const {
    const auto& p = index_->params();
    nb::dict d;
    d["metric"] = fanns::metric_name(index_->metric());
    d["M"] = p.M;
    d["ef_construction"] = p.ef_construction;
    d["ef_max"] = p.ef_max;
    d["alpha"] = p.alpha;
    d["seed"] = p.seed;
    return d;
  }

  nb::dict graph_stats() const {
    const auto& g = index_->graph();
    const size_t n = index_->is_built() ? index_->size() : 0;
    nb::dict d;
    d["edges"] = g.neighbors.size();
    d["mean_degree"] = n ? static_cast<double>(g.neighbors.size()) / n : 0.0;
    d["graph_bytes"] = g.memory_bytes();
    return d;
  }

 private:
  static fanns::dsg::BuildParams make_params(int M, int ef_construction, int ef_max, float alpha,
                                             uint64_t seed) {
    fanns::dsg::BuildParams p;
    p.M = M;
    p.ef_construction = ef_construction;
    p.ef_max = ef_max;
    p.alpha = alpha;
    p.seed = seed;
    return p;
  }

  std::unique_ptr<fanns::dsg::DsgIndex> index_;
};

}  // namespace

void register_dsg(nb::module_& m) {
  nb::class_<PyDsg> cls(m, "DsgIndex", "DSG dynamic segment graph over items in attribute order.");
  def_segment_search(cls);
  def_index_basics<PyDsg, fanns::dsg::DsgIndex>(cls);
  cls.def(nb::init<size_t, const std::string&, int, int, int, float, uint64_t>(),
          // No defaults here: the Python method's parameter declaration is the one source.
          "dim"_a, "metric"_a, nb::kw_only(), "M"_a, "ef_construction"_a, "ef_max"_a, "alpha"_a, "seed"_a)
      .def("build", &PyDsg::build, "vectors"_a, "threads"_a,
           "Index float32 C-contiguous (N, dim) vectors in attribute order (row i = position i); "
           "the result is deterministic and independent of `threads`.")
      .def("graph_stats", &PyDsg::graph_stats)
      .def_prop_ro("params", &PyDsg::params);
}
