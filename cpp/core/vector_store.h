// Vector storage (float32 or float16) and per-query distance computers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/cache_aligned.h"
#include "core/distance.h"

namespace fanns {

enum class StorageType : uint8_t { Float32 = 0, Float16 = 1 };

inline StorageType parse_storage(const std::string& name) {
  if (name == "float32") return StorageType::Float32;
  if (name == "float16") return StorageType::Float16;
  throw std::invalid_argument("storage must be 'float32' or 'float16', got '" + name + "'");
}

inline const char* storage_name(StorageType type) {
  return type == StorageType::Float16 ? "float16" : "float32";
}

/// A dense N x dim matrix of vectors, owned by the index.
class VectorStore {
 public:
  VectorStore() = default;
  VectorStore(size_t dim, Metric metric, StorageType type) : dim_(dim), metric_(metric), type_(type) {}

  /// Copy `count` row-major float32 vectors in (converted to float16 if asked).
  void assign(const float* data, size_t count) {
    count_ = count;
    if (type_ == StorageType::Float32) {
      f32_.assign(data, data + count * dim_);
      f16_.clear();
    } else {
      f16_.resize(count * dim_);
      for (size_t i = 0; i < count * dim_; ++i) f16_[i] = float_to_half(data[i]);
      f32_.clear();
    }
  }

  size_t size() const { return count_; }
  size_t dim() const { return dim_; }
  Metric metric() const { return metric_; }
  StorageType type() const { return type_; }
  size_t memory_bytes() const { return f32_.size() * sizeof(float) + f16_.size() * sizeof(uint16_t); }

  /// Decode vector `id` into `out` (dim floats).
  void decode(size_t id, float* out) const {
    if (type_ == StorageType::Float32) {
      const float* src = f32_.data() + id * dim_;
      for (size_t i = 0; i < dim_; ++i) out[i] = src[i];
    } else {
      const uint16_t* src = f16_.data() + id * dim_;
      for (size_t i = 0; i < dim_; ++i) out[i] = half_to_float(src[i]);
    }
  }

  /// Address of vector `id` (for prefetching).
  const void* address(size_t id) const {
    return type_ == StorageType::Float32 ? static_cast<const void*>(f32_.data() + id * dim_)
                                         : static_cast<const void*>(f16_.data() + id * dim_);
  }
  size_t row_bytes() const { return dim_ * (type_ == StorageType::Float32 ? 4 : 2); }

  CacheAlignedVector<float>& raw_f32() { return f32_; }
  CacheAlignedVector<uint16_t>& raw_f16() { return f16_; }
  const CacheAlignedVector<float>& raw_f32() const { return f32_; }
  const CacheAlignedVector<uint16_t>& raw_f16() const { return f16_; }
  void set_count(size_t count) { count_ = count; }

 private:
  size_t dim_ = 0;
  size_t count_ = 0;
  Metric metric_ = Metric::InnerProduct;
  StorageType type_ = StorageType::Float32;
  CacheAlignedVector<float> f32_;  // rows start on a cache line when row_bytes() % 64 == 0
  CacheAlignedVector<uint16_t> f16_;
};

/// Distances from one float32 query to stored vectors; counts its evaluations.
class QueryDistance {
 public:
  QueryDistance(const VectorStore& store, const float* query)
      : store_(store), query_(query), kernels_(distance_kernels(store.metric())) {}

  float operator()(size_t id) {
    ++count_;
    if (store_.type() == StorageType::Float32) {
      return kernels_.f32(query_, store_.raw_f32().data() + id * store_.dim(), store_.dim());
    }
    return kernels_.f16(query_, store_.raw_f16().data() + id * store_.dim(), store_.dim());
  }

  /// Prefetch the first 256 bytes of vector `id`. Forced inline: GCC 12 (-O2 and up) takes an
  /// out-of-line function whose only effect is __builtin_prefetch for a const one and deletes
  /// every call to it, so without the attribute no caller ever prefetched.
  [[gnu::always_inline]] void prefetch(size_t id) const {
    const char* p = static_cast<const char*>(store_.address(id));
    const size_t bytes = store_.row_bytes();
    for (size_t off = 0; off < bytes && off < 256; off += 64) __builtin_prefetch(p + off);
  }

  uint64_t count() const { return count_; }

 private:
  const VectorStore& store_;
  const float* query_;
  const DistanceKernels& kernels_;
  uint64_t count_ = 0;
};

}  // namespace fanns
