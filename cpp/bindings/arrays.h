// Array checks shared by every binding file: a bad argument raises ValueError naming the
// argument and what was expected; nothing is converted silently.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace fanns::bindings {

namespace nb = nanobind;

using AnyArray = nb::ndarray<nb::ro>;

inline std::string dtype_name(const nb::dlpack::dtype& t) {
  std::string kind;
  switch (static_cast<nb::dlpack::dtype_code>(t.code)) {
    case nb::dlpack::dtype_code::Int: kind = "int"; break;
    case nb::dlpack::dtype_code::UInt: kind = "uint"; break;
    case nb::dlpack::dtype_code::Float: kind = "float"; break;
    case nb::dlpack::dtype_code::Bool: return "bool";
    default: kind = "other"; break;
  }
  return kind + std::to_string(t.bits);
}

template <class T>
inline const char* expected_dtype() {
  if (std::is_same_v<T, float>) return "float32";
  if (std::is_same_v<T, int64_t>) return "int64";
  return "uint8";
}

/// Check that `a` is a C-contiguous CPU array of T with `ndim` dimensions.
template <class T>
const T* checked(const AnyArray& a, const char* name, size_t ndim) {
  if (a.device_type() != nb::device::cpu::value) {
    throw std::invalid_argument(std::string(name) + " must be a CPU (numpy) array");
  }
  if (a.dtype() != nb::dtype<T>()) {
    throw std::invalid_argument(std::string(name) + " must have dtype " + expected_dtype<T>() +
                                ", got " + dtype_name(a.dtype()));
  }
  if (a.ndim() != ndim) {
    throw std::invalid_argument(std::string(name) + " must be " + std::to_string(ndim) +
                                "-dimensional, got " + std::to_string(a.ndim()) + " dimensions");
  }
  int64_t expected_stride = 1;
  for (size_t i = ndim; i-- > 0;) {
    if (a.shape(i) > 1 && a.stride(i) != expected_stride) {
      throw std::invalid_argument(std::string(name) +
                                  " must be C-contiguous (use numpy.ascontiguousarray)");
    }
    expected_stride *= static_cast<int64_t>(a.shape(i));
  }
  return static_cast<const T*>(a.data());
}

template <class T>
T* new_buffer(size_t count) {
  return new T[count == 0 ? 1 : count];
}

template <class T>
nb::object wrap(T* data, std::initializer_list<size_t> shape) {
  nb::capsule owner(data, [](void* p) noexcept { delete[] static_cast<T*>(p); });
  return nb::cast(nb::ndarray<nb::numpy, T>(data, shape, owner));
}

}  // namespace fanns::bindings
