// Bindings of iRangeGraph: validate arrays, release the GIL, return numpy arrays.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "bindings/arrays.h"
#include "bindings/param_fields.h"
#include "bindings/position_ranges.h"
#include "bindings/search_results.h"
#include "core/distance.h"
#include "core/vector_store.h"
#include "irangegraph/irangegraph_index.h"

namespace nb = nanobind;
using namespace nb::literals;
using namespace fanns::bindings;

namespace {

class PyIRangeGraph {
 public:
  PyIRangeGraph(size_t dim, const std::string& metric, const std::string& storage,
                const fanns::irangegraph::BuildParams& params)
      : index_(std::make_unique<fanns::irangegraph::IRangeGraphIndex>(dim, fanns::parse_metric(metric),
                                                                      fanns::parse_storage(storage), params)) {}

  explicit PyIRangeGraph(fanns::irangegraph::IRangeGraphIndex&& index)
      : index_(std::make_unique<fanns::irangegraph::IRangeGraphIndex>(std::move(index))) {}

  void build(const AnyArray& vectors, const AnyArray& order, int threads) {
    const OrderedItems items = checked_ordered_items(vectors, order, index_->dim());
    nb::gil_scoped_release release;
    index_->build(items.vectors, items.rows, items.order, items.count, threads);
  }

  nb::tuple search(const AnyArray& queries, int k, int ef_search, int threads, const AnyArray& starts,
                   const AnyArray& stops) {
    const PositionRangeQueries in =
        checked_range_queries(index_->is_built(), index_->dim(), queries, starts, stops, k, ef_search);
    SearchResults results(in.nq, k);
    {
      nb::gil_scoped_release release;
      index_->search(in.queries, in.nq, in.starts, in.stops, k, ef_search, threads, results.ids(),
                     results.distances(), results.counts());
    }
    return results.to_python();
  }

  nb::object links(int64_t position, int layer) const {
    check_link_row(index_->is_built(), index_->size(), position, "layer", layer, index_->layers());
    const int32_t count = index_->link_count(position, layer);
    const int32_t* src = index_->links(position, layer);
    return id_array(src, static_cast<size_t>(count));
  }

  const fanns::irangegraph::IRangeGraphIndex& index() const { return *index_; }
  int layers() const { return index_->layers(); }

 private:
  std::unique_ptr<fanns::irangegraph::IRangeGraphIndex> index_;
};

}  // namespace

void register_irangegraph(nb::module_& m) {
  nb::class_<PyIRangeGraph> cls(m, "IRangeGraphIndex", "iRangeGraph range-filtered graph index.");
  def_index_basics<PyIRangeGraph, fanns::irangegraph::IRangeGraphIndex>(cls);
  def_param_fields<PyIRangeGraph, fanns::irangegraph::BuildParams>(cls);
  cls.def("build", &PyIRangeGraph::build, "vectors"_a, "order"_a, "threads"_a,
           "Index the items `order` (int64 distinct row ids of float32 (N, dim) `vectors`, in attribute "
           "order; items left out are not indexed). "
           "The result does not depend on `threads`.")
      .def("search", &PyIRangeGraph::search, "queries"_a, "k"_a, "ef_search"_a, "threads"_a, "starts"_a,
           "stops"_a,
           "Range-filtered k-NN: query i searches positions [starts[i], stops[i]) of the attribute order. "
           "Returns (item ids int64 (nq, k) padded with -1, distances float32 (smaller is closer), "
           "distance computations uint64 (nq,)).")
      .def("links", &PyIRangeGraph::links, "position"_a, "layer"_a)
      .def_prop_ro("layers", &PyIRangeGraph::layers);
}
