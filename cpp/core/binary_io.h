// Index files: a writer and a checked reader (host byte order), shared by every compiled method.
// A file starts with 8 magic bytes and a format version; every size read back is bounded and
// every structural error names the file and what was expected.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/aligned.h"
#include "core/vector_store.h"

namespace fanns {

/// Largest array any index file may hold (a guard against absurd sizes in corrupt files).
constexpr uint64_t kMaxFileItems = uint64_t{1} << 40;
/// Largest vector dimension an index file may hold.
constexpr uint64_t kMaxFileDim = uint64_t{1} << 20;

class BinaryWriter {
 public:
  explicit BinaryWriter(const std::string& path) : path_(path), out_(path, std::ios::binary) {
    if (!out_) throw std::runtime_error("cannot open '" + path + "' for writing");
  }
  /// Write the magic bytes and the format version that BinaryReader::expect_header checks.
  void header(const char (&magic)[8], uint32_t version) {
    write(magic, sizeof(magic));
    value(version);
  }
  template <class T>
  void value(const T& v) {
    write(&v, sizeof(T));
  }
  template <class T, class A>
  void array(const std::vector<T, A>& v) {
    value<uint64_t>(v.size());
    write(v.data(), v.size() * sizeof(T));
  }
  /// Write the store's metric as one byte (read back by BinaryReader::metric).
  void metric(const VectorStore& store) { value(static_cast<uint8_t>(store.metric())); }
  /// Write the store's metric and storage type as two bytes (BinaryReader::metric_and_storage).
  void metric_and_storage(const VectorStore& store) {
    metric(store);
    value(static_cast<uint8_t>(store.type()));
  }
  /// Write the store's vector block (float32 or float16, as stored).
  void vectors(const VectorStore& store) {
    if (store.type() == StorageType::Float32) {
      array(store.raw_f32());
    } else {
      array(store.raw_f16());
    }
  }
  void write(const void* data, size_t bytes) {
    out_.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
    if (!out_) throw std::runtime_error("write to '" + path_ + "' failed");
  }
  void close() {
    out_.close();
    if (!out_) throw std::runtime_error("closing '" + path_ + "' failed");
  }

 private:
  std::string path_;
  std::ofstream out_;
};

class BinaryReader {
 public:
  explicit BinaryReader(const std::string& path) : path_(path), in_(path, std::ios::binary) {
    if (!in_) throw std::runtime_error("cannot open index file '" + path + "'");
  }
  /// Read and check the magic bytes and the format version written by BinaryWriter::header.
  void expect_header(const char (&magic)[8], uint32_t version) { expect_header(magic, version, version); }
  /// The same for a format that still reads the versions [oldest, newest]; returns the file's version.
  uint32_t expect_header(const char (&magic)[8], uint32_t oldest, uint32_t newest) {
    char got[8];
    read(got, sizeof(got));
    if (std::memcmp(got, magic, sizeof(got)) != 0) {
      corrupt("wrong magic bytes, expected '" + std::string(magic, sizeof(magic)) + "'");
    }
    const uint32_t found = value<uint32_t>();
    if (found < oldest || found > newest) {
      std::string expected = std::to_string(newest);
      if (oldest != newest) expected = std::to_string(oldest) + " to " + expected;
      corrupt("format version " + std::to_string(found) + ", expected " + expected);
    }
    return found;
  }
  template <class T>
  T value() {
    T v;
    read(&v, sizeof(T));
    return v;
  }
  /// Read an array written by BinaryWriter::array; refuses more than `max_items`.
  template <class T, class A = std::allocator<T>>
  std::vector<T, A> array(uint64_t max_items) {
    const uint64_t n = value<uint64_t>();
    if (n > max_items) corrupt("array of " + std::to_string(n) + " items is too long");
    std::vector<T, A> v(n);
    read(v.data(), n * sizeof(T));
    return v;
  }
  /// Read a metric written by BinaryWriter::metric.
  Metric metric() {
    const uint8_t code = value<uint8_t>();
    if (code > 1) corrupt("unknown metric code " + std::to_string(code));
    return static_cast<Metric>(code);
  }
  /// Read a metric and storage type written by BinaryWriter::metric_and_storage.
  std::pair<Metric, StorageType> metric_and_storage() {
    const Metric m = metric();
    const uint8_t code = value<uint8_t>();
    if (code > 1) corrupt("unknown storage code " + std::to_string(code));
    return {m, static_cast<StorageType>(code)};
  }
  /// Read the vector block written by BinaryWriter::vectors into `store` (n x dim) and set its count.
  void vectors(VectorStore& store, uint64_t n, uint64_t dim) {
    if (store.type() == StorageType::Float32) {
      store.raw_f32() = array<float, AlignedAllocator<float>>(n * dim);
      expect_size(store.raw_f32(), n * dim, "vector data");
    } else {
      store.raw_f16() = array<uint16_t, AlignedAllocator<uint16_t>>(n * dim);
      expect_size(store.raw_f16(), n * dim, "vector data");
    }
    store.set_count(n);
  }
  void read(void* data, size_t bytes) {
    in_.read(static_cast<char*>(data), static_cast<std::streamsize>(bytes));
    if (!in_) corrupt("file ends early");
  }

