// Run-time dispatched distance kernels (see distance.h).
#include "core/distance.h"

#include <cstring>
#include <stdexcept>

#if defined(__x86_64__) || defined(__i386__)
#define FANNS_X86 1
#include <immintrin.h>
#endif

namespace fanns {

Metric parse_metric(const std::string& name) {
  if (name == "ip") return Metric::InnerProduct;
  if (name == "l2") return Metric::L2;
  throw std::invalid_argument("metric must be 'ip' or 'l2', got '" + name + "'");
}

const char* metric_name(Metric metric) { return metric == Metric::L2 ? "l2" : "ip"; }

// ---------------------------------------------------------------- half floats

uint16_t float_to_half(float value) {
  uint32_t x;
  std::memcpy(&x, &value, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // inf or nan
    return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  }
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
  if (abs < 0x38800000u) {  // subnormal half or zero
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);
    // value = mantissa * 2^(exponent - 150); a half subnormal counts units of 2^-24.
    const uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
    const int shift = 126 - static_cast<int>(abs >> 23);  // 14 .. 24
    const uint32_t half = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1u);
    const uint32_t midpoint = 1u << (shift - 1);
    const uint32_t round = (rest > midpoint || (rest == midpoint && (half & 1u))) ? 1u : 0u;
    return static_cast<uint16_t>(sign | (half + round));
  }
  const uint32_t rebased = abs - 0x38000000u;  // exponent bias 127 -> 15
  uint32_t half = rebased >> 13;
  const uint32_t rest = rebased & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) half += 1;
  return static_cast<uint16_t>(sign | half);
}

float half_to_float(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  uint32_t exponent = (bits >> 10) & 0x1fu;
  uint32_t mantissa = bits & 0x3ffu;
  uint32_t out;
  if (exponent == 0x1fu) {
    out = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent == 0) {
    if (mantissa == 0) {
      out = sign;
    } else {  // subnormal: normalise
      exponent = 113;
      while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        exponent -= 1;
      }
      out = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
    }
  } else {
    out = sign | ((exponent + 112) << 23) | (mantissa << 13);
  }
  float value;
  std::memcpy(&value, &out, 4);
  return value;
}

// ---------------------------------------------------------------- plain C++

namespace {

float ip_scalar(const float* q, const float* x, size_t d) {
  float acc[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= d; i += 4) {
    for (int j = 0; j < 4; ++j) acc[j] += q[i + j] * x[i + j];
  }
  float sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  for (; i < d; ++i) sum += q[i] * x[i];
  return -sum;
}

float l2_scalar(const float* q, const float* x, size_t d) {
  float acc[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= d; i += 4) {
    for (int j = 0; j < 4; ++j) {
      const float diff = q[i + j] - x[i + j];
      acc[j] += diff * diff;
    }
  }
  float sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  for (; i < d; ++i) {
    const float diff = q[i] - x[i];
    sum += diff * diff;
  }
  return sum;
}

float ip_f16_scalar(const float* q, const uint16_t* x, size_t d) {
  float sum = 0;
  for (size_t i = 0; i < d; ++i) sum += q[i] * half_to_float(x[i]);
  return -sum;
}

float l2_f16_scalar(const float* q, const uint16_t* x, size_t d) {
  float sum = 0;
  for (size_t i = 0; i < d; ++i) {
    const float diff = q[i] - half_to_float(x[i]);
    sum += diff * diff;
  }
  return sum;
}

#ifdef FANNS_X86

// ---------------------------------------------------------------- AVX2 + FMA

__attribute__((target("avx2,fma"))) inline float hsum256(__m256 v) {
  const __m128 lo = _mm256_castps256_ps128(v);
  const __m128 hi = _mm256_extractf128_ps(v, 1);
  __m128 s = _mm_add_ps(lo, hi);
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
  return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) float ip_avx2(const float* q, const float* x, size_t d) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= d; i += 32) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(x + i), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), _mm256_loadu_ps(x + i + 8), a1);
    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 16), _mm256_loadu_ps(x + i + 16), a2);
    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 24), _mm256_loadu_ps(x + i + 24), a3);
  }
  for (; i + 8 <= d; i += 8) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(x + i), a0);
  }
  float sum = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  for (; i < d; ++i) sum += q[i] * x[i];
  return -sum;
}

