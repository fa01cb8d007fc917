// The authors' random numbers in NHQ-KGraph (efanna): glibc's rand() and efanna's GenRandom.
// Their build never seeds rand() (so draws as after srand(1)); their search program calls
// srand(161803398). With the same draws in the same order, a one-thread build of ours is theirs.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fanns::nhq {

/// glibc's rand() after srand(seed), written from the published description of its default
/// (TYPE_3) generator: 31 words seeded by the Park-Miller step 16807 x mod (2^31 - 1), then
/// x[i] = x[i - 31] + x[i - 3] mod 2^32 with output x[i] >> 1, the first 310 outputs discarded;
/// seed 0 acts as 1. A generator of our own, so the authors' sequence does not depend on the
/// C library or on other code calling rand().
class GlibcRand {
 public:
  explicit GlibcRand(uint32_t seed) {
    int64_t word = static_cast<int32_t>(seed == 0 ? 1u : seed);
    words_[0] = static_cast<uint32_t>(word);
    for (int i = 1; i < kWords; ++i) {
      const int64_t hi = word / 127773, lo = word % 127773;
      word = 16807 * lo - 2836 * hi;
      if (word < 0) word += 2147483647;
      words_[i] = static_cast<uint32_t>(word);
    }
    for (int i = 0; i < 10 * kWords; ++i) next();
  }

  /// The next value of rand(), in [0, 2^31).
  uint32_t next() {
    words_[front_] += words_[rear_];
    const uint32_t out = words_[front_] >> 1;
    front_ = front_ + 1 == kWords ? 0 : front_ + 1;
    rear_ = rear_ + 1 == kWords ? 0 : rear_ + 1;
    return out;
  }

 private:
  static constexpr int kWords = 31;
  uint32_t words_[kWords] = {};
  int front_ = 3, rear_ = 0;
};

/// efanna's GenRandom: `count` distinct ids in [0, n) (count < n): draws below n - count,
/// sorted, each raised above the one before, then rotated by a random offset. `Engine` is
/// std::mt19937 for the authors' sequence.
template <class Engine>
void gen_random(Engine& rng, size_t count, size_t n, std::vector<int32_t>& out) {
  out.resize(count);
  if (count == 0) return;
  for (size_t i = 0; i < count; ++i) out[i] = static_cast<int32_t>(rng() % (n - count));
  std::sort(out.begin(), out.end());
  for (size_t i = 1; i < count; ++i) {
    if (out[i] <= out[i - 1]) out[i] = out[i - 1] + 1;
  }
  const size_t offset = rng() % n;
  for (auto& id : out) id = static_cast<int32_t>((static_cast<size_t>(id) + offset) % n);
}

}  // namespace fanns::nhq