  /// Refuse build parameters that their own `validate()` rejects.
  template <class Params>
  void check_params(const Params& params) const {
    try {
      params.validate();
    } catch (const std::invalid_argument& error) {
      corrupt(error.what());
    }
  }
  /// Refuse an item count outside [1, max_items] or a dimension outside [1, kMaxFileDim].
  void check_count_and_dim(uint64_t n, uint64_t dim, uint64_t max_items) const {
    if (n == 0 || n > max_items || dim == 0 || dim > kMaxFileDim) {
      corrupt("implausible item count " + std::to_string(n) + " or dimension " + std::to_string(dim));
    }
  }
  template <class T, class A>
  void expect_size(const std::vector<T, A>& v, uint64_t expected, const std::string& what) const {
    if (v.size() != expected) {
      corrupt(what + " has " + std::to_string(v.size()) + " entries, expected " + std::to_string(expected));
    }
  }
  /// Check CSR offsets: rows + 1 entries from 0 to `total`, never decreasing.
  template <class Offset>
  void check_offsets(const std::vector<Offset>& offsets, size_t rows, size_t total,
                     const std::string& what) const {
    if (offsets.size() != rows + 1 || offsets.front() != 0 ||
        static_cast<size_t>(offsets.back()) != total) {
      corrupt(what + " offsets do not match their entries");
    }
    for (size_t i = 0; i < rows; ++i) {
      if (offsets[i + 1] < offsets[i]) corrupt(what + " offsets decrease");
    }
  }
  /// Check every value lies in [low, high).
  template <class T>
  void check_range(const std::vector<T>& values, int64_t low, int64_t high, const std::string& what) const {
    for (T v : values) {
      if (static_cast<int64_t>(v) < low || static_cast<int64_t>(v) >= high) corrupt(what + " out of range");
    }
  }
  /// Check `ids` holds n distinct non-negative ids.
  void check_distinct_ids(const std::vector<int64_t>& ids, uint64_t n, const std::string& what) const {
    expect_size(ids, n, what);
    std::vector<int64_t> sorted(ids);
    std::sort(sorted.begin(), sorted.end());
    if (sorted.empty() || sorted.front() < 0 ||
        std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
      corrupt(what + " holds negative or repeated ids");
    }
  }
  /// Check fixed-width link rows (a count, then up to `max_links` neighbour positions below `n`).
  void check_counted_links(const std::vector<int32_t>& links, int32_t max_links, uint64_t n) const {
    const size_t stride = static_cast<size_t>(max_links) + 1;
    for (size_t s = 0; s < links.size(); s += stride) {
      const int32_t count = links[s];
      if (count < 0 || count > max_links) corrupt("link count out of range");
      for (int32_t j = 0; j < count; ++j) {
        if (links[s + 1 + j] < 0 || static_cast<uint64_t>(links[s + 1 + j]) >= n) {
          corrupt("neighbour position out of range");
        }
      }
    }
  }
  [[noreturn]] void corrupt(const std::string& why) const {
    throw std::runtime_error("index file '" + path_ + "' is corrupt or not an index: " + why);
  }

 private:
  std::string path_;
  std::ifstream in_;
};

}  // namespace fanns
