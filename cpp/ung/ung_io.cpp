// UNG index files: one versioned binary file, every size and id checked on load.
#include <cstring>
#include <string>

#include "core/binary_io.h"
#include "ung/ung_index.h"

namespace fanns::ung {
namespace {

constexpr char kMagic[8] = {'F', 'A', 'N', 'N', 'S', 'U', 'N', 'G'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kMaxItems = uint64_t{1} << 40;

template <class T>
void check_offsets(const BinaryReader& in, const std::vector<T>& offsets, size_t rows, size_t total,
                   const char* what) {
  if (offsets.size() != rows + 1 || offsets.front() != 0 || static_cast<size_t>(offsets.back()) != total) {
    in.corrupt(std::string(what) + " offsets do not match their values");
  }
  for (size_t i = 0; i < rows; ++i) {
    if (offsets[i + 1] < offsets[i]) in.corrupt(std::string(what) + " offsets decrease");
  }
}

void check_range(const BinaryReader& in, const std::vector<int32_t>& values, size_t n, const char* what) {
  for (int32_t v : values) {
    if (v < 0 || static_cast<size_t>(v) >= n) in.corrupt(std::string(what) + " out of range");
  }
}

}  // namespace

void UngIndex::save(const std::string& path) const {
  if (!built_) throw std::runtime_error("cannot save an index that is not built");
  BinaryWriter out(path);
  out.write(kMagic, sizeof(kMagic));
  out.value(kVersion);
  out.value(static_cast<uint8_t>(params_.scenario));
  out.value(static_cast<uint8_t>(store_.metric()));
  out.value<int32_t>(params_.max_degree);
  out.value<int32_t>(params_.L_build);
  out.value<float>(params_.alpha);
  out.value<int32_t>(params_.num_cross_edges);
  out.value<int32_t>(params_.max_candidates);
  out.value<uint64_t>(store_.size());
  out.value<uint64_t>(store_.dim());
  out.array(store_.raw_f32());
  out.array(internal_to_item_);
  out.array(group_start_);
  out.array(group_entry_);
  out.array(group_label_offsets_);
  out.array(group_label_values_);
  out.array(lng_offsets_);
  out.array(lng_targets_);
  out.array(offsets_);
  out.array(adjacency_);
  out.value<uint64_t>(cross_edges_);
  out.close();
}

UngIndex UngIndex::load(const std::string& path) {
  BinaryReader in(path);
  char magic[8];
  in.read(magic, sizeof(magic));
  if (std::memcmp(magic, kMagic, sizeof(kMagic)) != 0) in.corrupt("wrong magic bytes");
  const uint32_t version = in.value<uint32_t>();
  if (version != kVersion) {
    in.corrupt("format version " + std::to_string(version) + ", expected " + std::to_string(kVersion));
  }
  BuildParams p;
  const uint8_t scenario = in.value<uint8_t>();
  const uint8_t metric = in.value<uint8_t>();
  if (scenario > 1 || metric > 1) in.corrupt("unknown scenario or metric");
  p.scenario = static_cast<Scenario>(scenario);
  p.max_degree = in.value<int32_t>();
  p.L_build = in.value<int32_t>();
  p.alpha = in.value<float>();
  p.num_cross_edges = in.value<int32_t>();
  p.max_candidates = in.value<int32_t>();
  try {
    p.validate();
  } catch (const std::invalid_argument& error) {
    in.corrupt(error.what());
  }
  const uint64_t n = in.value<uint64_t>();
  const uint64_t dim = in.value<uint64_t>();
  if (n == 0 || dim == 0 || n > (uint64_t{1} << 31) || dim > (uint64_t{1} << 20)) in.corrupt("bad sizes");
  UngIndex index(dim, static_cast<Metric>(metric), p);
  auto& vectors = index.store_.raw_f32();
  vectors = in.array<float>(kMaxItems);
  if (vectors.size() != n * dim) in.corrupt("vector data does not match n x dim");
  index.store_.set_count(n);
  index.internal_to_item_ = in.array<int32_t>(kMaxItems);
  index.group_start_ = in.array<int32_t>(kMaxItems);
  index.group_entry_ = in.array<int32_t>(kMaxItems);
  index.group_label_offsets_ = in.array<int64_t>(kMaxItems);
  index.group_label_values_ = in.array<int32_t>(kMaxItems);
  index.lng_offsets_ = in.array<uint64_t>(kMaxItems);
  index.lng_targets_ = in.array<int32_t>(kMaxItems);
  index.offsets_ = in.array<uint64_t>(kMaxItems);
  index.adjacency_ = in.array<int32_t>(kMaxItems);
  index.cross_edges_ = in.value<uint64_t>();
  if (index.internal_to_item_.size() != n) in.corrupt("id map does not have n entries");
  check_range(in, index.internal_to_item_, n, "item id");
  const size_t G = index.group_start_.empty() ? 0 : index.group_start_.size() - 1;
  if (G == 0) in.corrupt("no groups");
  check_offsets(in, index.group_start_, G, n, "group");
  if (index.group_entry_.size() != G) in.corrupt("group entries do not match the groups");
  for (size_t g = 0; g < G; ++g) {
    if (index.group_entry_[g] < index.group_start_[g] || index.group_entry_[g] >= index.group_start_[g + 1]) {
      in.corrupt("group entry point outside its group");
    }
  }
  check_offsets(in, index.group_label_offsets_, G, index.group_label_values_.size(), "group label");
  for (int32_t label : index.group_label_values_) {
    if (label < 0) in.corrupt("negative label");
  }
  check_offsets(in, index.lng_offsets_, G, index.lng_targets_.size(), "label graph");
  check_range(in, index.lng_targets_, G, "label graph target");
  check_offsets(in, index.offsets_, n, index.adjacency_.size(), "graph");
  check_range(in, index.adjacency_, n, "neighbour id");
  index.index_groups();
  index.index_label_graph();
  index.built_ = true;
  return index;
}

}  // namespace fanns::ung
