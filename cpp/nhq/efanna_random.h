// The authors' random numbers in NHQ-KGraph (efanna): glibc's rand() and efanna's GenRandom.
// Their build never seeds rand() (so draws as after srand(1)); their search program calls
// srand(161803398). With the same draws in the same order, a one-thread build of ours is theirs.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
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

/// std::mt19937's constants (libstdc++'s mersenne_twister_engine<uint32_t, 32, 624, 397, 31,
/// 0x9908b0df, 11, 0xffffffff, 7, 0x9d2c5680, 15, 0xefc60000, 18, 1812433253>).
constexpr size_t kMtWords = 624, kMtShift = 397;
/// The most outputs mt19937_prefixes gives: the first 624 - 397 outputs of a fresh engine read
/// only its seeded words, none that the same twist rewrote before.
constexpr size_t kMtMaxPrefix = kMtWords - kMtShift;

/// The first `count` outputs (count <= kMtMaxPrefix) of std::mt19937(seeds[l]) for each of
/// `Lanes` seeds, into out[l * count + j]: the same numbers as the engine's, from the seeded
/// words they read (0..count and 397..396 + count) instead of all 624 seeded and twisted
/// words. The seeding steps of the lanes run side by side (each lane's is one chain of
/// dependent multiplies: alone, most of a short search's time).
template <size_t Lanes>
void mt19937_prefixes(const uint32_t* seeds, size_t count, uint32_t* out) {
  uint32_t low[(kMtMaxPrefix + 1) * Lanes], high[kMtMaxPrefix * Lanes];
  uint32_t x[Lanes];
  for (size_t l = 0; l < Lanes; ++l) low[l] = x[l] = seeds[l];
  auto step = [&x](uint32_t i) {
    for (size_t l = 0; l < Lanes; ++l) x[l] = 1812433253u * (x[l] ^ (x[l] >> 30)) + i;
  };
  uint32_t i = 1;
  for (; i <= count; ++i) {
    step(i);
    std::copy(x, x + Lanes, low + i * Lanes);
  }
  for (; i < kMtShift; ++i) step(i);
  for (; i < kMtShift + count; ++i) {
    step(i);
    std::copy(x, x + Lanes, high + (i - kMtShift) * Lanes);
  }
  for (size_t j = 0; j < count; ++j) {
    for (size_t l = 0; l < Lanes; ++l) {
      const uint32_t y = (low[j * Lanes + l] & 0x80000000u) | (low[(j + 1) * Lanes + l] & 0x7fffffffu);
      uint32_t v = high[j * Lanes + l] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
      v ^= v >> 11;
      v ^= (v << 7) & 0x9d2c5680u;
      v ^= (v << 15) & 0xefc60000u;
      v ^= v >> 18;
      out[l * count + j] = v;
    }
  }
}

/// The first `count` outputs of std::mt19937(seeds[l]) for each of `Lanes` seeds, into
/// out[l * count + j]: mt19937_prefixes where count <= kMtMaxPrefix, else the engine itself.
template <size_t Lanes>
void mt19937_first_outputs(const uint32_t* seeds, size_t count, uint32_t* out) {
  if (count <= kMtMaxPrefix) {
    mt19937_prefixes<Lanes>(seeds, count, out);
    return;
  }
  for (size_t l = 0; l < Lanes; ++l) {
    std::mt19937 engine(seeds[l]);
    for (size_t j = 0; j < count; ++j) out[l * count + j] = static_cast<uint32_t>(engine());
  }
}

/// An engine that hands out numbers drawn before (mt19937_first_outputs), for gen_random.
struct Replay {
  const uint32_t* next;
  uint32_t operator()() { return *next++; }
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
