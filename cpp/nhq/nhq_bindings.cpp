// Bindings of NHQ (NSW and KGraph variants): validate arrays, release the GIL, return numpy arrays.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <memory>
#include <type_traits>
#include <stdexcept>
#include <string>

#include "bindings/arrays.h"
#include "bindings/param_fields.h"
#include "bindings/search_results.h"
#include "core/distance.h"
#include "nhq/efanna_random.h"
#include "nhq/nhq_kgraph.h"
#include "nhq/nhq_nsw.h"

namespace nb = nanobind;
using namespace nb::literals;
using namespace fanns::bindings;

namespace {

/// A C-contiguous (rows, columns) int32 array of attribute codes.
const int32_t* codes_array(const AnyArray& a, const char* name, size_t columns) {
  if (a.device_type() != nb::device::cpu::value) throw std::invalid_argument(std::string(name) + " must be a CPU array");
  if (a.dtype() != nb::dtype<int32_t>()) {
    throw std::invalid_argument(std::string(name) + " must have dtype int32, got " + dtype_name(a.dtype()));
  }
  if (a.ndim() != 2 || a.shape(1) != columns) {
    throw std::invalid_argument(std::string(name) + " must have shape (rows, " + std::to_string(columns) + ")");
  }
  if ((a.shape(1) > 1 && a.stride(1) != 1) || (a.shape(0) > 1 && a.stride(0) != static_cast<int64_t>(columns))) {
    throw std::invalid_argument(std::string(name) + " must be C-contiguous (use numpy.ascontiguousarray)");
  }
  return static_cast<const int32_t*>(a.data());
}

template <class Index, class SearchParams>
class PyNhq {
 public:
  using IndexType = Index;
  using Params = std::decay_t<decltype(std::declval<Index>().params())>;

  explicit PyNhq(Index&& index) : index_(std::make_unique<Index>(std::move(index))) {}

  void build(const AnyArray& vectors, const AnyArray& codes, int threads) {
    const float* data = checked_vectors(vectors, "vectors", index_->dim());
    const int32_t* c = codes_array(codes, "codes", index_->attributes());
    if (codes.shape(0) != vectors.shape(0)) {
      throw std::invalid_argument("codes must have one row per vector (" + std::to_string(vectors.shape(0)) + ")");
    }
    nb::gil_scoped_release release;
    index_->build(data, c, vectors.shape(0), threads);
  }

  nb::tuple search(const AnyArray& queries, int k, int width, float weight_search, int threads,
                   const AnyArray& query_codes, const AnyArray& rows) {
    check_built(index_->is_built());
    check_positive(k, "k");
    const float* q = checked_vectors(queries, "queries", index_->dim());
    const int32_t* codes = codes_array(query_codes, "query_codes", index_->attributes());
    const size_t nq = queries.shape(0);
    const int64_t* r = checked_per_query<int64_t>(rows, "rows", nq);
    SearchParams params{k, width, weight_search};
    SearchResults results(nq, k);
    {
      nb::gil_scoped_release release;
      index_->search(q, nq, codes, query_codes.shape(0), r, params, threads,
                     results.ids(), results.distances(), results.counts());
    }
    return results.to_python();
  }

  const Index& index() const { return *index_; }
  size_t attributes() const { return index_->attributes(); }
  std::vector<int64_t> neighbors(int64_t item) const { return index_->neighbors(item); }
  void set_use_layout(bool use) { index_->set_use_layout(use); }
  bool layout_matches() const {
    check_built(index_->is_built());
    return index_->layout_matches();
  }
  void corrupt_layout_for_test(int64_t item) {
    check_built(index_->is_built());
    if (item < 0 || static_cast<size_t>(item) >= index_->size()) {
      throw std::invalid_argument("item " + std::to_string(item) + " is not in the index");
    }
    index_->corrupt_layout_for_test(item);
  }
  static void more_params(const PyNhq& self, nb::dict& d) { d["attributes"] = self.attributes(); }
  nb::dict graph_stats() const {
    nb::dict d;
    d["edges"] = index_->edge_count();
    const size_t n = index_->is_built() ? index_->size() : 0;
    d["mean_degree"] = n ? static_cast<double>(index_->edge_count()) / n : 0.0;
    if constexpr (std::is_same_v<Index, fanns::nhq::NhqKGraphIndex>) {
      d["descent_iterations"] = index_->descent_iterations();  // 0 after load (not stored)
    }
    return d;
  }

