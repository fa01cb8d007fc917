// Checks of per-query position ranges and the batch search, shared by the range-filter bindings
// (SeRF, DSG).
#pragma once

#include <nanobind/nanobind.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "bindings/arrays.h"
#include "bindings/search_results.h"

namespace fanns::bindings {

/// `starts` / `stops`: int64, one per query, 0 <= start <= stop <= n (half-open positions).
inline void check_position_ranges(const AnyArray& starts, const AnyArray& stops, size_t nq, size_t n,
                                  const int64_t*& start_data, const int64_t*& stop_data) {
  start_data = checked<int64_t>(starts, "starts", 1);
  stop_data = checked<int64_t>(stops, "stops", 1);
  if (starts.shape(0) != nq || stops.shape(0) != nq) {
    throw std::invalid_argument("starts and stops must have one entry per query (" + std::to_string(nq) +
                                "), got " + std::to_string(starts.shape(0)) + " and " +
                                std::to_string(stops.shape(0)));
  }
  for (size_t q = 0; q < nq; ++q) {
    if (start_data[q] < 0 || start_data[q] > stop_data[q] || stop_data[q] > static_cast<int64_t>(n)) {
      throw std::invalid_argument("range of query " + std::to_string(q) + " is [" +
                                  std::to_string(start_data[q]) + ", " + std::to_string(stop_data[q]) +
                                  "); expected 0 <= start <= stop <= " + std::to_string(n));
    }
  }
}

/// Check a batch range search's arguments, then run `index.search` with the GIL released and
/// return (positions int64 (nq, k), distances float32 (nq, k), distance computations uint64 (nq,)).
template <class Index>
nb::tuple segment_search(const Index& index, const AnyArray& queries, const AnyArray& starts,
                         const AnyArray& stops, int k, int ef_search, int scan_below, int threads,
                         bool return_seeds, bool raise_ef_to_k) {
  check_built(index.is_built());
  const float* q = checked_vectors(queries, "queries", index.dim());
  check_positive(k, "k");
  check_positive(ef_search, "ef_search");
  if (scan_below < 0) throw std::invalid_argument("scan_below must be >= 0, got " + std::to_string(scan_below));
  const size_t nq = queries.shape(0);
  const int64_t* start_data = nullptr;
  const int64_t* stop_data = nullptr;
  check_position_ranges(starts, stops, nq, index.size(), start_data, stop_data);
  SearchResults results(nq, k);
  {
    nb::gil_scoped_release release;
    index.search(q, nq, start_data, stop_data, static_cast<size_t>(k), static_cast<size_t>(ef_search),
                 static_cast<size_t>(scan_below), return_seeds, raise_ef_to_k, threads, results.ids(), results.distances(),
                 results.counts());
  }
  return results.to_python();
}

/// Define `search` on a segment-graph binding class `Py` (which exposes its index as `index()`).
template <class Py>
void def_segment_search(nb::class_<Py>& cls) {
  using namespace nb::literals;
  cls.def(
      "search",
      [](const Py& self, const AnyArray& queries, const AnyArray& starts, const AnyArray& stops, int k,
         int ef_search, int scan_below, int threads, bool return_seeds, bool raise_ef_to_k) {
        return segment_search(self.index(), queries, starts, stops, k, ef_search, scan_below, threads,
                              return_seeds, raise_ef_to_k);
      },
      // No defaults for the two flags: the Python method's parameter declaration is the one source.
      "queries"_a, "starts"_a, "stops"_a, "k"_a, "ef_search"_a, "scan_below"_a, "threads"_a, nb::kw_only(),
      "return_seeds"_a, "raise_ef_to_k"_a,
      "Range-filtered k-NN: query i returns positions in [starts[i], stops[i]) only; ranges of "
      "fewer than scan_below items are scored exhaustively (0: never). return_seeds: the seeds may "
      "be results (False: expanded only, as the authors' search); raise_ef_to_k: the beam is at "
      "least k wide (False: ef_search, at most ef_search ids, as the authors'). Returns "
      "(positions int64 (nq, k) padded with -1, distances float32 (smaller is closer), distance "
      "computations uint64 (nq,)).");
}

}  // namespace fanns::bindings
