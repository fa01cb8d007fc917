// ACORN-gamma and ACORN-1 (Patel et al., SIGMOD 2024) on the shared core.
//
// One class serves both variants:
//  * ACORN-gamma: HNSW-style hierarchy whose neighbour lists hold the M*gamma
//    nearest candidates (no RNG pruning); level-0 lists are compressed (keep the
//    first M_beta, then drop candidates already covered as 2-hop neighbours of
//    kept ones). Search traverses the predicate subgraph: a node's neighbours are
//    filtered by the predicate, compressed entries (position >= M_beta) are
//    expanded through their own neighbours, and the list is truncated to M.
//  * ACORN-1: a standard HNSW (RNG heuristic, M upper / 2M level 0); search
//    expands every neighbour list to 2 hops, filters, and truncates to M.
// With `reference` set, the same class builds and searches the graph the way
// the authors' code does (acorn_ref_build.cpp, acorn_ref_search.cpp): lists in
// faiss-HNSW order, filtered descent, the reference's truncations.
// See fanns_bench/methods/acorn/README.md for the departures from the paper.
//
// The four methods on this core (acorn_gamma, acorn_1, acorn_gamma_ref, acorn_1_ref) each
// declare their build parameters once, as a field list (GammaParams ... OneRefParams below,
// cpp/core/param_fields.h); each maps its fields onto the engine's BuildParams.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "core/distance.h"
#include "core/id_filter.h"
#include "core/param_fields.h"
#include "core/vector_store.h"

namespace fanns::acorn {

enum class Variant : uint8_t { Gamma = 0, One = 1 };

/// The method a BuildParams is (its variant, and reference mode or not); the index file's tag.
enum class Method : uint8_t { Gamma = 0, One = 1, GammaRef = 2, OneRef = 3 };
const char* method_name(Method method);

/// The engine's whole configuration; the methods fill it from their own field lists.
struct BuildParams {
  Variant variant = Variant::Gamma;
  int M = 32;                // degree of the predicate subgraph (HNSW's M)
  int gamma = 12;            // neighbour-list expansion factor (ACORN-gamma); 1 for ACORN-1
  int M_beta = 64;           // uncompressed prefix of level-0 lists (ACORN-gamma)
  int ef_construction = 100; // beam width while inserting
  uint64_t seed = 0;         // level assignment
  bool diversify = true;     // ACORN-gamma: list HNSW's RNG choice of links first (see README)
  // Reference behaviour (the authors' faiss-based code), see acorn_ref_build.cpp.
  bool reference = false;
  // Reference only: a full upper-level list that receives a back-link keeps its
  // farthest entries (drops the nearest), as the reference code does; false
  // keeps the nearest (the bug-fixed reference).
  bool drop_nearest_upper = true;
  // Reference only (with drop_nearest_upper): that nearest entry is written one slot past
  // the list, into the next list of the reference's flat layout, as the reference does;
  // false: it is lost.
  bool write_past_list = true;

