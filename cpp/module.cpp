// The fanns-bench compiled core as one Python extension (nanobind). Each part of the core
// (cpp/<part>/, a method or a shared piece) declares its sources in its own CMakeLists.txt and
// registers its own classes from a binding file beside them (`register_<part>`); the build
// generates core_parts.inc, which declares and calls them all (cpp/core first).
#include <nanobind/nanobind.h>

namespace nb = nanobind;

#include "core_parts.inc"

NB_MODULE(_core, m) {
  m.doc() = "fanns-bench compiled core: shared distance kernels, visited sets, heaps, and methods";
  register_core_parts(m);
}
