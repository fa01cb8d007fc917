// ACORN index files: a versioned binary layout with every size checked on load.
#include <cstring>
#include <string>

#include "acorn/acorn_index.h"
#include "core/binary_io.h"

namespace fanns::acorn {
namespace {

constexpr char kMagic[8] = {'F', 'A', 'N', 'N', 'S', 'A', 'C', 'N'};
constexpr uint32_t kVersion = 2;  // 2: reference flags after `diversify`
constexpr uint64_t kMaxItems = uint64_t{1} << 40;

void check_offsets(const BinaryReader& in, const std::vector<uint64_t>& offsets, size_t rows,
                   size_t edges, const char* what) {
  if (offsets.size() != rows + 1 || offsets.front() != 0 || offsets.back() != edges) {
    in.corrupt(std::string(what) + " offsets do not match the adjacency");
  }
  for (size_t i = 0; i < rows; ++i) {
    if (offsets[i + 1] < offsets[i]) in.corrupt(std::string(what) + " offsets decrease");
  }
}

void check_ids(const BinaryReader& in, const std::vector<int32_t>& links, size_t n,
               bool flags_allowed) {
  for (int32_t link : links) {
    if ((!flags_allowed && link_expands(link)) || static_cast<size_t>(link_id(link)) >= n) {
      in.corrupt("neighbour id out of range");
    }
  }
}

}  // namespace

void AcornIndex::save(const std::string& path) const {
  if (!built_) throw std::runtime_error("cannot save an index that is not built");
  BinaryWriter out(path);
  out.write(kMagic, sizeof(kMagic));
  out.value(kVersion);
  out.value(static_cast<uint8_t>(params_.variant));
  out.value(static_cast<uint8_t>(store_.metric()));
  out.value(static_cast<uint8_t>(store_.type()));
  out.value<int32_t>(params_.M);
  out.value<int32_t>(params_.gamma);
  out.value<int32_t>(params_.M_beta);
  out.value<int32_t>(params_.ef_construction);
  out.value<uint64_t>(params_.seed);
  out.value<uint8_t>(params_.diversify ? 1 : 0);
  out.value<uint8_t>(params_.reference ? 1 : 0);
  out.value<uint8_t>(params_.drop_nearest_upper ? 1 : 0);
  out.value<uint64_t>(store_.size());
  out.value<uint64_t>(store_.dim());
  if (store_.type() == StorageType::Float32) {
    out.array(store_.raw_f32());
  } else {
    out.array(store_.raw_f16());
  }
  out.value<int32_t>(graph_.entry_point);
  out.value<int32_t>(graph_.max_level);
  out.array(graph_.levels);
  out.array(graph_.offsets0);
  out.array(graph_.adjacency0);
  out.array(graph_.upper_slot);
  out.value<uint32_t>(static_cast<uint32_t>(graph_.upper_offsets.size()));
  for (size_t l = 0; l < graph_.upper_offsets.size(); ++l) {
    out.array(graph_.upper_offsets[l]);
    out.array(graph_.upper_adjacency[l]);
  }
  out.close();
}

AcornIndex AcornIndex::load(const std::string& path) {
  BinaryReader in(path);
  char magic[8];
  in.read(magic, sizeof(magic));
  if (std::memcmp(magic, kMagic, sizeof(kMagic)) != 0) in.corrupt("wrong magic bytes");
  const uint32_t version = in.value<uint32_t>();
  if (version != kVersion && version != 1) {
    in.corrupt("format version " + std::to_string(version) + ", expected " +
               std::to_string(kVersion));
  }
  BuildParams params;
  const uint8_t variant = in.value<uint8_t>();
  const uint8_t metric = in.value<uint8_t>();
  const uint8_t storage = in.value<uint8_t>();
  if (variant > 1 || metric > 1 || storage > 1) in.corrupt("unknown variant, metric or storage");
  params.variant = static_cast<Variant>(variant);
  params.M = in.value<int32_t>();
  params.gamma = in.value<int32_t>();
  params.M_beta = in.value<int32_t>();
  params.ef_construction = in.value<int32_t>();
  params.seed = in.value<uint64_t>();
  params.diversify = in.value<uint8_t>() != 0;
  if (version >= 2) {
    params.reference = in.value<uint8_t>() != 0;
    params.drop_nearest_upper = in.value<uint8_t>() != 0;
  }
  const uint64_t n = in.value<uint64_t>();
  const uint64_t dim = in.value<uint64_t>();
  if (n == 0 || dim == 0 || n >= static_cast<uint64_t>(INT32_MAX) || dim > (1u << 20)) {
    in.corrupt("implausible size");
  }
  AcornIndex index(dim, static_cast<Metric>(metric), static_cast<StorageType>(storage), params);
  if (index.store_.type() == StorageType::Float32) {
    index.store_.raw_f32() = in.array<float>(kMaxItems);
    if (index.store_.raw_f32().size() != n * dim) in.corrupt("vector block has the wrong size");
  } else {
    index.store_.raw_f16() = in.array<uint16_t>(kMaxItems);
    if (index.store_.raw_f16().size() != n * dim) in.corrupt("vector block has the wrong size");
  }
  index.store_.set_count(n);
  Graph& g = index.graph_;
  g.entry_point = in.value<int32_t>();
  g.max_level = in.value<int32_t>();
  g.levels = in.array<uint8_t>(n);
  g.offsets0 = in.array<uint64_t>(n + 1);
  g.adjacency0 = in.array<int32_t>(kMaxItems);
  g.upper_slot = in.array<int32_t>(n);
  const uint32_t upper = in.value<uint32_t>();
  if (g.levels.size() != n || g.upper_slot.size() != n) in.corrupt("per-node tables have the wrong size");
  if (g.entry_point < 0 || static_cast<uint64_t>(g.entry_point) >= n) in.corrupt("bad entry point");
  if (g.max_level < 0 || upper != static_cast<uint32_t>(g.max_level)) in.corrupt("bad level count");
  if (g.levels.size() == n && g.levels[g.entry_point] != g.max_level) {
    in.corrupt("entry point is not on the top level");
  }
  check_offsets(in, g.offsets0, n, g.adjacency0.size(), "level-0");
  check_ids(in, g.adjacency0, n, params.variant == Variant::Gamma && !params.reference);
  size_t slots = 0;
  for (uint64_t i = 0; i < n; ++i) {
    if (g.levels[i] > g.max_level) in.corrupt("node level above the top level");
    const bool has_slot = g.upper_slot[i] >= 0;
    if (has_slot != (g.levels[i] > 0) || (has_slot && g.upper_slot[i] != static_cast<int32_t>(slots))) {
      in.corrupt("upper-level slots are inconsistent");
    }
    slots += has_slot ? 1 : 0;
  }
  for (uint32_t l = 0; l < upper; ++l) {
    g.upper_offsets.push_back(in.array<uint64_t>(slots + 1));
    g.upper_adjacency.push_back(in.array<int32_t>(kMaxItems));
    check_offsets(in, g.upper_offsets.back(), slots, g.upper_adjacency.back().size(), "upper-level");
    check_ids(in, g.upper_adjacency.back(), n, false);
    for (int32_t id : g.upper_adjacency.back()) {
      if (g.levels[id] < l + 1) in.corrupt("upper-level link to a node below that level");
    }
  }
  index.built_ = true;
  return index;
}

}  // namespace fanns::acorn
