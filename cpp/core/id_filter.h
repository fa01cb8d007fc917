// Per-query filters: which ids a query may return.
//
// Filters reach the core as a CSR id set (sorted int64 ids + offsets) or as
// packed bitmaps (1 bit per id, least significant bit first). Inside a query
// both become a bitmap view of N bits; an id set is written into a per-thread
// scratch bitmap that is cleared again by walking the same ids (O(matches)). IdByteMaps holds
// validated id sets as a byte per id, built once before a search (the ACORN reference search).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace fanns {

/// A bitmap view: `passes(id)` tests bit `id` of a packed little-endian bitmap.
struct BitmapFilter {
  const uint8_t* bits;
  bool passes(int64_t id) const { return (bits[id >> 3] >> (id & 7)) & 1u; }
};

/// The all-pass filter (unfiltered queries, or a filter that matches every id).
struct AllPassFilter {
  bool passes(int64_t) const { return true; }
};

/// Per-thread scratch bitmap filled from an id set and cleared after the query.
class ScratchBitmap {
 public:
  explicit ScratchBitmap(size_t n = 0) : bytes_((n + 7) / 8, 0) {}

  /// Make room for n ids (the bitmap is all zeros between queries).
  void ensure(size_t n) {
    if (bytes_.size() < (n + 7) / 8) bytes_.resize((n + 7) / 8, 0);
  }

  BitmapFilter fill(const int64_t* ids, size_t count) {
    for (size_t i = 0; i < count; ++i) bytes_[ids[i] >> 3] |= static_cast<uint8_t>(1u << (ids[i] & 7));
    return BitmapFilter{bytes_.data()};
  }

  void clear(const int64_t* ids, size_t count) {
    for (size_t i = 0; i < count; ++i) bytes_[ids[i] >> 3] = 0;
  }

 private:
  std::vector<uint8_t> bytes_;
};

/// One query's filter as handed to the core, before it becomes a bitmap.
struct QueryFilter {
  enum class Kind { All, Ids, Bitmap, Bytes } kind = Kind::All;
  const int64_t* ids = nullptr;  // Kind::Ids: sorted, unique, in [0, N)
  size_t count = 0;              // number of ids (Kind::Ids) or of members (Kind::Bytes)
  const uint8_t* bitmap = nullptr;  // Kind::Bitmap: ceil(N/8) bytes
  const uint8_t* bytes = nullptr;   // Kind::Bytes: N bytes, 1 = member (an IdByteMaps row)
};

/// Write `tag` into tags[id] for `count` sorted unique ids. Sorted and unique, ids[i + 63] ==
/// ids[i] + 63 means 64 consecutive ids: such stretches (id ranges) take one memset.
inline void mark_ids(const int64_t* ids, size_t count, uint8_t* tags, uint8_t tag) {
  constexpr size_t kRun = 64;
  size_t i = 0;
  while (i < count) {
    size_t end = i;
    while (end + kRun <= count && ids[end + kRun - 1] - ids[i] == static_cast<int64_t>(end + kRun - 1 - i)) {
      end += kRun;
    }
    if (end > i) {
      std::memset(tags + ids[i], tag, end - i);
      i = end;
      continue;
    }
    const size_t stop = std::min(count, i + kRun);
    for (; i + 4 <= stop; i += 4) {
      tags[ids[i]] = tag;
      tags[ids[i + 1]] = tag;
      tags[ids[i + 2]] = tag;
      tags[ids[i + 3]] = tag;
    }
    for (; i < stop; ++i) tags[ids[i]] = tag;
  }
}

