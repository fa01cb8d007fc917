// Bindings of the shared core: kernel selection, a reference distance routine, id sets as
// byte maps (IdByteMaps), and the result heap and huge-page arithmetic exposed for their tests.
#include <nanobind/nanobind.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>

#include <algorithm>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include "bindings/arrays.h"
#include "core/distance.h"
#include "core/heaps.h"
#include "core/id_filter.h"
#include "core/huge_pages.h"
#include "core/vector_store.h"

namespace nb = nanobind;
using namespace nb::literals;
using namespace fanns::bindings;

namespace {

nb::object distances(const std::string& metric, const AnyArray& query, const AnyArray& vectors,
                     const std::string& storage) {
  const float* q = checked<float>(query, "query", 1);
  const float* x = checked<float>(vectors, "vectors", 2);
  const size_t dim = vectors.shape(1);
  if (query.shape(0) != dim) throw std::invalid_argument("query and vectors differ in dimension");
  fanns::VectorStore store(dim, fanns::parse_metric(metric), fanns::parse_storage(storage));
  store.assign(x, vectors.shape(0));
  fanns::QueryDistance distance(store, q);
  float* out = new_buffer<float>(store.size());
  for (size_t i = 0; i < store.size(); ++i) out[i] = distance(i);
  return wrap(out, {store.size()});
}

/// Push (distances[i], ids[i]) in order into a ResultHeap of `capacity`; its sorted contents.
nb::tuple closest_of(const AnyArray& distances, const AnyArray& ids, size_t capacity) {
  const float* d = checked<float>(distances, "distances", 1);
  const int64_t* id = checked<int64_t>(ids, "ids", 1);
  const size_t n = distances.shape(0);
  if (ids.shape(0) != n) throw std::invalid_argument("distances and ids differ in length");
  if (capacity < 1) throw std::invalid_argument("capacity must be >= 1");
  fanns::ResultHeap heap;
  heap.reset(capacity);
  for (size_t i = 0; i < n; ++i) heap.push({d[i], static_cast<int32_t>(id[i])});
  const std::vector<fanns::Neighbor>& best = heap.sorted();
  float* out_d = new_buffer<float>(best.size());
  int64_t* out_id = new_buffer<int64_t>(best.size());
  for (size_t i = 0; i < best.size(); ++i) {
    out_d[i] = best[i].distance;
    out_id[i] = best[i].id;
  }
  return nb::make_tuple(wrap(out_d, {best.size()}), wrap(out_id, {best.size()}));
}

/// An IdByteMaps built in place from CSR arrays (validated, then written without the GIL).
void init_byte_maps(fanns::IdByteMaps* self, const AnyArray& ids, const AnyArray& offsets, size_t num_items) {
  const int64_t* id = checked<int64_t>(ids, "filter_ids", 1);
  const int64_t* offset = checked<int64_t>(offsets, "filter_offsets", 1);
  nb::gil_scoped_release release;
  new (self) fanns::IdByteMaps(id, ids.shape(0), offset, offsets.shape(0), num_items);
}

/// Set `s` of `maps`, or an error naming it.
size_t checked_set(const fanns::IdByteMaps& maps, size_t s) {
  if (s >= maps.sets()) {
    throw std::invalid_argument("set " + std::to_string(s) + " is not one of the " +
                                std::to_string(maps.sets()) + " sets");
  }
  return s;
}

}  // namespace

void register_core(nb::module_& m) {
  m.def("simd_level", &fanns::simd_level, "Instruction set the distance kernels use.");
  m.def("force_scalar_kernels", &fanns::force_scalar_kernels, "force"_a,
        "Use the plain C++ kernels (for tests); returns the previous setting.");
  m.def("distances", &distances, "metric"_a, "query"_a, "vectors"_a, "storage"_a = "float32",
        "Distances (smaller is closer: -dot for ip, squared L2 for l2) from one query to rows.");
  m.def("closest_of", &closest_of, "distances"_a, "ids"_a, "capacity"_a,
        "The `capacity` closest (distance, id) pairs of a stream, closest first, as the searches' "
        "result heap keeps them (ties by id): (distances, ids).");
  nb::class_<fanns::IdByteMaps>(
      m, "IdByteMaps",
      "CSR id sets as a byte per id and set (1: member), validated and written once, for "
      "searches that take a prepared filter (the ACORN reference methods' search_bytes).")
      .def("__init__", &init_byte_maps, "filter_ids"_a, "filter_offsets"_a, "num_items"_a,
           "Sets over ids [0, num_items): sorted unique int64 `filter_ids`, `filter_offsets` "
           "(sets + 1 entries).")
      .def_prop_ro("sets", &fanns::IdByteMaps::sets)
      .def_prop_ro("num_items", &fanns::IdByteMaps::num_items)
      .def(
          "count", [](const fanns::IdByteMaps& maps, size_t s) { return maps.count(checked_set(maps, s)); },
          "set"_a, "Members of set `set`.")
      .def("row", [](const fanns::IdByteMaps& maps, size_t s) {
        checked_set(maps, s);
        uint8_t* out = new_buffer<uint8_t>(maps.num_items());
        std::copy(maps.row(s), maps.row(s) + maps.num_items(), out);
        return wrap(out, {maps.num_items()});
      }, "set"_a, "A copy of set `set`'s byte per id (uint8, 1: member).")
      .def("memory_bytes", &fanns::IdByteMaps::memory_bytes);
  m.def(
      "huge_page_span",
      [](uintptr_t address, size_t bytes) {
        return fanns::huge_page_span(reinterpret_cast<const void*>(address), bytes);
      },
      "address"_a, "bytes"_a,
      "(first address, bytes) of the whole 2 MiB pages inside [address, address + bytes), "
      "the part of an array the core asks the kernel to map on huge pages.");

}
