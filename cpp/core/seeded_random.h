// Seeded random numbers: a choice made from mix_seed(seed, a, b) depends only on its inputs
// (e.g. item and layer, or a query range), so results do not depend on the thread count.
#pragma once

#include <cstdint>

namespace fanns {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t state) : state_(state) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, bound) (bound > 0; the modulo bias is below 2^-32 for bound < 2^32).
  int64_t below(int64_t bound) { return static_cast<int64_t>(next() % static_cast<uint64_t>(bound)); }

 private:
  uint64_t state_;
};

inline uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b) {
  SplitMix64 mix(seed ^ (a * 0xD6E8FEB86659FD93ULL) ^ (b * 0xA0761D6478BD642FULL));
  return mix.next();
}

}  // namespace fanns
