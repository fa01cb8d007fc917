// SeRF index files: a versioned binary layout with every size checked on load.
#include <string>

#include "core/binary_io.h"
#include "core/param_fields.h"
#include "graph/segment_io.h"
#include "serf/serf_index.h"

namespace fanns::serf {
namespace {

constexpr char kMagic[8] = {'F', 'A', 'N', 'N', 'S', 'S', 'R', 'F'};
constexpr uint32_t kVersion = 1;

}  // namespace

void SerfIndex::save(const std::string& path) const {
  if (!built_) throw std::runtime_error("cannot save an index that is not built");
  BinaryWriter out(path);
  out.header(kMagic, kVersion);
  out.metric(store_);
  write_fields(out, params_);
  segment::write_store(out, store_);
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
  in.expect_header(kMagic, kVersion);
  const Metric metric = in.metric();
  BuildParams params;
  read_fields(in, params);
  in.check_params(params);
  const auto [n, dim] = segment::read_count_and_dim(in);
  SerfIndex index(dim, metric, params);
  in.vectors(index.store_, n, dim);
  Graph& g = index.graph_;
  g.segment_offsets = in.array<uint64_t>(n + 1);
  g.segment_ends = in.array<int32_t>(kMaxFileItems);
  g.neighbor_offsets = in.array<uint64_t>(kMaxFileItems);
  g.neighbors = in.array<int32_t>(kMaxFileItems);
  g.reverse_offsets = in.array<uint64_t>(n + 1);
  g.reverse = in.array<int32_t>(kMaxFileItems);
  in.check_offsets(g.segment_offsets, n, g.segment_ends.size(), "segment");
  in.check_offsets(g.neighbor_offsets, g.segment_ends.size(), g.neighbors.size(), "neighbour");
  in.check_offsets(g.reverse_offsets, n, g.reverse.size(), "reverse");
  segment::check_ids(in, g.segment_ends, n, "segment end");
  segment::check_ids(in, g.neighbors, n, "neighbour");
  segment::check_ids(in, g.reverse, n, "reverse neighbour");
  index.built_ = true;
  return index;
}

}  // namespace fanns::serf
