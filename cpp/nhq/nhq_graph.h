// The graph both NHQ indexes (NSW and KGraph) hold and what they do with it alike: the vectors,
// attribute codes, a CSR graph and the search-time node blocks; sizes, neighbour lists, memory,
// the view a search reads, a search's argument checks and the body of their index files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/binary_io.h"
#include "core/distance.h"
#include "core/vector_store.h"
#include "nhq/nhq_layout.h"

namespace fanns::nhq {

class NhqGraph {
 public:
  size_t size() const { return store_.size(); }
  size_t dim() const { return store_.dim(); }
  size_t attributes() const { return attributes_; }
  Metric metric() const { return store_.metric(); }
  bool is_built() const { return built_; }
  size_t edge_count() const { return adjacency_.size(); }

  /// Bytes held: vectors, attribute codes, the CSR adjacency and the node blocks.
  size_t memory_bytes() const {
    return store_.memory_bytes() + codes_.size() * sizeof(int32_t) + offsets_.size() * sizeof(uint64_t) +
           adjacency_.size() * sizeof(int32_t) + layout_.memory_bytes();
  }

  /// The out-neighbours of `item`; an item outside the index is an error.
  std::vector<int64_t> neighbors(int64_t item) const {
    if (!built_ || item < 0 || static_cast<size_t>(item) >= size()) {
      throw std::invalid_argument("item " + std::to_string(item) + " is not in the index");
    }
    return std::vector<int64_t>(adjacency_.begin() + offsets_[item], adjacency_.begin() + offsets_[item + 1]);
  }

  /// Search through the node blocks (default) or the index's own arrays (same results; tests).
  void set_use_layout(bool use) { use_layout_ = use; }
  /// True when the node blocks hold exactly the index's vectors, codes and lists.
  bool layout_matches() const { return layout_.matches(csr()); }
  /// Tests only: zero node `item`'s vector in the blocks.
  void corrupt_layout_for_test(int64_t item) { layout_.corrupt_vector(static_cast<int32_t>(item)); }

 protected:
  NhqGraph(size_t dim, Metric metric, size_t attributes)
      : attributes_(attributes), store_(dim, metric, StorageType::Float32) {
    if (dim == 0) throw std::invalid_argument("dim must be >= 1");
    if (attributes == 0) throw std::invalid_argument("attributes must be >= 1");
  }

  CsrView csr() const { return {store_, codes_, offsets_, adjacency_, attributes_}; }

  /// Before a build: refuse a second build, fewer than `least` items (`too_few`) and more than
  /// 2^31 - 1; keep the vectors and the N x A codes.
  void keep_items(const float* data, const int32_t* codes, size_t count, size_t least, const char* too_few) {
    if (built_) throw std::runtime_error("the index is already built");
    if (count < least) throw std::invalid_argument(too_few);
    if (count > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
      throw std::invalid_argument("at most 2^31 - 1 vectors are supported");
    }
    store_.assign(data, count);
    codes_.assign(codes, codes + count * attributes_);
  }

  /// After a build: the CSR graph from one list per node (`id_of(entry)` is an entry's id), then
  /// the node blocks.
  template <class Lists, class IdOf>
  void set_graph(const Lists& lists, IdOf id_of) {
    offsets_.assign(lists.size() + 1, 0);
    adjacency_.clear();
    for (size_t i = 0; i < lists.size(); ++i) offsets_[i + 1] = offsets_[i] + lists[i].size();
    adjacency_.reserve(offsets_[lists.size()]);
    for (const auto& list : lists) {
      for (const auto& entry : list) adjacency_.push_back(id_of(entry));
    }
    finish();
  }

  /// A search's common checks: built, k >= 1, the width (named `width_name`) >= 1, and every
  /// query's row of attribute codes among the `code_rows` given.
  void check_search(int k, int width, const char* width_name, size_t nq, const int64_t* rows,
                    size_t code_rows) const {
    if (!built_) throw std::runtime_error("the index is not built yet");
    if (k < 1) throw std::invalid_argument("k must be >= 1");
    if (width < 1) throw std::invalid_argument(std::string(width_name) + " must be >= 1");
    for (size_t q = 0; q < nq; ++q) {
      if (rows[q] < 0 || static_cast<size_t>(rows[q]) >= code_rows) {
        throw std::invalid_argument("rows[" + std::to_string(q) + "] = " + std::to_string(rows[q]) +
                                    " is not a row of query_codes");
      }
    }
  }

  /// Run `search(view)` on the view a search reads: the node blocks, or the index's own arrays.
  template <class Search>
  void with_view(const Search& search) const {
    if (use_layout_) {
      search(layout_);
    } else {
      search(csr());
    }
  }

  /// The end of an index file, after its own header and parameters: the sizes (A, N, dim) and
  /// the body (vectors, N x A codes, the CSR graph).
  void write_sizes_and_body(BinaryWriter& out) const {
    out.value<uint64_t>(attributes_);
    out.value<uint64_t>(store_.size());
    out.value<uint64_t>(store_.dim());
    out.vectors(store_);
    out.array(codes_);
    out.array(offsets_);
    out.array(adjacency_);
  }

  /// Read back what write_sizes_and_body wrote into `make(dim, attributes)`, a new index: sizes
  /// out of range (fewer than `least` items among them) make the file corrupt (`bad`); every id
  /// is checked; then the node blocks.
  template <class Index, class Make>
  static Index read_sizes_and_body(BinaryReader& in, uint64_t least, const char* bad, Make make) {
    const uint64_t attributes = in.value<uint64_t>();
    const uint64_t n = in.value<uint64_t>();
    const uint64_t dim = in.value<uint64_t>();
    if (attributes == 0 || attributes > 4096 || n < least || n > (uint64_t{1} << 31) || dim == 0 ||
        dim > (uint64_t{1} << 20)) {
      in.corrupt(bad);
    }
    Index index = make(dim, attributes);
    static_cast<NhqGraph&>(index).read_body(in, n);
    return index;
  }

  size_t attributes_;
  VectorStore store_;
  std::vector<int32_t> codes_;      // N x A
  std::vector<uint64_t> offsets_;   // N + 1
  std::vector<int32_t> adjacency_;

 private:
  void read_body(BinaryReader& in, uint64_t n) {
    in.vectors(store_, n, store_.dim());
    codes_ = in.array<int32_t>(n * attributes_);
    in.expect_size(codes_, n * attributes_, "attribute codes");
    offsets_ = in.array<uint64_t>(kMaxFileItems);
    adjacency_ = in.array<int32_t>(kMaxFileItems);
    in.check_offsets(offsets_, n, adjacency_.size(), "graph");
    in.check_range(adjacency_, 0, static_cast<int64_t>(n), "neighbour id");
    finish();
  }

  void finish() {
    layout_.assign(csr());
    built_ = true;
  }

  NodeLayout layout_;  // search-time copy, built after build() and load()
  bool use_layout_ = true;
  bool built_ = false;
};

}  // namespace fanns::nhq
