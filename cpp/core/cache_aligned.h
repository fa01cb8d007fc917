// Storage that starts on a cache line: std::vector with a 64-byte-aligned allocator.
//
// A search reads whole rows of the vector table at random. With the table's start on a cache
// line (and rows a multiple of 64 bytes, e.g. 64-d or 384-d float32) every row covers the fewest
// lines and no SIMD load of a row straddles two lines; where a plain std::vector lands is up
// to malloc (16-byte aligned), so the same index read its rows from 4 or 5 lines (64-d)
// depending on the process. Contents and results are unchanged.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace fanns {

/// Bytes of one cache line on x86-64 and most arm64 cores.
constexpr size_t kCacheLineBytes = 64;

/// A std::allocator whose blocks start on a cache line.
template <class T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <class U>
  CacheLineAllocator(const CacheLineAllocator<U>&) noexcept {}  // NOLINT: rebinding is implicit
  T* allocate(size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{kCacheLineBytes}));
  }
  void deallocate(T* p, size_t) noexcept { ::operator delete(p, std::align_val_t{kCacheLineBytes}); }
  template <class U>
  bool operator==(const CacheLineAllocator<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const CacheLineAllocator<U>&) const noexcept {
    return false;
  }
};

/// A vector whose data() starts on a cache line.
template <class T>
using CacheAlignedVector = std::vector<T, CacheLineAllocator<T>>;

}  // namespace fanns
