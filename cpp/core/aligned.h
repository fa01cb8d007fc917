// Cache-line-aligned std::vector storage for the arrays a search reads in cache-line units.
//
// std::vector's default allocator only promises 16-byte alignment (glibc puts a large block 16
// bytes past a page start), so with 64-byte rows every 512-bit load of a stored vector straddles
// two cache lines and each row touches one line more than it holds. AlignedVector starts its
// block on a 64-byte boundary; contents and results are unchanged.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace fanns {

/// Bytes of one cache line on x86-64 and most arm64 cores.
constexpr size_t kCacheLineBytes = 64;

template <class T, size_t Align = kCacheLineBytes>
struct AlignedAllocator {
  using value_type = T;
  template <class U>
  struct rebind {
    using other = AlignedAllocator<U, Align>;
  };
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U, Align>&) noexcept {}

  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{Align})); }
  void deallocate(T* p, size_t) noexcept { ::operator delete(p, std::align_val_t{Align}); }

  friend bool operator==(const AlignedAllocator&, const AlignedAllocator&) { return true; }
  friend bool operator!=(const AlignedAllocator&, const AlignedAllocator&) { return false; }
};

/// A std::vector whose data() is 64-byte aligned.
template <class T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

}  // namespace fanns
