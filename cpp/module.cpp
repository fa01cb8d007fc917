// Python bindings of the fanns-bench compiled core (placeholder until ACORN lands).
#include <nanobind/nanobind.h>

namespace nb = nanobind;

NB_MODULE(_core, m) {
  m.doc() = "fanns-bench compiled core";
  m.def("version", []() { return "0.1.0"; });
}
