// Little helpers to write and read index files (host byte order, versioned by the caller).
#pragma once

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fanns {

class BinaryWriter {
 public:
  explicit BinaryWriter(const std::string& path) : path_(path), out_(path, std::ios::binary) {
    if (!out_) throw std::runtime_error("cannot open '" + path + "' for writing");
  }
  template <class T>
  void value(const T& v) {
    write(&v, sizeof(T));
  }
  template <class T>
  void array(const std::vector<T>& v) {
    value<uint64_t>(v.size());
    write(v.data(), v.size() * sizeof(T));
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
  template <class T>
  T value() {
    T v;
    read(&v, sizeof(T));
    return v;
  }
  /// Read an array written by BinaryWriter::array; refuses more than `max_items`.
  template <class T>
  std::vector<T> array(uint64_t max_items) {
    const uint64_t n = value<uint64_t>();
    if (n > max_items) corrupt("array of " + std::to_string(n) + " items is too long");
    std::vector<T> v(n);
    read(v.data(), n * sizeof(T));
    return v;
  }
  void read(void* data, size_t bytes) {
    in_.read(static_cast<char*>(data), static_cast<std::streamsize>(bytes));
    if (!in_) corrupt("file ends early");
  }
  [[noreturn]] void corrupt(const std::string& why) const {
    throw std::runtime_error("index file '" + path_ + "' is corrupt or not an index: " + why);
  }

 private:
  std::string path_;
  std::ifstream in_;
};

}  // namespace fanns