  /// Throws std::invalid_argument naming the bad combination (each field's own bounds are
  /// its method's field list's).
  void validate() const;
  Method method() const {
    return static_cast<Method>((reference ? 2 : 0) + (variant == Variant::One ? 1 : 0));
  }
  /// Level-0 list capacity while building (and the most a list can hold).
  int level0_capacity() const;
  /// Upper-level list capacity (M: upper levels are HNSW's in both variants).
  int upper_capacity() const;
  /// Candidates a new node chooses its links from at `level` (M*gamma on
  /// ACORN-gamma's level 0, ef_construction otherwise).
  int candidate_count(int level) const;
  /// Reference layout: level-0 slots (M_beta + 1.5 M) and upper-level slots (M * gamma).
  int reference_level0_slots() const;
  int reference_upper_slots() const { return M * gamma; }
};

/// The reference's slot layout (faiss ACORN's cum_nneighbor_per_level): a node's levels one
/// after the other, M_beta + 1.5 M slots on level 0 and M * gamma on each upper level.
struct ReferenceLayout {
  explicit ReferenceLayout(const BuildParams& params)
      : slots0(params.reference_level0_slots()), slots_upper(params.reference_upper_slots()) {}
  size_t slots(int level) const { return level == 0 ? slots0 : slots_upper; }
  /// First slot of `level` within a node's slots (= the slots of its levels below).
  size_t start(int level) const { return level == 0 ? 0 : slots0 + (level - 1) * slots_upper; }
  size_t slots0;
  size_t slots_upper;
};

// Bounds that several methods' field lists share, written once.
constexpr double kMinM = 2, kMaxM = 512, kMaxGamma = 1024;

/// acorn_gamma: ACORN-gamma on our build (diversified lists, compressed level 0).
struct GammaParams {
  static constexpr Method kKind = Method::Gamma;
  int M = 0;
  int gamma = 0;
  int M_beta = 0;
  int ef_construction = 0;
  uint64_t seed = 0;
  bool diversify = true;
  static auto fields() {
    return std::make_tuple(param_field("M", &GammaParams::M, kMinM, kMaxM),
                           param_field("gamma", &GammaParams::gamma, 1, kMaxGamma),
                           param_field("M_beta", &GammaParams::M_beta, 1),
                           param_field("ef_construction", &GammaParams::ef_construction, 1),
                           param_field("seed", &GammaParams::seed, 0),
                           param_field("diversify", &GammaParams::diversify));
  }
  BuildParams engine() const;
  static GammaParams of(const BuildParams& p);
};

/// acorn_1: a standard HNSW (gamma = 1, M_beta = M) searched with two-hop expansion.
struct OneParams {
  static constexpr Method kKind = Method::One;
  int M = 0;
  int ef_construction = 0;
  uint64_t seed = 0;
  static auto fields() {
    return std::make_tuple(param_field("M", &OneParams::M, kMinM, kMaxM),
                           param_field("ef_construction", &OneParams::ef_construction, 1),
                           param_field("seed", &OneParams::seed, 0));
  }
  BuildParams engine() const;
  static OneParams of(const BuildParams& p);
};

/// acorn_gamma_ref: ACORN-gamma as the authors' code builds it (efConstruction = M * gamma).
struct GammaRefParams {
  static constexpr Method kKind = Method::GammaRef;
  int M = 0;
  int gamma = 0;
  int M_beta = 0;
  uint64_t seed = 0;
  bool drop_nearest_upper = true;
  bool write_past_list = true;
  static auto fields() {
    return std::make_tuple(param_field("M", &GammaRefParams::M, kMinM, kMaxM),
                           param_field("gamma", &GammaRefParams::gamma, 2, kMaxGamma),
                           param_field("M_beta", &GammaRefParams::M_beta, 0),
                           param_field("seed", &GammaRefParams::seed, 0),
                           param_field("drop_nearest_upper", &GammaRefParams::drop_nearest_upper),
                           param_field("write_past_list", &GammaRefParams::write_past_list));
  }
  BuildParams engine() const;
  static GammaRefParams of(const BuildParams& p);
};

/// acorn_1_ref: ACORN-1 as the authors' code builds it (gamma = 1; M_beta 0 means 2M, and
/// `params` then reports 2M, the value used).
struct OneRefParams {
  static constexpr Method kKind = Method::OneRef;
  int M = 0;
  int M_beta = 0;
  uint64_t seed = 0;
  bool drop_nearest_upper = true;
  bool write_past_list = true;
  static auto fields() {
    return std::make_tuple(param_field("M", &OneRefParams::M, kMinM, kMaxM),
                           param_field("M_beta", &OneRefParams::M_beta, 0),
                           param_field("seed", &OneRefParams::seed, 0),
                           param_field("drop_nearest_upper", &OneRefParams::drop_nearest_upper),
                           param_field("write_past_list", &OneRefParams::write_past_list));
  }
  BuildParams engine() const;
  static OneRefParams of(const BuildParams& p);
};

/// Call `fn(P{})` with the field-list struct P of `method`.
template <class Fn>
void with_method_params(Method method, Fn&& fn) {
  switch (method) {
    case Method::Gamma: return fn(GammaParams{});
    case Method::One: return fn(OneParams{});
    case Method::GammaRef: return fn(GammaRefParams{});
    case Method::OneRef: return fn(OneRefParams{});
  }
}

struct SearchParams {
  int k = 10;
  int ef_search = 64;
  int max_neighbors = 0;  // filtered level-0 neighbours kept per expansion; 0 = 2M
};

/// Level-0 links of ACORN-gamma carry a flag: a link to expand through its own
/// neighbours at search time (a compressed entry) is stored as ~id (negative).
inline int32_t link_id(int32_t entry) { return entry < 0 ? ~entry : entry; }
inline bool link_expands(int32_t entry) { return entry < 0; }

/// A finished graph: per-level CSR adjacency (level 0 for every node, upper
/// levels for the nodes that reach them). Entries are links (see link_id).
struct Graph {
  int32_t entry_point = -1;
  int max_level = -1;
  std::vector<uint8_t> levels;         // top level of each node
  std::vector<uint64_t> offsets0;      // N + 1
  std::vector<int32_t> adjacency0;
  std::vector<int32_t> upper_slot;     // node -> row in the upper tables, or -1
  std::vector<std::vector<uint64_t>> upper_offsets;  // [level-1] -> slots + 1
  std::vector<std::vector<int32_t>> upper_adjacency; // [level-1]
  // Reference mode: each node's first slot in the reference's flat layout (N + 1;
  // reference_node_offsets), for the lists it reads above a node's top level. Not saved.
  std::vector<uint64_t> reference_offsets;

