// Bindings of ACORN-gamma / ACORN-1: validate arrays, release the GIL, return numpy arrays.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "acorn/acorn_index.h"
#include "bindings/arrays.h"
#include "bindings/param_fields.h"
#include "bindings/search_results.h"
#include "core/distance.h"
#include "core/id_filter.h"
#include "core/vector_store.h"

namespace nb = nanobind;
using namespace nb::literals;
using namespace fanns::bindings;

namespace {

fanns::acorn::SearchParams search_params(int k, int ef_search, int max_neighbors) {
  fanns::acorn::SearchParams params;
  params.k = k;
  params.ef_search = ef_search;
  params.max_neighbors = max_neighbors;
  return params;
}

/// The Python-facing index of one method, whose build parameters are P's fields: validates
/// arrays, releases the GIL, returns numpy arrays.
template <class P>
class PyAcorn {
 public:
  PyAcorn(size_t dim, const std::string& metric, const std::string& storage, const P& params)
      : index_(std::make_unique<fanns::acorn::AcornIndex>(dim, fanns::parse_metric(metric),
                                                          fanns::parse_storage(storage), params.engine())) {}

  explicit PyAcorn(fanns::acorn::AcornIndex&& index)
      : index_(std::make_unique<fanns::acorn::AcornIndex>(std::move(index))) {}

  void build(const AnyArray& vectors, int threads) {
    const float* data = checked_vectors(vectors, "vectors", index_->dim());
    const size_t count = vectors.shape(0);
    nb::gil_scoped_release release;
    index_->build(data, count, threads);
  }

  nb::tuple search(const AnyArray& queries, int k, int ef_search, int threads,
                   const std::optional<AnyArray>& filter_ids,
                   const std::optional<AnyArray>& filter_offsets,
                   const std::optional<AnyArray>& filter_rows, int max_neighbors) {
    const size_t nq = check_queries(queries);
    if (filter_ids.has_value() != filter_offsets.has_value()) {
      throw std::invalid_argument("give both filter_ids and filter_offsets, or neither");
    }
    if (filter_rows && !filter_ids) {
      throw std::invalid_argument("filter_rows needs filter_ids and filter_offsets");
    }
    std::vector<fanns::QueryFilter> filters(nq);
    if (!filter_ids) return run(queries, nq, filters, k, ef_search, threads, max_neighbors);
    const int64_t* ids = checked<int64_t>(*filter_ids, "filter_ids", 1);
    const int64_t* offsets = checked<int64_t>(*filter_offsets, "filter_offsets", 1);
    const int64_t* rows = nullptr;
    size_t sets = nq;
    if (filter_rows) {
      rows = checked_per_query<int64_t>(*filter_rows, "filter_rows", nq);
      sets = filter_offsets->shape(0) == 0 ? 0 : filter_offsets->shape(0) - 1;
    }
    fanns::validate_csr(ids, filter_ids->shape(0), offsets, filter_offsets->shape(0), sets,
                        index_->size());
    for (size_t q = 0; q < nq; ++q) {
      const int64_t set = rows ? rows[q] : static_cast<int64_t>(q);
      if (set < 0) continue;  // -1: unfiltered
      if (static_cast<size_t>(set) >= sets) {
        throw std::invalid_argument("filter_rows[" + std::to_string(q) + "] = " +
                                    std::to_string(set) + " is not an id set (there are " +
                                    std::to_string(sets) + ")");
      }
      filters[q].kind = fanns::QueryFilter::Kind::Ids;
      filters[q].ids = ids + offsets[set];
      filters[q].count = static_cast<size_t>(offsets[set + 1] - offsets[set]);
    }
    return run(queries, nq, filters, k, ef_search, threads, max_neighbors);
  }

  nb::tuple search_bitmaps(const AnyArray& queries, int k, int ef_search, int threads,
                           const AnyArray& bitmaps, const AnyArray& bitmap_rows,
                           int max_neighbors) {
    const size_t nq = check_queries(queries);
    const uint8_t* bits = checked<uint8_t>(bitmaps, "bitmaps", 2);
    const size_t row_bytes = (index_->size() + 7) / 8;
    if (bitmaps.shape(1) != row_bytes) {
      throw std::invalid_argument("bitmaps must have ceil(N / 8) = " + std::to_string(row_bytes) +
                                  " bytes per row, got " + std::to_string(bitmaps.shape(1)));
    }
    const int64_t* rows = checked_per_query<int64_t>(bitmap_rows, "bitmap_rows", nq);
    std::vector<fanns::QueryFilter> filters(nq);
    for (size_t q = 0; q < nq; ++q) {
      if (rows[q] == -1) continue;  // unfiltered
      if (rows[q] < 0 || static_cast<size_t>(rows[q]) >= bitmaps.shape(0)) {
        throw std::invalid_argument("bitmap_rows[" + std::to_string(q) + "] = " +
                                    std::to_string(rows[q]) + " is not a row of bitmaps");
      }
      filters[q].kind = fanns::QueryFilter::Kind::Bitmap;
      filters[q].bitmap = bits + static_cast<size_t>(rows[q]) * row_bytes;
    }
    return run(queries, nq, filters, k, ef_search, threads, max_neighbors);
  }

