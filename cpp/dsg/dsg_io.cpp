// DSG index files: a versioned binary layout with every size checked on load.
#include <string>

#include "core/binary_io.h"
#include "core/param_fields.h"
#include "dsg/dsg_index.h"
#include "graph/segment_io.h"

namespace fanns::dsg {
namespace {

constexpr char kMagic[8] = {'F', 'A', 'N', 'N', 'S', 'D', 'S', 'G'};
constexpr uint32_t kVersion = 1;

}  // namespace

void DsgIndex::save(const std::string& path) const {
  if (!built_) throw std::runtime_error("cannot save an index that is not built");
  BinaryWriter out(path);
  out.header(kMagic, kVersion);
  out.metric(store_);
  write_fields(out, params_);
  segment::write_store(out, store_);
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
  in.expect_header(kMagic, kVersion);
  const Metric metric = in.metric();
  BuildParams params;
  read_fields(in, params);
  in.check_params(params);
  const auto [n, dim] = segment::read_count_and_dim(in);
  DsgIndex index(dim, metric, params);
  in.vectors(index.store_, n, dim);
  Graph& g = index.graph_;
  g.offsets = in.array<uint64_t>(n + 1);
  g.neighbors = in.array<int32_t>(kMaxFileItems);
  g.left_lower = in.array<int32_t>(kMaxFileItems);
  g.left_upper = in.array<int32_t>(kMaxFileItems);
  g.right_lower = in.array<int32_t>(kMaxFileItems);
  g.right_upper = in.array<int32_t>(kMaxFileItems);
  const size_t edges = g.neighbors.size();
  in.check_offsets(g.offsets, n, edges, "edge");
  segment::check_ids(in, g.neighbors, n, "neighbour");
  if (g.left_lower.size() != edges || g.left_upper.size() != edges || g.right_lower.size() != edges ||
      g.right_upper.size() != edges) {
    in.corrupt("rectangle tables differ in length from the edge table");
  }
  for (size_t u = 0; u < n; ++u) {
    for (uint64_t e = g.offsets[u] + 1; e < g.offsets[u + 1]; ++e) {
      if (g.neighbors[e] <= g.neighbors[e - 1]) in.corrupt("neighbours are not sorted");
    }
  }
  index.built_ = true;
  index.use_huge_pages();
  return index;
}

}  // namespace fanns::dsg
