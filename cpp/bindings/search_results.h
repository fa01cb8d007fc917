// Pieces every index binding repeats: query and per-query array checks, the (ids, distances,
// distance counts) result buffers of a batch search, and save/load without the GIL.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "bindings/arrays.h"

namespace fanns::bindings {

inline void check_built(bool built) {
  if (!built) throw std::runtime_error("the index is not built yet");
}

/// A search or build parameter that must be at least 1.
inline void check_positive(int64_t value, const char* name) {
  if (value < 1) {
    throw std::invalid_argument(std::string(name) + " must be >= 1, got " + std::to_string(value));
  }
}

/// A C-contiguous float32 (rows, dim) matrix whose dimension matches the index.
inline const float* checked_vectors(const AnyArray& a, const char* name, size_t dim) {
  const float* data = checked<float>(a, name, 2);
  if (a.shape(1) != dim) {
    throw std::invalid_argument(std::string(name) + " have dimension " + std::to_string(a.shape(1)) +
                                ", the index expects " + std::to_string(dim));
  }
  return data;
}

/// A C-contiguous 1-d array of T with one entry per query.
template <class T>
const T* checked_per_query(const AnyArray& a, const char* name, size_t nq) {
  const T* data = checked<T>(a, name, 1);
  if (a.shape(0) != nq) {
    throw std::invalid_argument(std::string(name) + " must have one entry per query (" + std::to_string(nq) +
                                "), got " + std::to_string(a.shape(0)));
  }
  return data;
}

/// A new int64 numpy array holding `count` ids copied from `ids` (any integer type).
template <class T>
nb::object id_array(const T* ids, size_t count) {
  int64_t* out = new_buffer<int64_t>(count);
  for (size_t i = 0; i < count; ++i) out[i] = static_cast<int64_t>(ids[i]);
  return wrap(out, {count});
}

/// Output buffers of a batch k-NN search; `to_python()` hands them to numpy as
/// (ids int64 (nq, k), distances float32 (nq, k), distance computations uint64 (nq,)).
class SearchResults {
 public:
  SearchResults(size_t nq, int k)
      : nq_(nq),
        k_(static_cast<size_t>(k)),
        ids_(new_buffer<int64_t>(nq * k_)),
        distances_(new_buffer<float>(nq * k_)),
        counts_(new_buffer<uint64_t>(nq)) {}

  int64_t* ids() { return ids_.get(); }
  float* distances() { return distances_.get(); }
  uint64_t* counts() { return counts_.get(); }

  nb::tuple to_python() {
    return nb::make_tuple(wrap(ids_.release(), {nq_, k_}), wrap(distances_.release(), {nq_, k_}),
                          wrap(counts_.release(), {nq_}));
  }

 private:
  size_t nq_;
  size_t k_;
  std::unique_ptr<int64_t[]> ids_;
  std::unique_ptr<float[]> distances_;
  std::unique_ptr<uint64_t[]> counts_;
};

/// Save an index to `path` with the GIL released.
template <class Index>
void save_without_gil(const Index& index, const std::string& path) {
  nb::gil_scoped_release release;
  index.save(path);
}

/// Load an index from `path` with `load` (Index::load by default), the GIL released.
template <class Index>
Index load_without_gil(const std::string& path, Index (*load)(const std::string&) = &Index::load) {
  nb::gil_scoped_release release;
  return load(path);
}

/// Index::load(path, P::kKind): for a class that accepts only the files of one kind (a method of
/// an engine that serves several, as ACORN's and Vamana's).
template <class Index, class P>
Index load_kind(const std::string& path) {
  return Index::load(path, P::kKind);
}

/// Define what every index class offers alike: save, load, memory_bytes and the size, dim and
/// is_built properties. `Py` exposes its index as `index()` and is constructible from `Index&&`;
/// `load` reads a file (Index::load unless a class accepts only some of Index's files).
template <class Py, class Index>
void def_index_basics(nb::class_<Py>& cls, Index (*load)(const std::string&) = &Index::load) {
  cls.def(
         "save", [](const Py& self, const std::string& path) { save_without_gil(self.index(), path); },
         nb::arg("path"))
      .def_static(
          "load", [load](const std::string& path) { return Py(load_without_gil<Index>(path, load)); },
          nb::arg("path"))
      .def("memory_bytes", [](const Py& self) -> size_t { return self.index().memory_bytes(); })
      .def_prop_ro("size",
                   [](const Py& self) -> size_t { return self.index().is_built() ? self.index().size() : 0; })
      .def_prop_ro("dim", [](const Py& self) -> size_t { return self.index().dim(); })
      .def_prop_ro("is_built", [](const Py& self) { return self.index().is_built(); });
}

}  // namespace fanns::bindings
