// Back large, read-mostly arrays (vectors, graph tables) with transparent huge pages.
//
// A search reads a few cache lines of a vector or an edge list at random positions of arrays
// of tens of MiB: with 4 KiB pages nearly every such read also misses the TLB. Where the
// kernel supports it (Linux 6.1+: MADV_COLLAPSE), the array's 2 MiB-aligned interior is turned
// into huge pages in place; elsewhere this does nothing. Contents, addresses and results are
// unchanged: it only changes how the memory is mapped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace fanns {

/// Size of one transparent huge page on x86-64 and most arm64 kernels.
constexpr size_t kHugePageBytes = size_t{2} << 20;

/// The 2 MiB-aligned pages lying wholly inside [data, data + bytes): {first, byte count}
/// (count 0 when none does).
inline std::pair<uintptr_t, size_t> huge_page_span(const void* data, size_t bytes) {
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data);
  const uintptr_t first = (begin + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
  const uintptr_t end = (begin + bytes) & ~(kHugePageBytes - 1);
  if (bytes == 0 || end <= first) return {first, 0};
  return {first, static_cast<size_t>(end - first)};
}

/// Ask the kernel to map the whole huge pages inside [data, data + bytes) as huge pages now.
/// Returns the bytes it so mapped: 0 where the range holds no whole huge page or the kernel
/// declines (no THP, THP off, an older kernel); a hint only, never an error.
inline size_t advise_huge_pages(const void* data, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const auto [first, span] = huge_page_span(data, bytes);
  if (span == 0) return 0;
  void* start = reinterpret_cast<void*>(first);
  madvise(start, span, MADV_HUGEPAGE);  // later faults in the range may use huge pages too
#if defined(MADV_COLLAPSE)
  constexpr int kCollapse = MADV_COLLAPSE;
#else
  constexpr int kCollapse = 25;  // MADV_COLLAPSE (Linux 6.1), older C library headers lack it
#endif
  return madvise(start, span, kCollapse) == 0 ? span : 0;
#else
  (void)data;
  (void)bytes;
  return 0;
#endif
}

/// advise_huge_pages over a vector's elements.
template <class T, class A>
size_t advise_huge_pages(const std::vector<T, A>& v) {
  return advise_huge_pages(v.data(), v.size() * sizeof(T));
}

}  // namespace fanns