 private:
  std::unique_ptr<Index> index_;
};

using PyNhqNsw = PyNhq<fanns::nhq::NhqNswIndex, fanns::nhq::NswSearchParams>;
using PyNhqKGraph = PyNhq<fanns::nhq::NhqKGraphIndex, fanns::nhq::KGraphSearchParams>;

/// (dim, metric, attributes, **params): the parameter struct's fields as keyword arguments.
template <class Py>
void define(nb::class_<Py>& cls, const char* width_name) {
  using Params = typename Py::Params;
  cls.def(nb::new_([](size_t dim, const std::string& metric, size_t attributes, nb::kwargs kwargs) {
            const Params params = take_params<Params>(kwargs);
            reject_unknown_keywords(kwargs);
            return Py(typename Py::IndexType(dim, fanns::parse_metric(metric), attributes, params));
          }),
          "dim"_a, "metric"_a, "attributes"_a, "params"_a);
  def_index_basics<Py, typename Py::IndexType>(cls);
  def_param_info<Py, Params, false>(cls, &Py::more_params);
  cls.def("build", &Py::build, "vectors"_a, "codes"_a, "threads"_a,
          "Index float32 (N, dim) vectors with int32 (N, attributes) codes (-1 = null); "
          "deterministic with threads=1.")
      .def("search", &Py::search, "queries"_a, "k"_a, nb::arg(width_name), "weight_search"_a, "threads"_a,
           "query_codes"_a, "rows"_a,
           "Query i wants the attribute codes query_codes[rows[i]]. Returns (ids int64 (nq, k), fusion "
           "distances float32, distance computations uint64 (nq,)). Ids may differ in attributes "
           "(approximate filtering).")
      .def("graph_stats", &Py::graph_stats)
      .def("neighbors", &Py::neighbors, "item"_a)
      .def("_set_use_layout", &Py::set_use_layout, "use"_a,
           "Search through the node blocks (True, default) or the index's own arrays (tests).")
      .def("_layout_matches", &Py::layout_matches,
           "True when the search-time node blocks hold exactly the index's vectors, codes and lists.")
      .def("_corrupt_layout_for_test", &Py::corrupt_layout_for_test, "item"_a,
           "Tests only: zero one node's vector in the search-time blocks.")
      .def_prop_ro("attributes", &Py::attributes);
}

}  // namespace

void register_nhq(nb::module_& m) {
  // No defaults in the constructors: the Python method's parameter declaration is the one source.
  nb::class_<PyNhqNsw> nsw(m, "NhqNswIndex",
                           "NHQ-NSW: NSW graph with a fusion distance of vector and attribute dissimilarity "
                           "(Wang et al., NeurIPS 2023).");
  define(nsw, "ef_search");
  nb::class_<PyNhqKGraph> kgraph(m, "NhqKGraphIndex",
                                 "NHQ-KGraph: NN-descent graph pruned by NHQ's edge selection, searched with "
                                 "the fusion distance (Wang et al., NeurIPS 2023).");
  define(kgraph, "L_search");
  m.def(
      "_mt19937_first_outputs",
      [](const std::vector<uint32_t>& seeds, size_t count) {
        constexpr size_t lanes = 8;
        std::vector<uint32_t> padded(seeds), out;
        padded.resize((seeds.size() + lanes - 1) / lanes * lanes);
        out.resize(padded.size() * count);
        for (size_t b = 0; b < padded.size(); b += lanes) {
          fanns::nhq::mt19937_first_outputs<lanes>(padded.data() + b, count, out.data() + b * count);
        }
        out.resize(seeds.size() * count);
        return out;
      },
      "seeds"_a, "count"_a,
      "Tests only: the first `count` outputs of std::mt19937(seed) per seed, as NHQ-KGraph's search "
      "draws them (seed-major, one flat list).");
}
