// Bindings of FilteredVamana / StitchedVamana: validate arrays, release the GIL, return numpy arrays.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bindings/arrays.h"
#include "bindings/param_fields.h"
#include "bindings/search_results.h"
#include "core/distance.h"
#include "vamana/vamana_index.h"

namespace nb = nanobind;
using namespace nb::literals;
using namespace fanns::bindings;

namespace {

/// Item labels from CSR int64 arrays, checked: offsets start at 0, never decrease, end at
/// len(labels); labels of an item sorted, unique, in [0, label_count).
fanns::vamana::LabelSets checked_labels(const AnyArray& offsets_array, const AnyArray& labels_array,
                                        size_t count, int64_t label_count) {
  const int64_t* offsets = checked<int64_t>(offsets_array, "label_offsets", 1);
  const int64_t* labels = checked<int64_t>(labels_array, "labels", 1);
  if (label_count < 0 || label_count > INT32_MAX) {
    throw std::invalid_argument("label_count must be in [0, 2^31), got " + std::to_string(label_count));
  }
  if (offsets_array.shape(0) != count + 1) {
    throw std::invalid_argument("label_offsets must have len(vectors) + 1 = " + std::to_string(count + 1) +
                                " entries, got " + std::to_string(offsets_array.shape(0)));
  }
  const size_t total = labels_array.shape(0);
  if (offsets[0] != 0 || offsets[count] != static_cast<int64_t>(total)) {
    throw std::invalid_argument("label_offsets must start at 0 and end at len(labels) = " + std::to_string(total));
  }
  fanns::vamana::LabelSets sets;
  sets.label_count = static_cast<int32_t>(label_count);
  sets.offsets.resize(count + 1);
  sets.labels.resize(total);
  for (size_t i = 0; i < count; ++i) {
    if (offsets[i + 1] < offsets[i]) {
      throw std::invalid_argument("label_offsets must be non-decreasing (item " + std::to_string(i) + ")");
    }
    sets.offsets[i] = static_cast<uint64_t>(offsets[i]);
    for (int64_t j = offsets[i]; j < offsets[i + 1]; ++j) {
      if (labels[j] < 0 || labels[j] >= label_count) {
        throw std::invalid_argument("label " + std::to_string(labels[j]) + " of item " + std::to_string(i) +
                                    " is outside [0, label_count = " + std::to_string(label_count) + ")");
      }
      if (j > offsets[i] && labels[j] <= labels[j - 1]) {
        throw std::invalid_argument("labels of item " + std::to_string(i) + " must be sorted and unique");
      }
      sets.labels[j] = static_cast<int32_t>(labels[j]);
    }
  }
  sets.offsets[count] = total;
  return sets;
}

/// The Python-facing index of one variant, whose build parameters are P's fields.
template <class P>
class PyVamana {
 public:
  PyVamana(size_t dim, const std::string& metric, const P& params)
      : index_(std::make_unique<fanns::vamana::VamanaIndex>(dim, fanns::parse_metric(metric), params.engine())) {}

  explicit PyVamana(fanns::vamana::VamanaIndex&& index)
      : index_(std::make_unique<fanns::vamana::VamanaIndex>(std::move(index))) {}

  void build(const AnyArray& vectors, const AnyArray& label_offsets, const AnyArray& labels, int64_t label_count,
             int threads) {
    const float* data = checked_vectors(vectors, "vectors", index_->dim());
    const size_t count = vectors.shape(0);
    auto sets = checked_labels(label_offsets, labels, count, label_count);
    nb::gil_scoped_release release;
    index_->build(data, count, std::move(sets), threads);
  }

