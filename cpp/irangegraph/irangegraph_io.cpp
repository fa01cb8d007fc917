// iRangeGraph index files: a versioned binary layout with every size checked on load.
#include <string>

#include "core/binary_io.h"
#include "core/param_fields.h"
#include "irangegraph/irangegraph_index.h"

namespace fanns::irangegraph {
namespace {

constexpr char kMagic[8] = {'F', 'A', 'N', 'N', 'S', 'I', 'R', 'G'};
constexpr uint32_t kVersion = 1;

}  // namespace

void IRangeGraphIndex::save(const std::string& path) const {
  if (!built_) throw std::runtime_error("cannot save an index that is not built");
  BinaryWriter out(path);
  out.header(kMagic, kVersion);
  out.metric_and_storage(store_);
  write_fields(out, params_);
  out.value<uint64_t>(store_.size());
  out.value<uint64_t>(store_.dim());
  out.value<int32_t>(layers_);
  out.vectors(store_);
  out.array(order_);
  out.array(links_);
  out.close();
}

IRangeGraphIndex IRangeGraphIndex::load(const std::string& path) {
  BinaryReader in(path);
  in.expect_header(kMagic, kVersion);
  const auto [metric, storage] = in.metric_and_storage();
  BuildParams params;
  read_fields(in, params);
  in.check_params(params);
  const uint64_t n = in.value<uint64_t>();
  const uint64_t dim = in.value<uint64_t>();
  const int32_t layers = in.value<int32_t>();
  in.check_count_and_dim(n, dim, INT32_MAX);
  if (layers != tree_depth(n) + 1) in.corrupt("layer count does not match the item count");
  IRangeGraphIndex index(dim, metric, storage, params);
  in.vectors(index.store_, n, dim);
  index.order_ = in.array<int64_t>(n);
  in.check_distinct_ids(index.order_, n, "item order");
  index.layers_ = layers;
  index.links_ = in.array<int32_t>(kMaxFileItems);
  const size_t stride = static_cast<size_t>(params.M) + 1;
  in.expect_size(index.links_, n * layers * stride, "link table");
  in.check_counted_links(index.links_, params.M, n);
  index.built_ = true;
  return index;
}

}  // namespace fanns::irangegraph
