// The two views an NHQ search reads a graph through: the index's own arrays (vectors, codes and
// a CSR graph, kept for building and saving) and a search-time copy laid out node by node, as
// the authors' OptimizeGraph does: each node's vector, attribute codes, degree and neighbour
// ids in one block, so that expanding a node and scoring a neighbour touch one place each.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "core/vector_store.h"

namespace fanns::nhq {

/// The index's own arrays, read in place (float32 store).
struct CsrView {
  const VectorStore& store;
  const std::vector<int32_t>& codes;
  const std::vector<uint64_t>& offsets;
  const std::vector<int32_t>& adjacency;
  size_t attributes;

  const float* vector(int32_t id) const { return store.raw_f32().data() + static_cast<size_t>(id) * store.dim(); }
  const int32_t* codes_of(int32_t id) const { return codes.data() + static_cast<size_t>(id) * attributes; }
  const int32_t* links(int32_t id) const { return adjacency.data() + offsets[id]; }
  uint32_t degree(int32_t id) const { return static_cast<uint32_t>(offsets[id + 1] - offsets[id]); }
};

/// One block per node, `stride` bytes apart (a multiple of 64), 64-byte aligned:
/// dim floats | A int32 codes | degree (int32) | up to max degree int32 neighbour ids.
class NodeLayout {
 public:
  /// Copy the index's arrays into blocks (replaces any earlier copy).
  void assign(const CsrView& csr) {
    const size_t n = csr.store.size();
    dim_ = csr.store.dim();
    attributes_ = csr.attributes;
    size_t max_degree = 0;
    for (size_t i = 0; i < n; ++i) max_degree = std::max<size_t>(max_degree, csr.degree(static_cast<int32_t>(i)));
    const size_t words = dim_ + attributes_ + 1 + max_degree;
    stride_ = (words * 4 + 63) / 64 * 64;
    bytes_ = stride_ * n;
    blocks_.reset(static_cast<char*>(std::aligned_alloc(64, bytes_ ? bytes_ : 64)));
    if (!blocks_) throw std::bad_alloc();
    std::memset(blocks_.get(), 0, bytes_);
    for (size_t i = 0; i < n; ++i) {
      const int32_t id = static_cast<int32_t>(i);
      char* block = blocks_.get() + i * stride_;
      const int32_t degree = static_cast<int32_t>(csr.degree(id));
      std::memcpy(block, csr.vector(id), dim_ * sizeof(float));
      std::memcpy(block + dim_ * 4, csr.codes_of(id), attributes_ * sizeof(int32_t));
      std::memcpy(block + (dim_ + attributes_) * 4, &degree, sizeof(int32_t));
      std::memcpy(block + (dim_ + attributes_ + 1) * 4, csr.links(id), degree * sizeof(int32_t));
    }
  }

  const float* vector(int32_t id) const { return reinterpret_cast<const float*>(block(id)); }
  const int32_t* codes_of(int32_t id) const { return reinterpret_cast<const int32_t*>(block(id) + dim_ * 4); }
  uint32_t degree(int32_t id) const { return static_cast<uint32_t>(codes_of(id)[attributes_]); }
  const int32_t* links(int32_t id) const { return codes_of(id) + attributes_ + 1; }

  /// Bytes of the blocks (counted in the index's memory).
  size_t memory_bytes() const { return bytes_; }

  /// True when every block holds what `csr` holds (vector bits, codes, degree, ids in order).
  bool matches(const CsrView& csr) const {
    if (!blocks_ || csr.store.size() * stride_ != bytes_ || csr.store.dim() != dim_ || csr.attributes != attributes_) {
      return false;
    }
    for (size_t i = 0; i < csr.store.size(); ++i) {
      const int32_t id = static_cast<int32_t>(i);
      const uint32_t degree = csr.degree(id);
      if (degree != this->degree(id) || std::memcmp(vector(id), csr.vector(id), dim_ * sizeof(float)) != 0 ||
          std::memcmp(codes_of(id), csr.codes_of(id), attributes_ * sizeof(int32_t)) != 0 ||
          std::memcmp(links(id), csr.links(id), degree * sizeof(int32_t)) != 0) {
        return false;
      }
    }
    return true;
  }

  /// Tests only: overwrite node `id`'s vector with zeros (a wrong copy the checks must catch).
  void corrupt_vector(int32_t id) { std::memset(blocks_.get() + static_cast<size_t>(id) * stride_, 0, dim_ * 4); }

 private:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  const char* block(int32_t id) const { return blocks_.get() + static_cast<size_t>(id) * stride_; }

  std::unique_ptr<char, Free> blocks_;
  size_t dim_ = 0, attributes_ = 0, stride_ = 0, bytes_ = 0;
};

}  // namespace fanns::nhq