  /// Reference methods: query i uses set rows[i] of prepared byte maps (-1: unfiltered), read
  /// as they are (IdByteMaps validated its sets when it was built).
  nb::tuple search_bytes(const AnyArray& queries, int k, int ef_search, int threads,
                         const fanns::IdByteMaps& maps, const AnyArray& filter_rows, int max_neighbors) {
    const size_t nq = check_queries(queries);
    if (!index_->params().reference) throw std::invalid_argument("search_bytes is for the reference methods");
    if (maps.num_items() != index_->size()) {
      throw std::invalid_argument("the byte maps cover " + std::to_string(maps.num_items()) +
                                  " ids, the index holds " + std::to_string(index_->size()));
    }
    const int64_t* rows = checked_per_query<int64_t>(filter_rows, "filter_rows", nq);
    std::vector<fanns::QueryFilter> filters(nq);
    for (size_t q = 0; q < nq; ++q) {
      if (rows[q] < 0) continue;  // -1: unfiltered
      if (static_cast<size_t>(rows[q]) >= maps.sets()) {
        throw std::invalid_argument("filter_rows[" + std::to_string(q) + "] = " + std::to_string(rows[q]) +
                                    " is not a set (there are " + std::to_string(maps.sets()) + ")");
      }
      filters[q].kind = fanns::QueryFilter::Kind::Bytes;
      filters[q].bytes = maps.row(static_cast<size_t>(rows[q]));
      filters[q].count = maps.count(static_cast<size_t>(rows[q]));
    }
    return run(queries, nq, filters, k, ef_search, threads, max_neighbors);
  }

  const fanns::acorn::AcornIndex& index() const { return *index_; }

  int node_level(int64_t node) const {
    if (!index_->is_built() || node < 0 || static_cast<size_t>(node) >= index_->size()) {
      throw std::invalid_argument("node " + std::to_string(node) + " is not in the index");
    }
    return index_->graph().levels[node];
  }

  nb::dict graph_stats() const {
    const auto& g = index_->graph();
    nb::dict d;
    d["max_level"] = g.max_level;
    d["entry_point"] = g.entry_point;
    const size_t n = index_->is_built() ? index_->size() : 0;
    d["level0_edges"] = g.adjacency0.size();
    d["level0_mean_degree"] = n ? static_cast<double>(g.adjacency0.size()) / n : 0.0;
    size_t expanded = 0;
    for (int32_t link : g.adjacency0) expanded += fanns::acorn::link_expands(link) ? 1 : 0;
    d["level0_compressed_links"] = expanded;
    size_t upper = 0;
    for (const auto& a : g.upper_adjacency) upper += a.size();
    d["upper_edges"] = upper;
    d["graph_bytes"] = g.memory_bytes();
    return d;
  }

  nb::object level0_neighbors(int64_t node) const { return neighbors(node, 0); }

  nb::object neighbors(int64_t node, int level) const {
    const auto& g = index_->graph();
    if (!index_->is_built() || node < 0 || static_cast<size_t>(node) >= index_->size()) {
      throw std::invalid_argument("node " + std::to_string(node) + " is not in the index");
    }
    if (level < 0 || level > g.levels[node]) {
      throw std::invalid_argument("level must be in [0, " + std::to_string(g.levels[node]) +
                                  "] for node " + std::to_string(node) + ", got " +
                                  std::to_string(level));
    }
    const auto span = g.neighbors(static_cast<int32_t>(node), level);
    int64_t* out = new_buffer<int64_t>(span.size());
    for (size_t i = 0; i < span.size(); ++i) out[i] = fanns::acorn::link_id(span.begin[i]);
    return wrap(out, {span.size()});
  }

  /// Reference methods: the ids the reference reads as `node`'s list on `level` (0 .. the
  /// top level): its own list, or above its top level the slots of the reference's flat
  /// layout there, which lie in the next nodes' lists.
  nb::object reference_list(int64_t node, int level) const {
    const auto& g = index_->graph();
    if (!index_->params().reference) throw std::invalid_argument("reference_list is for the reference methods");
    if (!index_->is_built() || node < 0 || static_cast<size_t>(node) >= index_->size()) {
      throw std::invalid_argument("node " + std::to_string(node) + " is not in the index");
    }
    if (level < 0 || level > g.max_level) {
      throw std::invalid_argument("level must be in [0, " + std::to_string(g.max_level) + "], got " +
                                  std::to_string(level));
    }
    if (level <= g.levels[node]) return neighbors(node, level);
    std::vector<int32_t> window;
    fanns::acorn::reference_window(g, fanns::acorn::ReferenceLayout(index_->params()), static_cast<int32_t>(node),
                                   level, window);
    int64_t* out = new_buffer<int64_t>(window.size());
    for (size_t i = 0; i < window.size(); ++i) out[i] = window[i];
    return wrap(out, {window.size()});
  }

