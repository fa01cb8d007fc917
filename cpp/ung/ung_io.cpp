// UNG index files: one versioned binary file, every size and id checked on load.
#include <string>

#include "core/binary_io.h"
#include "core/param_fields.h"
#include "ung/ung_index.h"

namespace fanns::ung {
namespace {

constexpr char kMagic[8] = {'F', 'A', 'N', 'N', 'S', 'U', 'N', 'G'};
constexpr uint32_t kVersion = 1;

}  // namespace

void UngIndex::save(const std::string& path) const {
  if (!built_) throw std::runtime_error("cannot save an index that is not built");
  BinaryWriter out(path);
  out.header(kMagic, kVersion);
  out.value(static_cast<uint8_t>(params_.scenario));
  out.metric(store_);
  write_fields(out, params_);
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
  in.expect_header(kMagic, kVersion);
  BuildParams p;
  const uint8_t scenario = in.value<uint8_t>();
  if (scenario > 1) in.corrupt("unknown scenario");
  const Metric metric = in.metric();
  p.scenario = static_cast<Scenario>(scenario);
  read_fields(in, p);
  p.max_candidates = in.value<int32_t>();
  in.check_params(p);
  const uint64_t n = in.value<uint64_t>();
  const uint64_t dim = in.value<uint64_t>();
  in.check_count_and_dim(n, dim, uint64_t{1} << 31);
  UngIndex index(dim, metric, p);
  in.vectors(index.store_, n, dim);
  index.internal_to_item_ = in.array<int32_t>(kMaxFileItems);
  index.group_start_ = in.array<int32_t>(kMaxFileItems);
  index.group_entry_ = in.array<int32_t>(kMaxFileItems);
  index.group_label_offsets_ = in.array<int64_t>(kMaxFileItems);
  index.group_label_values_ = in.array<int32_t>(kMaxFileItems);
  index.lng_offsets_ = in.array<uint64_t>(kMaxFileItems);
  index.lng_targets_ = in.array<int32_t>(kMaxFileItems);
  index.offsets_ = in.array<uint64_t>(kMaxFileItems);
  index.adjacency_ = in.array<int32_t>(kMaxFileItems);
  index.cross_edges_ = in.value<uint64_t>();
  in.expect_size(index.internal_to_item_, n, "id map");
  in.check_range(index.internal_to_item_, 0, static_cast<int64_t>(n), "item id");
  const size_t G = index.group_start_.empty() ? 0 : index.group_start_.size() - 1;
  if (G == 0) in.corrupt("no groups");
  in.check_offsets(index.group_start_, G, n, "group");
  if (index.group_entry_.size() != G) in.corrupt("group entries do not match the groups");
  for (size_t g = 0; g < G; ++g) {
    if (index.group_entry_[g] < index.group_start_[g] || index.group_entry_[g] >= index.group_start_[g + 1]) {
      in.corrupt("group entry point outside its group");
    }
  }
  in.check_offsets(index.group_label_offsets_, G, index.group_label_values_.size(), "group label");
  for (int32_t label : index.group_label_values_) {
    if (label < 0) in.corrupt("negative label");
  }
  in.check_offsets(index.lng_offsets_, G, index.lng_targets_.size(), "label graph");
  in.check_range(index.lng_targets_, 0, static_cast<int64_t>(G), "label graph target");
  in.check_offsets(index.offsets_, n, index.adjacency_.size(), "graph");
  in.check_range(index.adjacency_, 0, static_cast<int64_t>(n), "neighbour id");
  index.index_groups();
  index.index_label_graph();
  index.built_ = true;
  return index;
}

}  // namespace fanns::ung
