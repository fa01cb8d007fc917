// The fanns-bench compiled core as one Python extension (nanobind). Each compiled method
// registers its own classes from a binding file beside its sources (cpp/<method>/*_bindings.cpp).
#include <nanobind/nanobind.h>

namespace nb = nanobind;

void register_core(nb::module_& m);
void register_serf(nb::module_& m);
void register_dsg(nb::module_& m);
void register_acorn(nb::module_& m);
void register_groundtruth(nb::module_& m);
void register_ung(nb::module_& m);
void register_nhq(nb::module_& m);
void register_irangegraph(nb::module_& m);
void register_digra(nb::module_& m);
void register_vamana(nb::module_& m);
void register_caps(nb::module_& m);

NB_MODULE(_core, m) {
  m.doc() = "fanns-bench compiled core: shared distance kernels, visited sets, heaps, and methods";
  register_core(m);
  register_serf(m);
  register_dsg(m);
  register_acorn(m);
  register_groundtruth(m);
  register_ung(m);
  register_nhq(m);
  register_irangegraph(m);
  register_digra(m);
  register_vamana(m);
  register_caps(m);
}
