// Distance kernels shared by every index in the core.
//
// Convention: a distance is "smaller is closer". For the inner-product metric it
// is the negated dot product, for L2 the squared Euclidean distance. Kernels are
// chosen once at run time from the CPU's features (AVX-512, AVX2+FMA, or plain
// C++), so one binary runs everywhere and uses what the CPU has.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fanns {

enum class Metric : uint8_t { InnerProduct = 0, L2 = 1 };

/// Parse "ip" / "l2"; throws std::invalid_argument otherwise.
Metric parse_metric(const std::string& name);
const char* metric_name(Metric metric);

/// Distance between a float32 query and a float32 stored vector.
using DistanceF32 = float (*)(const float* query, const float* vector, size_t dim);
/// Distance between a float32 query and a float16 stored vector (IEEE half bits).
using DistanceF16 = float (*)(const float* query, const uint16_t* vector, size_t dim);

struct DistanceKernels {
  DistanceF32 f32;
  DistanceF16 f16;
};

/// Kernels for `metric`, for the best instruction set of this CPU.
const DistanceKernels& distance_kernels(Metric metric);

/// Name of the instruction set the kernels use ("avx512", "avx2" or "scalar").
const char* simd_level();

/// Force the plain C++ kernels (for tests that compare kernels); returns the previous state.
bool force_scalar_kernels(bool force);

/// IEEE 754 half <-> float conversions (round to nearest even), used for float16 storage.
uint16_t float_to_half(float value);
float half_to_float(uint16_t bits);

}  // namespace fanns