__attribute__((target("avx2,fma"))) float l2_avx2(const float* q, const float* x, size_t d) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= d; i += 32) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(x + i));
    const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(q + i + 8), _mm256_loadu_ps(x + i + 8));
    const __m256 d2 = _mm256_sub_ps(_mm256_loadu_ps(q + i + 16), _mm256_loadu_ps(x + i + 16));
    const __m256 d3 = _mm256_sub_ps(_mm256_loadu_ps(q + i + 24), _mm256_loadu_ps(x + i + 24));
    a0 = _mm256_fmadd_ps(d0, d0, a0);
    a1 = _mm256_fmadd_ps(d1, d1, a1);
    a2 = _mm256_fmadd_ps(d2, d2, a2);
    a3 = _mm256_fmadd_ps(d3, d3, a3);
  }
  for (; i + 8 <= d; i += 8) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(x + i));
    a0 = _mm256_fmadd_ps(d0, d0, a0);
  }
  float sum = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  for (; i < d; ++i) {
    const float diff = q[i] - x[i];
    sum += diff * diff;
  }
  return sum;
}

__attribute__((target("avx2,fma,f16c"))) float ip_f16_avx2(const float* q, const uint16_t* x,
                                                            size_t d) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    const __m256 x0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
    const __m256 x1 =
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i + 8)));
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), x0, a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), x1, a1);
  }
  for (; i + 8 <= d; i += 8) {
    const __m256 x0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), x0, a0);
  }
  float sum = hsum256(_mm256_add_ps(a0, a1));
  for (; i < d; ++i) sum += q[i] * half_to_float(x[i]);
  return -sum;
}

__attribute__((target("avx2,fma,f16c"))) float l2_f16_avx2(const float* q, const uint16_t* x,
                                                            size_t d) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    const __m256 x0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
    const __m256 x1 =
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i + 8)));
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(q + i), x0);
    const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(q + i + 8), x1);
    a0 = _mm256_fmadd_ps(d0, d0, a0);
    a1 = _mm256_fmadd_ps(d1, d1, a1);
  }
  for (; i + 8 <= d; i += 8) {
    const __m256 x0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(q + i), x0);
    a0 = _mm256_fmadd_ps(d0, d0, a0);
  }
  float sum = hsum256(_mm256_add_ps(a0, a1));
  for (; i < d; ++i) {
    const float diff = q[i] - half_to_float(x[i]);
    sum += diff * diff;
  }
  return sum;
}

// ---------------------------------------------------------------- AVX-512

__attribute__((target("avx512f"))) float ip_avx512(const float* q, const float* x, size_t d) {
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 64 <= d; i += 64) {
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), _mm512_loadu_ps(x + i), a0);
    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16), _mm512_loadu_ps(x + i + 16), a1);
    a2 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 32), _mm512_loadu_ps(x + i + 32), a2);
    a3 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 48), _mm512_loadu_ps(x + i + 48), a3);
  }
  for (; i + 16 <= d; i += 16) {
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), _mm512_loadu_ps(x + i), a0);
  }
  if (i < d) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (d - i)) - 1u);
    a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, q + i), _mm512_maskz_loadu_ps(mask, x + i),
                         a1);
  }
  return -_mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

