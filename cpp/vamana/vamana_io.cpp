// FilteredVamana / StitchedVamana index files: a versioned binary layout, every size checked
// on load.
#include <stdexcept>
#include <string>
#include <vector>

#include "core/binary_io.h"
#include "vamana/vamana_index.h"

namespace fanns::vamana {
namespace {

constexpr char kMagic[8] = {'F', 'A', 'N', 'N', 'S', 'V', 'M', 'N'};
// 2: the variant, then its own field list (cpp/core/param_fields.h); 1 (the engine's whole
// parameter set) is refused with a request to rebuild.
constexpr uint32_t kVersion = 2;

}  // namespace

void VamanaIndex::save(const std::string& path) const {
  if (!built_) throw std::runtime_error("cannot save an index that is not built");
  BinaryWriter out(path);
  out.header(kMagic, kVersion);
  out.value(static_cast<uint8_t>(params_.variant));
  out.metric(store_);
  with_variant_params(params_.variant, [&](auto fields) { write_fields(out, decltype(fields)::of(params_)); });
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

VamanaIndex VamanaIndex::load(const std::string& path, Variant expected) {
  VamanaIndex index = load(path);
  if (index.params_.variant != expected) {
    throw std::runtime_error("index file '" + path + "' holds an index of " + method_name(index.params_.variant) +
                             ", expected " + method_name(expected));
  }
  return index;
}

VamanaIndex VamanaIndex::load(const std::string& path) {
  BinaryReader in(path);
  if (in.expect_header(kMagic, 1, kVersion) < kVersion) {
    in.corrupt("format version 1 (written before the per-method parameter lists) is no longer read; "
               "rebuild the index");
  }
  const uint8_t variant = in.value<uint8_t>();
  if (variant > 1) in.corrupt("unknown variant");
  const Metric metric = in.metric();
  BuildParams p;
  with_variant_params(static_cast<Variant>(variant),
                      [&](auto fields) { p = read_engine_params<decltype(fields)>(in); });
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
