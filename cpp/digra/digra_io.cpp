// DIGRA index files: a versioned binary layout with every size checked on load.
#include <string>

#include "core/binary_io.h"
#include "core/param_fields.h"
#include "digra/digra_index.h"

namespace fanns::digra {
namespace {

constexpr char kMagic[8] = {'F', 'A', 'N', 'N', 'S', 'D', 'G', 'R'};
constexpr uint32_t kVersion = 1;

}  // namespace

void DigraIndex::save(const std::string& path) const {
  if (!built_) throw std::runtime_error("cannot save an index that is not built");
  BinaryWriter out(path);
  out.header(kMagic, kVersion);
  out.metric_and_storage(store_);
  write_fields(out, params_);
  out.value<uint64_t>(store_.size());
  out.value<uint64_t>(store_.dim());
  out.vectors(store_);
  out.array(order_);
  out.array(entries_);
  out.array(links_);
  out.close();
}

DigraIndex DigraIndex::load(const std::string& path) {
  BinaryReader in(path);
  in.expect_header(kMagic, kVersion);
  const auto [metric, storage] = in.metric_and_storage();
  BuildParams params;
  read_fields(in, params);
  in.check_params(params);
  const uint64_t n = in.value<uint64_t>();
  const uint64_t dim = in.value<uint64_t>();
  in.check_count_and_dim(n, dim, INT32_MAX);
  DigraIndex index(dim, metric, storage, params);
  in.vectors(index.store_, n, dim);
  index.layout();
  index.order_ = in.array<int64_t>(n);
  in.check_distinct_ids(index.order_, n, "item order");
  index.entries_ = in.array<int32_t>(kMaxFileItems);
  in.expect_size(index.entries_, index.entry_offsets_.back(), "entry table");
  in.check_range(index.entries_, 0, static_cast<int64_t>(n), "entry position");
  index.links_ = in.array<int32_t>(kMaxFileItems);
  const size_t stride = static_cast<size_t>(params.M) + 1;
  in.expect_size(index.links_, static_cast<size_t>(index.graph_levels_) * n * stride, "link table");
  in.check_counted_links(index.links_, params.M, n);
  index.built_ = true;
  return index;
}

}  // namespace fanns::digra