__attribute__((target("avx512f"))) float l2_avx512(const float* q, const float* x, size_t d) {
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 64 <= d; i += 64) {
    const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(q + i), _mm512_loadu_ps(x + i));
    const __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(q + i + 16), _mm512_loadu_ps(x + i + 16));
    const __m512 d2 = _mm512_sub_ps(_mm512_loadu_ps(q + i + 32), _mm512_loadu_ps(x + i + 32));
    const __m512 d3 = _mm512_sub_ps(_mm512_loadu_ps(q + i + 48), _mm512_loadu_ps(x + i + 48));
    a0 = _mm512_fmadd_ps(d0, d0, a0);
    a1 = _mm512_fmadd_ps(d1, d1, a1);
    a2 = _mm512_fmadd_ps(d2, d2, a2);
    a3 = _mm512_fmadd_ps(d3, d3, a3);
  }
  for (; i + 16 <= d; i += 16) {
    const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(q + i), _mm512_loadu_ps(x + i));
    a0 = _mm512_fmadd_ps(d0, d0, a0);
  }
  if (i < d) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (d - i)) - 1u);
    const __m512 d0 =
        _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, q + i), _mm512_maskz_loadu_ps(mask, x + i));
    a1 = _mm512_fmadd_ps(d0, d0, a1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

__attribute__((target("avx512f"))) float ip_f16_avx512(const float* q, const uint16_t* x,
                                                       size_t d) {
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= d; i += 32) {
    const __m512 x0 =
        _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i)));
    const __m512 x1 =
        _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i + 16)));
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), x0, a0);
    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16), x1, a1);
  }
  for (; i + 16 <= d; i += 16) {
    const __m512 x0 =
        _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i)));
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), x0, a0);
  }
  float sum = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
  for (; i < d; ++i) sum += q[i] * half_to_float(x[i]);
  return -sum;
}

__attribute__((target("avx512f"))) float l2_f16_avx512(const float* q, const uint16_t* x,
                                                       size_t d) {
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= d; i += 32) {
    const __m512 x0 =
        _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i)));
    const __m512 x1 =
        _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i + 16)));
    const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(q + i), x0);
    const __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(q + i + 16), x1);
    a0 = _mm512_fmadd_ps(d0, d0, a0);
    a1 = _mm512_fmadd_ps(d1, d1, a1);
  }
  for (; i + 16 <= d; i += 16) {
    const __m512 x0 =
        _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i)));
    const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(q + i), x0);
    a0 = _mm512_fmadd_ps(d0, d0, a0);
  }
  float sum = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
  for (; i < d; ++i) {
    const float diff = q[i] - half_to_float(x[i]);
    sum += diff * diff;
  }
  return sum;
}

#endif  // FANNS_X86

enum class Isa { Scalar, Avx2, Avx512 };

Isa detect_isa() {
#ifdef FANNS_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("f16c")) {
    return Isa::Avx2;
  }
#endif
  return Isa::Scalar;
}

const Isa kDetected = detect_isa();
bool g_force_scalar = false;

Isa active_isa() { return g_force_scalar ? Isa::Scalar : kDetected; }

const DistanceKernels kScalar[2] = {{ip_scalar, ip_f16_scalar}, {l2_scalar, l2_f16_scalar}};
#ifdef FANNS_X86
const DistanceKernels kAvx2[2] = {{ip_avx2, ip_f16_avx2}, {l2_avx2, l2_f16_avx2}};
const DistanceKernels kAvx512[2] = {{ip_avx512, ip_f16_avx512}, {l2_avx512, l2_f16_avx512}};
#endif

}  // namespace

const DistanceKernels& distance_kernels(Metric metric) {
  const int m = metric == Metric::L2 ? 1 : 0;
  switch (active_isa()) {
#ifdef FANNS_X86
    case Isa::Avx512:
      return kAvx512[m];
    case Isa::Avx2:
      return kAvx2[m];
#endif
    default:
      return kScalar[m];
  }
}

const char* simd_level() {
  switch (active_isa()) {
    case Isa::Avx512:
      return "avx512";
    case Isa::Avx2:
      return "avx2";
    default:
      return "scalar";
  }
}

bool force_scalar_kernels(bool force) {
  const bool previous = g_force_scalar;
  g_force_scalar = force;
  return previous;
}

}  // namespace fanns
