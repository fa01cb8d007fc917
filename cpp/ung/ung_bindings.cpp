// Bindings of UNG: validate arrays, release the GIL, return numpy arrays.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "bindings/arrays.h"
#include "bindings/param_fields.h"
#include "bindings/search_results.h"
#include "core/distance.h"
#include "ung/ung_index.h"

namespace nb = nanobind;
using namespace nb::literals;
using namespace fanns::bindings;

namespace {

/// Check CSR label sets: offsets (sets + 1) non-decreasing from 0 to len(labels), labels >= 0.
fanns::ung::LabelSetsView label_sets(const AnyArray& offsets, const AnyArray& labels,
                                     const char* offsets_name, const char* labels_name) {
  const int64_t* off = checked<int64_t>(offsets, offsets_name, 1);
  const int32_t* lab = static_cast<const int32_t*>(labels.data());
  if (labels.dtype() != nb::dtype<int32_t>()) {
    throw std::invalid_argument(std::string(labels_name) + " must have dtype int32, got " +
                                dtype_name(labels.dtype()));
  }
  if (labels.ndim() != 1 || (labels.shape(0) > 1 && labels.stride(0) != 1)) {
    throw std::invalid_argument(std::string(labels_name) + " must be a contiguous 1-dimensional array");
  }
  const size_t count = labels.shape(0);
  if (offsets.shape(0) < 1) throw std::invalid_argument(std::string(offsets_name) + " must not be empty");
  const size_t sets = offsets.shape(0) - 1;
  if (off[0] != 0 || off[sets] != static_cast<int64_t>(count)) {
    throw std::invalid_argument(std::string(offsets_name) + " must start at 0 and end at len(" + labels_name +
                                ") = " + std::to_string(count));
  }
  for (size_t i = 0; i < sets; ++i) {
    if (off[i + 1] < off[i]) {
      throw std::invalid_argument(std::string(offsets_name) + " must be non-decreasing (set " +
                                  std::to_string(i) + ")");
    }
  }
  for (size_t i = 0; i < count; ++i) {
    if (lab[i] < 0) {
      throw std::invalid_argument(std::string(labels_name) + " must be >= 0, got " + std::to_string(lab[i]) +
                                  " at position " + std::to_string(i));
    }
  }
  return {off, lab, sets};
}

class PyUng {
 public:
  PyUng(size_t dim, const std::string& metric, const fanns::ung::BuildParams& params)
      : index_(std::make_unique<fanns::ung::UngIndex>(dim, fanns::parse_metric(metric), params)) {}
  explicit PyUng(fanns::ung::UngIndex&& index)
      : index_(std::make_unique<fanns::ung::UngIndex>(std::move(index))) {}

  void build(const AnyArray& vectors, const AnyArray& label_offsets, const AnyArray& labels, int threads) {
    const float* data = checked_vectors(vectors, "vectors", index_->dim());
    const auto sets = label_sets(label_offsets, labels, "label_offsets", "labels");
    const size_t count = vectors.shape(0);
    if (sets.count != count) {
      throw std::invalid_argument("label_offsets must have len(vectors) + 1 = " + std::to_string(count + 1) +
                                  " entries, got " + std::to_string(sets.count + 1));
    }
    nb::gil_scoped_release release;
    index_->build(data, count, sets, threads);
  }

  nb::tuple search(const AnyArray& queries, int k, int L_search, int num_entry_points, int threads,
                   const AnyArray& set_offsets, const AnyArray& set_labels, const AnyArray& set_rows,
                   const std::string& mode, const std::string& entry_points) {
    check_built(index_->is_built());
    check_positive(k, "k");
    const float* q = checked_vectors(queries, "queries", index_->dim());
    const size_t nq = queries.shape(0);
    const auto sets = label_sets(set_offsets, set_labels, "set_offsets", "set_labels");
    const int64_t* rows = checked_per_query<int64_t>(set_rows, "set_rows", nq);
    for (size_t i = 0; i < nq; ++i) {
      if (rows[i] < 0 || static_cast<size_t>(rows[i]) >= sets.count) {
        throw std::invalid_argument("set_rows[" + std::to_string(i) + "] = " + std::to_string(rows[i]) +
                                    " is not a label set (there are " + std::to_string(sets.count) + ")");
      }
    }
    const auto query_mode = fanns::ung::parse_mode(mode);
    const auto entries = fanns::ung::parse_entry_points(entry_points);
    fanns::ung::SearchParams params;
    params.k = k;
    params.L_search = L_search;
    params.num_entry_points = num_entry_points;
    params.entry_points = entries;
    SearchResults results(nq, k);
    {
      nb::gil_scoped_release release;
      index_->search(q, nq, sets, rows, query_mode, params, threads,
                     results.ids(), results.distances(), results.counts());
    }
    return results.to_python();
  }

  const fanns::ung::UngIndex& index() const { return *index_; }

  static void more_params(const PyUng& self, nb::dict& d) {
    d["scenario"] = fanns::ung::scenario_name(self.index_->params().scenario);
  }

  nb::dict graph_stats() const {
    nb::dict d;
    const size_t n = index_->is_built() ? index_->size() : 0;
    d["groups"] = index_->group_count();
    d["label_graph_edges"] = index_->lng_edge_count();
    d["edges"] = index_->edge_count();
    d["cross_edges"] = index_->cross_edge_count();
    d["mean_degree"] = n ? static_cast<double>(index_->edge_count()) / n : 0.0;
    return d;
  }

  std::vector<int64_t> neighbors(int64_t item) const { return index_->neighbors(item); }

 private:
  std::unique_ptr<fanns::ung::UngIndex> index_;
};

}  // namespace

void register_ung(nb::module_& m) {
  nb::class_<PyUng> cls(m, "UngIndex", "UNG: unified navigating graph over label sets (Cai et al., SIGMOD 2025).");
  def_index_basics<PyUng, fanns::ung::UngIndex>(cls);
  // (dim, metric, scenario=..., **fields): no defaults, the Python method's declaration is the one source.
  cls.def(
      "__init__",
      [](PyUng* self, size_t dim, const std::string& metric, nb::kwargs kwargs) {
        auto params = take_params<fanns::ung::BuildParams>(kwargs);
        params.scenario = fanns::ung::parse_scenario(take_keyword<std::string>(kwargs, "scenario"));
        reject_unknown_keywords(kwargs);
        new (self) PyUng(dim, metric, params);
      },
      "dim"_a, "metric"_a, "params"_a);
  def_param_info<PyUng, fanns::ung::BuildParams, false>(cls, &PyUng::more_params);
  cls
      .def("build", &PyUng::build, "vectors"_a, "label_offsets"_a, "labels"_a, "threads"_a,
           "Index float32 (N, dim) vectors with label sets in CSR form (int64 `label_offsets` of N + 1, "
           "int32 `labels` >= 0). The result does not depend on `threads`.")
      .def("search", &PyUng::search, "queries"_a, "k"_a, "L_search"_a, "num_entry_points"_a, "threads"_a,
           "set_offsets"_a, "set_labels"_a, "set_rows"_a, "mode"_a, "entry_points"_a,
           "Query i searches for items whose label set contains (mode 'containment') or equals (mode "
           "'equality') label set set_rows[i] of the CSR sets; entry_points 'first' (the authors' program) or "
           "'drawn' (ours) chooses each entry group's sigma - 1 extra entry points. Returns (ids int64 (nq, k) padded with -1, "
           "distances float32 (smaller is closer), distance computations uint64 (nq,)).")
      .def("graph_stats", &PyUng::graph_stats)
      .def("neighbors", &PyUng::neighbors, "item"_a);
}