  nb::tuple search(const AnyArray& queries, const AnyArray& query_labels, int k, int L, int threads) {
    check_built(index_->is_built());
    const float* q = checked_vectors(queries, "queries", index_->dim());
    const size_t nq = queries.shape(0);
    const int64_t* raw = checked_per_query<int64_t>(query_labels, "query_labels", nq);
    check_positive(k, "k");
    check_positive(L, "L");
    std::vector<int32_t> labels(nq);
    for (size_t i = 0; i < nq; ++i) {
      if (raw[i] < fanns::vamana::kUnfiltered || raw[i] >= index_->label_count()) {
        throw std::invalid_argument("query_labels[" + std::to_string(i) + "] = " + std::to_string(raw[i]) +
                                    " is not a label (0.." + std::to_string(index_->label_count() - 1) +
                                    "), -1 (no match) or -2 (unfiltered)");
      }
      labels[i] = static_cast<int32_t>(raw[i]);
    }
    SearchResults results(nq, k);
    {
      nb::gil_scoped_release release;
      fanns::vamana::SearchParams params;
      params.k = k;
      params.L = L;
      index_->search(q, nq, labels.data(), params, threads,
                     results.ids(), results.distances(), results.counts());
    }
    return results.to_python();
  }

  nb::dict graph_stats() const {
    nb::dict d;
    const size_t n = index_->is_built() ? index_->size() : 0;
    const size_t edges = index_->adjacency().size();
    d["edges"] = edges;
    d["mean_degree"] = n ? static_cast<double>(edges) / n : 0.0;
    size_t max_degree = 0;
    const auto& off = index_->offsets();
    for (size_t i = 0; i + 1 < off.size(); ++i) max_degree = std::max<size_t>(max_degree, off[i + 1] - off[i]);
    d["max_degree"] = max_degree;
    d["medoid"] = index_->medoid();
    d["label_count"] = index_->label_count();
    return d;
  }

  nb::object neighbors(int64_t node) const {
    if (!index_->is_built() || node < 0 || static_cast<size_t>(node) >= index_->size()) {
      throw std::invalid_argument("node " + std::to_string(node) + " is not in the index");
    }
    const auto& off = index_->offsets();
    return id_array(index_->adjacency().data() + off[node], off[node + 1] - off[node]);
  }

  nb::object label_starts() const {
    const auto& starts = index_->label_starts();
    return id_array(starts.data(), starts.size());
  }

  const fanns::vamana::VamanaIndex& index() const { return *index_; }
  int64_t label_count() const { return index_->label_count(); }

 private:
  std::unique_ptr<fanns::vamana::VamanaIndex> index_;
};

template <class P>
void def_vamana(nb::module_& m, const char* name, const char* doc) {
  using Py = PyVamana<P>;
  nb::class_<Py> cls(m, name, doc);
  def_index_basics<Py, fanns::vamana::VamanaIndex>(cls, &load_kind<fanns::vamana::VamanaIndex, P>);
  def_param_fields<Py, P, false>(cls);
  cls.def("build", &Py::build, "vectors"_a, "label_offsets"_a, "labels"_a, "label_count"_a, "threads"_a,
          "Index float32 (N, dim) vectors; item i carries labels[label_offsets[i]:label_offsets[i+1]] "
          "(int64, sorted, unique, in [0, label_count)). Deterministic with threads=1.")
      .def("search", &Py::search, "queries"_a, "query_labels"_a, "k"_a, "L"_a, "threads"_a,
           "Search; query i carries label query_labels[i] (int64; -1: a label no item has, -2: unfiltered). "
           "Returns (ids int64 (nq, k) padded with -1, distances float32, distance computations uint64 (nq,)).")
      .def("graph_stats", &Py::graph_stats)
      .def("neighbors", &Py::neighbors, "node"_a)
      .def("label_starts", &Py::label_starts)
      .def_prop_ro("label_count", &Py::label_count);
}

}  // namespace

void register_vamana(nb::module_& m) {
  using namespace fanns::vamana;
  def_vamana<FilteredParams>(m, "FilteredVamanaIndex", "filtered_vamana: FilteredVamana label-filtered graph index.");
  def_vamana<StitchedParams>(m, "StitchedVamanaIndex", "stitched_vamana: StitchedVamana label-filtered graph index.");
}
