// Bindings of DIGRA: validate arrays, release the GIL, return numpy arrays.
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
#include "digra/digra_index.h"

namespace nb = nanobind;
using namespace nb::literals;
using namespace fanns::bindings;

namespace {

class PyDigra {
 public:
  PyDigra(size_t dim, const std::string& metric, const std::string& storage, const fanns::digra::BuildParams& params)
      : index_(std::make_unique<fanns::digra::DigraIndex>(dim, fanns::parse_metric(metric),
                                                          fanns::parse_storage(storage), params)) {}

  explicit PyDigra(fanns::digra::DigraIndex&& index)
      : index_(std::make_unique<fanns::digra::DigraIndex>(std::move(index))) {}

  void build(const AnyArray& vectors, const AnyArray& order, int threads) {
    const OrderedItems items = checked_ordered_items(vectors, order, index_->dim());
    nb::gil_scoped_release release;
    index_->build(items.vectors, items.rows, items.order, items.count, threads);
  }

  nb::tuple search(const AnyArray& queries, int k, int ef_search, int threads, const AnyArray& starts,
                   const AnyArray& stops, bool strict) {
    const PositionRangeQueries in =
        checked_range_queries(index_->is_built(), index_->dim(), queries, starts, stops, k, ef_search);
    SearchResults results(in.nq, k);
    {
      nb::gil_scoped_release release;
      index_->search(in.queries, in.nq, in.starts, in.stops, k, ef_search, strict, threads, results.ids(),
                     results.distances(), results.counts());
    }
    return results.to_python();
  }

  nb::object links(int level, int64_t position) const {
    check_link_row(index_->is_built(), index_->size(), position, "level", level, index_->graph_levels());
    const int32_t count = index_->link_count(level, position);
    const int32_t* src = index_->links(level, position);
    return id_array(src, static_cast<size_t>(count));
  }

  const fanns::digra::DigraIndex& index() const { return *index_; }
  int graph_levels() const { return index_->graph_levels(); }
  int64_t node_size(int level) const { return index_->node_size(level); }

 private:
  std::unique_ptr<fanns::digra::DigraIndex> index_;
};

}  // namespace

void register_digra(nb::module_& m) {
  nb::class_<PyDigra> cls(m, "DigraIndex", "DIGRA-style range-filtered index: a multi-way tree with a graph per node.");
  def_index_basics<PyDigra, fanns::digra::DigraIndex>(cls);
  def_param_fields<PyDigra, fanns::digra::BuildParams>(cls);
  cls.def("build", &PyDigra::build, "vectors"_a, "order"_a, "threads"_a,
           "Index the items `order` (int64 distinct row ids of float32 (N, dim) `vectors`, in attribute "
           "order; items left out are not indexed). "
           "Nodes are built independently, so the result does not depend on `threads`.")
      .def("search", &PyDigra::search, "queries"_a, "k"_a, "ef_search"_a, "threads"_a, "starts"_a,
           "stops"_a, "strict"_a,
           "Range-filtered k-NN: query i searches positions [starts[i], stops[i]) of the attribute order; "
           "`strict` admits only in-range items to the results (else some may lie outside the range). "
           "Returns (item ids int64 (nq, k) padded with -1, distances float32 (smaller is closer), "
           "distance computations uint64 (nq,)).")
      .def("links", &PyDigra::links, "level"_a, "position"_a)
      .def("node_size", &PyDigra::node_size, "level"_a)
      .def_prop_ro("graph_levels", &PyDigra::graph_levels);
}
