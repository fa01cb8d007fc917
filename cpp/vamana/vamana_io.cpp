// FilteredVamana / StitchedVamana index files: a versioned binary layout, every size checked
// on load.
#include <cstring>
#include <string>
#include <vector>

#include "core/binary_io.h"
#include "vamana/vamana_index.h"

namespace fanns::vamana {
namespace {

constexpr char kMagic[8] = {'F', 'A', 'N', 'N', 'S', 'V', 'M', 'N'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kMaxItems = uint64_t{1} << 40;

void check_csr(const BinaryReader& in, const std::vector<uint64_t>& offsets, size_t rows, size_t entries,
               const char* what) {
  if (offsets.size() != rows + 1 || offsets.front() != 0 || offsets.back() != entries) {
    in.corrupt(std::string(what) + " offsets do not match their entries");
  }
  for (size_t i = 0; i < rows; ++i) {
    if (offsets[i + 1] < offsets[i]) in.corrupt(std::string(what) + " offsets decrease");
  }
}

void check_range(const BinaryReader& in, const std::vector<int32_t>& values, int64_t low, int64_t high,
                 const char* what) {
  for (int32_t v : values) {
    if (v < low || v >= high) in.corrupt(std::string(what) + " out of range");
  }
}

}  // namespace

void VamanaIndex::save(const std::string& path) const {
  if (!built_) throw std::runtime_error("cannot save an index that is not built");
  BinaryWriter out(path);
  out.write(kMagic, sizeof(kMagic));
  out.value(kVersion);
  out.value(static_cast<uint8_t>(params_.variant));
  out.value(static_cast<uint8_t>(store_.metric()));
  out.value<int32_t>(params_.R);
  out.value<int32_t>(params_.L);
  out.value<float>(params_.alpha);
  out.value<uint8_t>(params_.unfiltered_pass ? 1 : 0);
  out.value<int32_t>(params_.R_small);
  out.value<int32_t>(params_.L_small);
  out.value<float>(params_.alpha_small);
  out.value<int32_t>(params_.R_stitched);
  out.value<float>(params_.alpha_stitched);
  out.value<int32_t>(params_.max_candidates);
  out.value<uint64_t>(params_.seed);
  out.value<uint8_t>(params_.paper_prune ? 1 : 0);
  out.value<uint64_t>(store_.size());
  out.value<uint64_t>(store_.dim());
  out.array(store_.raw_f32());
  out.value<int32_t>(labels_.label_count);
  out.array(labels_.offsets);
  out.array(labels_.labels);
  out.array(offsets_);
  out.array(adjacency_);
  out.array(label_starts_);
  out.value<int32_t>(medoid_);
  out.close();
}

VamanaIndex VamanaIndex::load(const std::string& path) {
  BinaryReader in(path);
  char magic[8];
  in.read(magic, sizeof(magic));
  if (std::memcmp(magic, kMagic, sizeof(kMagic)) != 0) in.corrupt("wrong magic bytes");
  const uint32_t version = in.value<uint32_t>();
  if (version != kVersion) {
    in.corrupt("format version " + std::to_string(version) + ", expected " + std::to_string(kVersion));
  }
  BuildParams p;
  const uint8_t variant = in.value<uint8_t>();
  const uint8_t metric = in.value<uint8_t>();
  if (variant > 1) in.corrupt("unknown variant");
  if (metric > 1) in.corrupt("unknown metric");
  p.variant = static_cast<Variant>(variant);
  p.R = in.value<int32_t>();
  p.L = in.value<int32_t>();
  p.alpha = in.value<float>();
  p.unfiltered_pass = in.value<uint8_t>() != 0;
  p.R_small = in.value<int32_t>();
  p.L_small = in.value<int32_t>();
  p.alpha_small = in.value<float>();
  p.R_stitched = in.value<int32_t>();
  p.alpha_stitched = in.value<float>();
  p.max_candidates = in.value<int32_t>();
  p.seed = in.value<uint64_t>();
  p.paper_prune = in.value<uint8_t>() != 0;
  try {
    p.validate();
  } catch (const std::invalid_argument& error) {
    in.corrupt(error.what());
  }
  const uint64_t n = in.value<uint64_t>();
  const uint64_t dim = in.value<uint64_t>();
  if (n == 0 || n > kMaxItems || dim == 0 || dim > (1u << 20)) in.corrupt("implausible size or dimension");
  VamanaIndex index(dim, static_cast<Metric>(metric), p);
  index.store_.raw_f32() = in.array<float>(n * dim);
  if (index.store_.raw_f32().size() != n * dim) in.corrupt("vector data has the wrong length");
  index.store_.set_count(n);
  index.labels_.label_count = in.value<int32_t>();
  if (index.labels_.label_count < 0) in.corrupt("negative label count");
  index.labels_.offsets = in.array<uint64_t>(n + 1);
  index.labels_.labels = in.array<int32_t>(kMaxItems);
  check_csr(in, index.labels_.offsets, n, index.labels_.labels.size(), "label");
  check_range(in, index.labels_.labels, 0, index.labels_.label_count, "label");
  index.offsets_ = in.array<uint64_t>(n + 1);
  index.adjacency_ = in.array<int32_t>(kMaxItems);
  check_csr(in, index.offsets_, n, index.adjacency_.size(), "graph");
  check_range(in, index.adjacency_, 0, static_cast<int64_t>(n), "neighbour id");
  index.label_starts_ = in.array<int32_t>(static_cast<uint64_t>(index.labels_.label_count));
  if (index.label_starts_.size() != static_cast<size_t>(index.labels_.label_count)) {
    in.corrupt("one start point per label expected");
  }
  check_range(in, index.label_starts_, -1, static_cast<int64_t>(n), "start point");
  index.medoid_ = in.value<int32_t>();
  if (index.medoid_ < 0 || static_cast<uint64_t>(index.medoid_) >= n) in.corrupt("medoid out of range");
  index.built_ = true;
  return index;
}

}  // namespace fanns::vamana