 private:
  size_t check_queries(const AnyArray& queries) const {
    check_built(index_->is_built());
    checked_vectors(queries, "queries", index_->dim());
    return queries.shape(0);
  }

  nb::tuple run(const AnyArray& queries, size_t nq, const std::vector<fanns::QueryFilter>& filters,
                int k, int ef_search, int threads, int max_neighbors) {
    check_positive(k, "k");
    const float* q = static_cast<const float*>(queries.data());
    SearchResults results(nq, k);
    {
      nb::gil_scoped_release release;
      index_->search(q, nq, filters.data(), search_params(k, ef_search, max_neighbors), threads,
                     results.ids(), results.distances(), results.counts());
    }
    return results.to_python();
  }

  std::unique_ptr<fanns::acorn::AcornIndex> index_;
};

template <class P>
void def_acorn(nb::module_& m, const char* name, const char* doc) {
  using Py = PyAcorn<P>;
  nb::class_<Py> cls(m, name, doc);
  def_index_basics<Py, fanns::acorn::AcornIndex>(cls, &load_kind<fanns::acorn::AcornIndex, P>);
  def_param_fields<Py, P>(cls);
  cls.def("build", &Py::build, "vectors"_a, "threads"_a = 1,
          "Index float32 C-contiguous (N, dim) vectors; deterministic with threads=1.")
      .def("search", &Py::search, "queries"_a, "k"_a, "ef_search"_a, "threads"_a = 1,
           "filter_ids"_a = nb::none(), "filter_offsets"_a = nb::none(),
           "filter_rows"_a = nb::none(), "max_neighbors"_a = 0,
           "Filtered k-NN search. Filters are CSR id sets: sorted unique int64 `filter_ids`, "
           "`filter_offsets` (sets + 1). Without `filter_rows` set i filters query i; with it, "
           "query i uses set filter_rows[i] (-1: unfiltered). Returns (ids int64 (nq, k) padded "
           "with -1, distances float32 (smaller is closer), distance computations uint64 (nq,)).")
      .def("search_bitmaps", &Py::search_bitmaps, "queries"_a, "k"_a, "ef_search"_a,
           "threads"_a, "bitmaps"_a, "bitmap_rows"_a, "max_neighbors"_a = 0,
           "Filtered k-NN search; query i uses packed (little-endian) bitmap row "
           "bitmap_rows[i] (-1: unfiltered).")
      .def("search_bytes", &Py::search_bytes, "queries"_a, "k"_a, "ef_search"_a, "threads"_a,
           "maps"_a, "filter_rows"_a, "max_neighbors"_a = 0,
           "Reference methods: filtered k-NN search; query i uses set filter_rows[i] of the "
           "prepared IdByteMaps `maps` (-1: unfiltered), with nothing to validate or fill per "
           "query. Returns what `search` returns.")
      .def("graph_stats", &Py::graph_stats)
      .def("level0_neighbors", &Py::level0_neighbors, "node"_a)
      .def("neighbors", &Py::neighbors, "node"_a, "level"_a,
           "Ids linked from `node` on `level` (0 .. the node's top level), in stored order.")
      .def("reference_list", &Py::reference_list, "node"_a, "level"_a,
           "Reference methods: the ids the reference reads as `node`'s list on `level` (above "
           "its top level: the next nodes' slots of its flat layout).")
      .def("node_level", &Py::node_level, "node"_a);
}

}  // namespace

void register_acorn(nb::module_& m) {
  using namespace fanns::acorn;
  def_acorn<GammaParams>(m, "AcornGammaIndex", "acorn_gamma: ACORN-gamma on the shared core.");
  def_acorn<OneParams>(m, "Acorn1Index", "acorn_1: HNSW with ACORN-1's two-hop filtered search.");
  def_acorn<GammaRefParams>(m, "AcornGammaRefIndex", "acorn_gamma_ref: ACORN-gamma as the authors' code behaves.");
  def_acorn<OneRefParams>(m, "Acorn1RefIndex", "acorn_1_ref: ACORN-1 as the authors' code behaves.");
  m.def("_acorn_pause_insertion", &testing::pause_insertion, "node"_a, "inserts"_a,
        "Tests only: a build's insertion of `node` (acorn_gamma, acorn_1) waits once its top level "
        "is linked, before the levels below, until `inserts` other insertions have finished (10 s "
        "at most; only an insertion that links an upper level waits): a preempted build thread, on "
        "purpose. node=-1 disarms.");
}