/// Whether `count` ids are sorted, unique and in [0, n), in one branch-free pass that the
/// compiler vectorises: every id, and every step between neighbours less one, OR-ed together
/// stay below the power of two `bound` >= n exactly when the ids are non-negative, below
/// `bound` and strictly increasing; the last one below n then puts them all in [0, n).
inline bool csr_set_is_valid(const int64_t* ids, size_t count, size_t n) {
  if (count == 0) return true;
  uint64_t bound = 1;
  while (bound < n && bound < (uint64_t{1} << 62)) bound <<= 1;  // larger n: the slow walk
  uint64_t bits = static_cast<uint64_t>(ids[0]);
  for (size_t j = 1; j < count; ++j) {
    const uint64_t id = static_cast<uint64_t>(ids[j]);
    bits |= id | (id - static_cast<uint64_t>(ids[j - 1]) - 1);
  }
  return bits < bound && static_cast<uint64_t>(ids[count - 1]) < n;
}

/// Check `sets` CSR id sets (offsets of length sets+1 into ids, each sorted and
/// unique, in [0, n)); throws std::invalid_argument naming the problem.
inline void validate_csr(const int64_t* ids, size_t id_count, const int64_t* offsets,
                         size_t offset_count, size_t sets, size_t n) {
  if (offset_count != sets + 1) {
    throw std::invalid_argument("filter_offsets must have " + std::to_string(sets + 1) +
                                " entries (one more than the number of id sets), got " +
                                std::to_string(offset_count));
  }
  if (offsets[0] != 0 || offsets[sets] != static_cast<int64_t>(id_count)) {
    throw std::invalid_argument("filter_offsets must start at 0 and end at len(filter_ids) = " +
                                std::to_string(id_count));
  }
  for (size_t s = 0; s < sets; ++s) {
    if (offsets[s + 1] < offsets[s]) {
      throw std::invalid_argument("filter_offsets must be non-decreasing (set " +
                                  std::to_string(s) + ")");
    }
    // A valid set (the common case) takes the fast pass; a bad one is walked for the message.
    if (csr_set_is_valid(ids + offsets[s], static_cast<size_t>(offsets[s + 1] - offsets[s]), n)) continue;
    for (int64_t j = offsets[s]; j < offsets[s + 1]; ++j) {
      if (ids[j] < 0 || static_cast<size_t>(ids[j]) >= n) {
        throw std::invalid_argument("filter id " + std::to_string(ids[j]) + " of set " +
                                    std::to_string(s) + " is outside [0, " + std::to_string(n) +
                                    ")");
      }
      if (j > offsets[s] && ids[j] <= ids[j - 1]) {
        throw std::invalid_argument("filter ids of set " + std::to_string(s) +
                                    " must be sorted and unique");
      }
    }
  }
}

/// CSR id sets as one byte per id and set (1: member, 0: not), validated and written once when
/// the filter input is prepared, so a search reads a query's set without validating or
/// filling anything (as the ACORN reference's driver hands its search a byte per id).
class IdByteMaps {
 public:
  /// `sets` = offset_count - 1 sets over ids [0, n), checked as validate_csr checks them.
  IdByteMaps(const int64_t* ids, size_t id_count, const int64_t* offsets, size_t offset_count, size_t n)
      : n_(n) {
    const size_t sets = offset_count == 0 ? 0 : offset_count - 1;
    validate_csr(ids, id_count, offsets, offset_count, sets, n);
    bytes_.assign(sets * n, 0);
    counts_.resize(sets);
    for (size_t s = 0; s < sets; ++s) {
      counts_[s] = static_cast<size_t>(offsets[s + 1] - offsets[s]);
      mark_ids(ids + offsets[s], counts_[s], bytes_.data() + s * n, 1);
    }
  }

  size_t sets() const { return counts_.size(); }
  size_t num_items() const { return n_; }
  /// Set `s`'s byte per id.
  const uint8_t* row(size_t s) const { return bytes_.data() + s * n_; }
  /// Members of set `s`.
  size_t count(size_t s) const { return counts_[s]; }
  size_t memory_bytes() const { return bytes_.size() + counts_.size() * sizeof(size_t); }

 private:
  size_t n_;
  std::vector<uint8_t> bytes_;
  std::vector<size_t> counts_;
};

}  // namespace fanns
