// Bindings of the shared core: kernel selection and a reference distance routine.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include "bindings/arrays.h"
#include "core/distance.h"
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

}  // namespace

void register_core(nb::module_& m) {
  m.def("simd_level", &fanns::simd_level, "Instruction set the distance kernels use.");
  m.def("force_scalar_kernels", &fanns::force_scalar_kernels, "force"_a,
        "Use the plain C++ kernels (for tests); returns the previous setting.");
  m.def("distances", &distances, "metric"_a, "query"_a, "vectors"_a, "storage"_a = "float32",
        "Distances (smaller is closer: -dot for ip, squared L2 for l2) from one query to rows.");

}
