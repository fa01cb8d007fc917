// ACORN index files: a versioned binary layout with every size checked on load.
#include <stdexcept>
#include <string>

#include "acorn/acorn_index.h"
#include "core/binary_io.h"

namespace fanns::acorn {
namespace {

constexpr char kMagic[8] = {'F', 'A', 'N', 'N', 'S', 'A', 'C', 'N'};
// 4: the reference methods' field lists end with write_past_list (their version-3 files are
// refused with a request to rebuild); 3: the method's tag, then its own field list
// (cpp/core/param_fields.h); 2 and 1 (the engine's whole parameter set) are refused likewise.
constexpr uint32_t kVersion = 4;

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
  out.header(kMagic, kVersion);
  out.value(static_cast<uint8_t>(params_.method()));
  out.metric_and_storage(store_);
  with_method_params(params_.method(), [&](auto fields) { write_fields(out, decltype(fields)::of(params_)); });
  out.value<uint64_t>(store_.size());
  out.value<uint64_t>(store_.dim());
  out.vectors(store_);
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

AcornIndex AcornIndex::load(const std::string& path, Method expected) {
  AcornIndex index = load(path);
  if (index.params_.method() != expected) {
    throw std::runtime_error("index file '" + path + "' holds an index of " + method_name(index.params_.method()) +
                             ", expected " + method_name(expected));
  }
  return index;
}

AcornIndex AcornIndex::load(const std::string& path) {
  BinaryReader in(path);
  const uint32_t version = in.expect_header(kMagic, 1, kVersion);
  if (version < 3) {
    in.corrupt("format version 1 or 2 (written before the per-method parameter lists) is no longer "
               "read; rebuild the index");
  }
  const uint8_t method = in.value<uint8_t>();
  if (method > static_cast<uint8_t>(Method::OneRef)) in.corrupt("unknown method tag");
  if (version < 4 && method >= static_cast<uint8_t>(Method::GammaRef)) {
    in.corrupt("format version 3 of a reference method (before write_past_list) is no longer read; "
               "rebuild the index");
  }
  const auto [metric, storage] = in.metric_and_storage();
  BuildParams params;
  with_method_params(static_cast<Method>(method),
                     [&](auto fields) { params = read_engine_params<decltype(fields)>(in); });
  const uint64_t n = in.value<uint64_t>();
  const uint64_t dim = in.value<uint64_t>();
  in.check_count_and_dim(n, dim, static_cast<uint64_t>(INT32_MAX) - 1);
  AcornIndex index(dim, metric, storage, params);
  in.vectors(index.store_, n, dim);
  Graph& g = index.graph_;
  g.entry_point = in.value<int32_t>();
  g.max_level = in.value<int32_t>();
  g.levels = in.array<uint8_t>(n);
  g.offsets0 = in.array<uint64_t>(n + 1);
  g.adjacency0 = in.array<int32_t>(kMaxFileItems);
  g.upper_slot = in.array<int32_t>(n);
  const uint32_t upper = in.value<uint32_t>();
  if (g.levels.size() != n || g.upper_slot.size() != n) in.corrupt("per-node tables have the wrong size");
  if (g.entry_point < 0 || static_cast<uint64_t>(g.entry_point) >= n) in.corrupt("bad entry point");
  if (g.max_level < 0 || upper != static_cast<uint32_t>(g.max_level)) in.corrupt("bad level count");
  if (g.levels.size() == n && g.levels[g.entry_point] != g.max_level) {
    in.corrupt("entry point is not on the top level");
  }
  in.check_offsets(g.offsets0, n, g.adjacency0.size(), "level-0");
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
    g.upper_adjacency.push_back(in.array<int32_t>(kMaxFileItems));
    in.check_offsets(g.upper_offsets.back(), slots, g.upper_adjacency.back().size(), "upper-level");
    check_ids(in, g.upper_adjacency.back(), n, false);
    for (int32_t id : g.upper_adjacency.back()) {
      // The reference's lists can name a node below the level (write_past_list).
      if (!params.reference && g.levels[id] < l + 1) in.corrupt("upper-level link to a node below that level");
    }
  }
  if (params.reference) g.reference_offsets = reference_node_offsets(g.levels, params);
  index.built_ = true;
  return index;
}

}  // namespace fanns::acorn
