// DSG index files: a versioned binary layout with every size checked on load.
#include <cstring>
#include <string>

#include "core/binary_io.h"
#include "dsg/dsg_index.h"

namespace fanns::dsg {
namespace {

constexpr char kMagic[8] = {'F', 'A', 'N', 'N', 'S', 'D', 'S', 'G'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kMaxItems = uint64_t{1} << 40;

}  // namespace

void DsgIndex::save(const std::string& path) const {
  if (!built_) throw std::runtime_error("cannot save an index that is not built");
  BinaryWriter out(path);
  out.write(kMagic, sizeof(kMagic));
  out.value(kVersion);
  out.value(static_cast<uint8_t>(store_.metric()));
  out.value<int32_t>(params_.M);
  out.value<int32_t>(params_.ef_construction);
  out.value<int32_t>(params_.ef_max);
  out.value<float>(params_.alpha);
  out.value<uint64_t>(params_.seed);
  out.value<uint64_t>(store_.size());
  out.value<uint64_t>(store_.dim());
  out.array(store_.raw_f32());
  out.array(graph_.offsets);
  out.array(graph_.neighbors);
  out.array(graph_.left_lower);
  out.array(graph_.left_upper);
  out.array(graph_.right_lower);
  out.array(graph_.right_upper);
  out.close();
}

DsgIndex DsgIndex::load(const std::string& path) {
  BinaryReader in(path);
  char magic[8];
  in.read(magic, sizeof(magic));
  if (std::memcmp(magic, kMagic, sizeof(kMagic)) != 0) in.corrupt("wrong magic bytes");
  const uint32_t version = in.value<uint32_t>();
  if (version != kVersion) {
    in.corrupt("format version " + std::to_string(version) + ", expected " + std::to_string(kVersion));
  }
  const uint8_t metric = in.value<uint8_t>();
  if (metric > 1) in.corrupt("unknown metric");
  BuildParams params;
  params.M = in.value<int32_t>();
  params.ef_construction = in.value<int32_t>();
  params.ef_max = in.value<int32_t>();
  params.alpha = in.value<float>();
  params.seed = in.value<uint64_t>();
  try {
    params.validate();
  } catch (const std::invalid_argument& error) {
    in.corrupt(error.what());
  }
  const uint64_t n = in.value<uint64_t>();
  const uint64_t dim = in.value<uint64_t>();
  if (n == 0 || dim == 0 || n >= static_cast<uint64_t>(INT32_MAX) || dim > (1u << 20)) {
    in.corrupt("implausible size");
  }
  DsgIndex index(dim, static_cast<Metric>(metric), params);
  index.store_.raw_f32() = in.array<float>(kMaxItems);
  if (index.store_.raw_f32().size() != n * dim) in.corrupt("vector block has the wrong size");
  index.store_.set_count(n);
  Graph& g = index.graph_;
  g.offsets = in.array<uint64_t>(n + 1);
  g.neighbors = in.array<int32_t>(kMaxItems);
  g.left_lower = in.array<int32_t>(kMaxItems);
  g.left_upper = in.array<int32_t>(kMaxItems);
  g.right_lower = in.array<int32_t>(kMaxItems);
  g.right_upper = in.array<int32_t>(kMaxItems);
  const size_t edges = g.neighbors.size();
  if (g.offsets.size() != n + 1 || g.offsets.front() != 0 || g.offsets.back() != edges) {
    in.corrupt("edge offsets do not match the edge table");
  }
  if (g.left_lower.size() != edges || g.left_upper.size() != edges || g.right_lower.size() != edges ||
      g.right_upper.size() != edges) {
    in.corrupt("rectangle tables differ in length from the edge table");
  }
  for (size_t u = 0; u < n; ++u) {
    if (g.offsets[u + 1] < g.offsets[u]) in.corrupt("edge offsets decrease");
    for (uint64_t e = g.offsets[u]; e < g.offsets[u + 1]; ++e) {
      if (g.neighbors[e] < 0 || static_cast<uint64_t>(g.neighbors[e]) >= n) in.corrupt("neighbour id out of range");
      if (e > g.offsets[u] && g.neighbors[e] <= g.neighbors[e - 1]) in.corrupt("neighbours are not sorted");
    }
  }
  index.built_ = true;
  return index;
}

}  // namespace fanns::dsg
