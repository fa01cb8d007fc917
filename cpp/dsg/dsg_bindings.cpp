// Bindings of DSG: validate arrays, release the GIL, return numpy arrays.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "bindings/arrays.h"
#include "core/distance.h"
#include "serf/range_arrays.h"
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
    const float* data = checked<float>(vectors, "vectors", 2);
    check_dim(vectors, "vectors");
    const size_t count = vectors.shape(0);
    nb::gil_scoped_release release;
    index_->build(data, count, threads);
  }

  nb::tuple search(const AnyArray& queries, const AnyArray& starts, const AnyArray& stops, int k,
                   int ef_search, int scan_below, int threads) {
    if (!index_->is_built()) throw std::runtime_error("the index is not built yet");
    const float* q = checked<float>(queries, "queries", 2);
    check_dim(queries, "queries");
    if (k < 1) throw std::invalid_argument("k must be >= 1, got " + std::to_string(k));
    if (ef_search < 1) throw std::invalid_argument("ef_search must be >= 1, got " + std::to_string(ef_search));
    if (scan_below < 0) throw std::invalid_argument("scan_below must be >= 0, got " + std::to_string(scan_below));
    const size_t nq = queries.shape(0);
    const int64_t* start_data = nullptr;
    const int64_t* stop_data = nullptr;
    check_position_ranges(starts, stops, nq, index_->size(), start_data, stop_data);
    const size_t kk = static_cast<size_t>(k);
    std::unique_ptr<int64_t[]> ids(new_buffer<int64_t>(nq * kk));
    std::unique_ptr<float[]> distances(new_buffer<float>(nq * kk));
    std::unique_ptr<uint64_t[]> counts(new_buffer<uint64_t>(nq));
    {
      nb::gil_scoped_release release;
      index_->search(q, nq, start_data, stop_data, kk, static_cast<size_t>(ef_search),
                     static_cast<size_t>(scan_below), threads, ids.get(),
                     distances.get(), counts.get());
    }
    return nb::make_tuple(wrap(ids.release(), {nq, kk}), wrap(distances.release(), {nq, kk}),
                          wrap(counts.release(), {nq}));
  }

  void save(const std::string& path) const {
    nb::gil_scoped_release release;
    index_->save(path);
  }

  static PyDsg load(const std::string& path) {
    nb::gil_scoped_release release;
    return PyDsg(fanns::dsg::DsgIndex::load(path));
  }

  size_t memory_bytes() const { return index_->memory_bytes(); }
  size_t size() const { return index_->is_built() ? index_->size() : 0; }
  size_t dim() const { return index_->dim(); }
  bool is_built() const { return index_->is_built(); }

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
    const size_t n = size();
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

  void check_dim(const AnyArray& a, const char* name) const {
    if (a.shape(1) != index_->dim()) {
      throw std::invalid_argument(std::string(name) + " have dimension " + std::to_string(a.shape(1)) +
                                  ", the index expects " + std::to_string(index_->dim()));
    }
  }

  std::unique_ptr<fanns::dsg::DsgIndex> index_;
};

}  // namespace

void register_dsg(nb::module_& m) {
  nb::class_<PyDsg>(m, "DsgIndex", "DSG dynamic segment graph over items in attribute order.")
      .def(nb::init<size_t, const std::string&, int, int, int, float, uint64_t>(),
           // No defaults here: the Python method's parameter declaration is the one source.
           "dim"_a, "metric"_a, nb::kw_only(), "M"_a, "ef_construction"_a, "ef_max"_a, "alpha"_a, "seed"_a)
      .def("build", &PyDsg::build, "vectors"_a, "threads"_a,
           "Index float32 C-contiguous (N, dim) vectors in attribute order (row i = position i); "
           "the result is deterministic and independent of `threads`.")
      .def("search", &PyDsg::search, "queries"_a, "starts"_a, "stops"_a, "k"_a, "ef_search"_a, "scan_below"_a,
           "threads"_a,
           "Range-filtered k-NN: query i returns positions in [starts[i], stops[i]) only; ranges of "
           "fewer than scan_below items are scored exhaustively (0: never). Returns "
           "(positions int64 (nq, k) padded with -1, distances float32 (smaller is closer), distance "
           "computations uint64 (nq,)).")
      .def("save", &PyDsg::save, "path"_a)
      .def_static("load", &PyDsg::load, "path"_a)
      .def("memory_bytes", &PyDsg::memory_bytes)
      .def("graph_stats", &PyDsg::graph_stats)
      .def_prop_ro("size", &PyDsg::size)
      .def_prop_ro("dim", &PyDsg::dim)
      .def_prop_ro("is_built", &PyDsg::is_built)
      .def_prop_ro("params", &PyDsg::params);
}
