// DIGRA index files: a versioned binary layout with every size checked on load.
#include <algorithm>
#include <cstring>
#include <string>

#include "core/binary_io.h"
#include "digra/digra_index.h"

namespace fanns::digra {
namespace {

constexpr char kMagic[8] = {'F', 'A', 'N', 'N', 'S', 'D', 'G', 'R'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kMaxItems = uint64_t{1} << 40;

}  // namespace

void DigraIndex::save(const std::string& path) const {
  if (!built_) throw std::runtime_error("cannot save an index that is not built");
  BinaryWriter out(path);
  out.write(kMagic, sizeof(kMagic));
  out.value(kVersion);
  out.value(static_cast<uint8_t>(store_.metric()));
  out.value(static_cast<uint8_t>(store_.type()));
  out.value<int32_t>(params_.M);
  out.value<int32_t>(params_.ef_construction);
  out.value<int32_t>(params_.fanout);
  out.value<int32_t>(params_.leaf_size);
  out.value<uint64_t>(params_.seed);
  out.value<uint64_t>(store_.size());
  out.value<uint64_t>(store_.dim());
  if (store_.type() == StorageType::Float32) {
    out.array(store_.raw_f32());
  } else {
    out.array(store_.raw_f16());
  }
  out.array(order_);
  out.array(entries_);
  out.array(links_);
  out.close();
}

DigraIndex DigraIndex::load(const std::string& path) {
  BinaryReader in(path);
  char magic[8];
  in.read(magic, sizeof(magic));
  if (std::memcmp(magic, kMagic, sizeof(kMagic)) != 0) in.corrupt("wrong magic bytes");
  const uint32_t version = in.value<uint32_t>();
  if (version != kVersion) {
    in.corrupt("format version " + std::to_string(version) + ", expected " + std::to_string(kVersion));
  }
  const uint8_t metric = in.value<uint8_t>();
  const uint8_t storage = in.value<uint8_t>();
  if (metric > 1 || storage > 1) in.corrupt("unknown metric or storage code");
  BuildParams params;
  params.M = in.value<int32_t>();
  params.ef_construction = in.value<int32_t>();
  params.fanout = in.value<int32_t>();
  params.leaf_size = in.value<int32_t>();
  params.seed = in.value<uint64_t>();
  try {
    params.validate();
  } catch (const std::invalid_argument& error) {
    in.corrupt(error.what());
  }
  const uint64_t n = in.value<uint64_t>();
  const uint64_t dim = in.value<uint64_t>();
  if (n == 0 || n > INT32_MAX || dim == 0 || dim > (uint64_t{1} << 20)) in.corrupt("bad item count or dimension");
  DigraIndex index(dim, static_cast<Metric>(metric), static_cast<StorageType>(storage), params);
  if (index.store_.type() == StorageType::Float32) {
    index.store_.raw_f32() = in.array<float>(kMaxItems);
    if (index.store_.raw_f32().size() != n * dim) in.corrupt("vector data has the wrong size");
  } else {
    index.store_.raw_f16() = in.array<uint16_t>(kMaxItems);
    if (index.store_.raw_f16().size() != n * dim) in.corrupt("vector data has the wrong size");
  }
  index.store_.set_count(n);
  index.layout();
  index.order_ = in.array<int64_t>(kMaxItems);
  if (index.order_.size() != n) in.corrupt("item order has the wrong size");
  std::vector<int64_t> items(index.order_);
  std::sort(items.begin(), items.end());
  if (items.front() < 0 || std::adjacent_find(items.begin(), items.end()) != items.end()) {
    in.corrupt("item order holds negative or repeated ids");
  }
  index.entries_ = in.array<int32_t>(kMaxItems);
  if (index.entries_.size() != index.entry_offsets_.back()) in.corrupt("entry table has the wrong size");
  for (int32_t e : index.entries_) {
    if (e < 0 || static_cast<uint64_t>(e) >= n) in.corrupt("entry position out of range");
  }
  index.links_ = in.array<int32_t>(kMaxItems);
  const size_t stride = static_cast<size_t>(params.M) + 1;
  if (index.links_.size() != static_cast<size_t>(index.graph_levels_) * n * stride) {
    in.corrupt("link table has the wrong size");
  }
  for (size_t s = 0; s < index.links_.size(); s += stride) {
    const int32_t count = index.links_[s];
    if (count < 0 || count > params.M) in.corrupt("link count out of range");
    for (int32_t j = 0; j < count; ++j) {
      if (index.links_[s + 1 + j] < 0 || static_cast<uint64_t>(index.links_[s + 1 + j]) >= n) {
        in.corrupt("neighbour position out of range");
      }
    }
  }
  index.built_ = true;
  return index;
}

}  // namespace fanns::digra