  struct Span {
    const int32_t* begin;
    const int32_t* end;
    size_t size() const { return static_cast<size_t>(end - begin); }
  };

  Span neighbors(int32_t node, int level) const {
    if (level == 0) {
      return {adjacency0.data() + offsets0[node], adjacency0.data() + offsets0[node + 1]};
    }
    const int32_t slot = upper_slot[node];
    const auto& off = upper_offsets[level - 1];
    const int32_t* base = upper_adjacency[level - 1].data();
    return {base + off[slot], base + off[slot + 1]};
  }

  size_t memory_bytes() const;
};

/// Build the reference graph (acorn_ref_build.cpp); `levels` as assigned by the caller.
Graph build_reference_graph(const BuildParams& params, const VectorStore& store,
                            const std::vector<uint8_t>& levels, int threads);

/// Each node's first slot in the reference's flat layout (ReferenceLayout), N + 1 entries.
std::vector<uint64_t> reference_node_offsets(const std::vector<uint8_t>& levels, const BuildParams& params);

/// The list the reference reads for (node, level) above the node's top level: the slots of its
/// flat layout there, in the next nodes' lists (acorn_ref_search.cpp); into `out`.
void reference_window(const Graph& graph, const ReferenceLayout& layout, int32_t node, int level,
                      std::vector<int32_t>& out);

/// Search a reference graph (acorn_ref_search.cpp): see AcornIndex::search.
void search_reference(const Graph& graph, const BuildParams& build, const VectorStore& store,
                      const float* queries, size_t nq, const QueryFilter* filters,
                      const SearchParams& params, int threads, int64_t* out_ids,
                      float* out_distances, uint64_t* out_distance_counts);

/// Levels as the reference assigns them (ACORN::random_level): faiss's
/// RandomGenerator (std::mt19937 seeded with the low 32 bits of `seed`), one
/// rand_float per node in id order against probabilities (1 - 1/M) M^-l.
std::vector<uint8_t> reference_levels(size_t count, int M, uint64_t seed);

/// Level of each node: floor(-ln(U) / ln(M)), U uniform in (0, 1] from a seeded generator.
std::vector<uint8_t> assign_levels(size_t count, int M, uint64_t seed);

/// Test hook (tests/core/test_acorn.py): a deterministic stand-in for a preempted build thread.
namespace testing {
struct PauseRequest {
  int64_t node = -1;
  int64_t inserts = 0;
};
/// Arm (node >= 0) or disarm (-1): a build's insertion of `node` waits once its top level is linked,
/// before the levels below, until `inserts` other insertions have finished (10 s at most;
/// only an insertion that links an upper level waits).
void pause_insertion(int64_t node, int64_t inserts);
PauseRequest pause_request();
}  // namespace testing

class AcornIndex {
 public:
  AcornIndex(size_t dim, Metric metric, StorageType storage, BuildParams params);

  /// Index `count` row-major float32 vectors. With `threads` == 1 the build is
  /// deterministic for a given seed; with more threads insertion order varies.
  void build(const float* data, size_t count, int threads);

  /// Answer `nq` queries; `filters[i]` restricts query i. Writes k ids (-1 padded)
  /// and k distances (smaller is closer) per query, and the distance count per query.
  void search(const float* queries, size_t nq, const QueryFilter* filters,
              const SearchParams& params, int threads, int64_t* out_ids, float* out_distances,
              uint64_t* out_distance_counts) const;

  void save(const std::string& path) const;
  /// Load a saved index; `expected` (when given) is the method the file must hold.
  static AcornIndex load(const std::string& path);
  static AcornIndex load(const std::string& path, Method expected);

  size_t size() const { return store_.size(); }
  size_t dim() const { return store_.dim(); }
  Metric metric() const { return store_.metric(); }
  StorageType storage() const { return store_.type(); }
  const BuildParams& params() const { return params_; }
  bool is_built() const { return built_; }
  size_t memory_bytes() const { return store_.memory_bytes() + graph_.memory_bytes(); }
  const Graph& graph() const { return graph_; }

 private:
  BuildParams params_;
  VectorStore store_;
  Graph graph_;
  bool built_ = false;
};

}  // namespace fanns::acorn
