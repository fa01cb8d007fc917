// SeRF index files: a versioned binary layout with every size checked on load.
#include <cstring>
#include <string>

#include "core/binary_io.h"
#include "serf/serf_index.h"

namespace fanns::serf {
namespace {

constexpr char kMagic[8] = {'F', 'A', 'N', 'N', 'S', 'S', 'R', 'F'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kMaxItems = uint64_t{1} << 40;

void check_offsets(const BinaryReader& in, const std::vector<uint64_t>& offsets, size_t rows,
                   size_t total, const char* what) {
  if (offsets.size() != rows + 1 || offsets.front() != 0 || offsets.back() != total) {
    in.corrupt(std::string(what) + " offsets do not match their table");
  }
  for (size_t i = 0; i < rows; ++i) {
    if (offsets[i + 1] < offsets[i]) in.corrupt(std::string(what) + " offsets decrease");
  }
}

void check_ids(const BinaryReader& in, const std::vector<int32_t>& ids, size_t n, const char* what) {
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= n) in.corrupt(std::string(what) + " id out of range");
  }
}

}  // namespace

void SerfIndex::save(const std::string& path) const {
  if (!built_) throw std::runtime_error("cannot save an index that is not built");
  BinaryWriter out(path);
  out.write(kMagic, sizeof(kMagic));
  out.value(kVersion);
  out.value(static_cast<uint8_t>(store_.metric()));
  out.value<int32_t>(params_.index_k);
  out.value<int32_t>(params_.ef_construction);
  out.value<int32_t>(params_.ef_max);
  out.value<uint64_t>(params_.seed);
  out.value<uint64_t>(store_.size());
  out.value<uint64_t>(store_.dim());
  out.array(store_.raw_f32());
  out.array(graph_.segment_offsets);
  out.array(graph_.segment_ends);
  out.array(graph_.neighbor_offsets);
  out.array(graph_.neighbors);
  out.array(graph_.reverse_offsets);
  out.array(graph_.reverse);
  out.close();
}

SerfIndex SerfIndex::load(const std::string& path) {
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
  params.index_k = in.value<int32_t>();
  params.ef_construction = in.value<int32_t>();
  params.ef_max = in.value<int32_t>();
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
  SerfIndex index(dim, static_cast<Metric>(metric), params);
  index.store_.raw_f32() = in.array<float>(kMaxItems);
  if (index.store_.raw_f32().size() != n * dim) in.corrupt("vector block has the wrong size");
  index.store_.set_count(n);
  Graph& g = index.graph_;
  g.segment_offsets = in.array<uint64_t>(n + 1);
  g.segment_ends = in.array<int32_t>(kMaxItems);
  g.neighbor_offsets = in.array<uint64_t>(kMaxItems);
  g.neighbors = in.array<int32_t>(kMaxItems);
  g.reverse_offsets = in.array<uint64_t>(n + 1);
  g.reverse = in.array<int32_t>(kMaxItems);
  check_offsets(in, g.segment_offsets, n, g.segment_ends.size(), "segment");
  check_offsets(in, g.neighbor_offsets, g.segment_ends.size(), g.neighbors.size(), "neighbour");
  check_offsets(in, g.reverse_offsets, n, g.reverse.size(), "reverse");
  check_ids(in, g.segment_ends, n, "segment end");
  check_ids(in, g.neighbors, n, "neighbour");
  check_ids(in, g.reverse, n, "reverse neighbour");
  index.built_ = true;
  return index;
}

}  // namespace fanns::serf
