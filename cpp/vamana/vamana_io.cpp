// FilteredVamana / StitchedVamana index files: a versioned binary layout, every size checked
// on load.
#include <string>
#include <vector>

#include "core/binary_io.h"
#include "vamana/vamana_index.h"

namespace fanns::vamana {
namespace {

constexpr char kMagic[8] = {'F', 'A', 'N', 'N', 'S', 'V', 'M', 'N'};
constexpr uint32_t kVersion = 1;

}  // namespace

void VamanaIndex::save(const std::string& path) const {
  if (!built_) throw std::runtime_error("cannot save an index that is not built");
  BinaryWriter out(path);
  out.header(kMagic, kVersion);
  out.value(static_cast<uint8_t>(params_.variant));
  out.metric(store_);
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
  in.expect_header(kMagic, kVersion);
  BuildParams p;
  const uint8_t variant = in.value<uint8_t>();
  if (variant > 1) in.corrupt("unknown variant");
  const Metric metric = in.metric();
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
  in.check_params(p);
  const uint64_t n = in.value<uint64_t>();
  const uint64_t dim = in.value<uint64_t>();
  in.check_count_and_dim(n, dim, kMaxFileItems);
  VamanaIndex index(dim, metric, p);
  in.vectors(index.store_, n, dim);
  index.labels_.label_count = in.value<int32_t>();
  if (index.labels_.label_count < 0) in.corrupt("negative label count");
  index.labels_.offsets = in.array<uint64_t>(n + 1);
  index.labels_.labels = in.array<int32_t>(kMaxFileItems);
  in.check_offsets(index.labels_.offsets, n, index.labels_.labels.size(), "label");
  in.check_range(index.labels_.labels, 0, index.labels_.label_count, "label");
  index.offsets_ = in.array<uint64_t>(n + 1);
  index.adjacency_ = in.array<int32_t>(kMaxFileItems);
  in.check_offsets(index.offsets_, n, index.adjacency_.size(), "graph");
  in.check_range(index.adjacency_, 0, static_cast<int64_t>(n), "neighbour id");
  index.label_starts_ = in.array<int32_t>(static_cast<uint64_t>(index.labels_.label_count));
  in.expect_size(index.label_starts_, static_cast<uint64_t>(index.labels_.label_count), "label start points");
  in.check_range(index.label_starts_, -1, static_cast<int64_t>(n), "start point");
  index.medoid_ = in.value<int32_t>();
  if (index.medoid_ < 0 || static_cast<uint64_t>(index.medoid_) >= n) in.corrupt("medoid out of range");
  index.built_ = true;
  return index;
}

}  // namespace fanns::vamana
