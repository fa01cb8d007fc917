// CAPS partitions, attribute frequency trees, budgeted search and index files.
#include "caps/caps_index.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/binary_io.h"
#include "core/heaps.h"
#include "core/parallel.h"

namespace fanns::caps {

CapsIndex::CapsIndex(size_t dim, Metric metric, BuildParams params)
    : params_(params), store_(dim, metric, StorageType::Float32) {
  if (dim == 0) throw std::invalid_argument("dim must be >= 1");
  params_.validate();
}

size_t CapsIndex::memory_bytes() const {
  return store_.memory_bytes() + item_ids_.size() * 8 + values_.size() * 4 + centroids_.size() * 4 +
         (level_attr_.size() + level_value_.size()) * 4 + offsets_.size() * 8 + level_of_token_.size() * 2;
}

std::vector<uint64_t> CapsIndex::bucket_sizes() const {
  std::vector<uint64_t> sizes(offsets_.empty() ? 0 : offsets_.size() - 1);
  for (size_t b = 0; b < sizes.size(); ++b) sizes[b] = offsets_[b + 1] - offsets_[b];
  return sizes;
}

void CapsIndex::build(const float* data, size_t count, const float* centroids, const int64_t* assignment,
                      const int32_t* values, size_t attributes) {
  if (count == 0) throw std::invalid_argument("vectors must hold at least one row");
  const size_t clusters = static_cast<size_t>(params_.clusters);
  const size_t levels = static_cast<size_t>(params_.tree_levels);
  const size_t dim = store_.dim();
  for (size_t i = 0; i < count; ++i) {
    if (assignment[i] < 0 || static_cast<size_t>(assignment[i]) >= clusters) {
      throw std::invalid_argument("assignment[" + std::to_string(i) + "] = " + std::to_string(assignment[i]) +
                                  " is not a partition in [0, " + std::to_string(clusters) + ")");
    }
  }
  attributes_ = attributes;
  centroids_.assign(centroids, centroids + clusters * dim);
  std::vector<std::vector<int64_t>> members(clusters);
  for (size_t i = 0; i < count; ++i) members[assignment[i]].push_back(static_cast<int64_t>(i));

  level_attr_.assign(clusters * levels, -1);
  level_value_.assign(clusters * levels, -1);
  offsets_.assign(clusters * (levels + 1) + 1, 0);
  item_ids_.clear();
  item_ids_.reserve(count);
  auto value_of = [&](int64_t item, size_t a) { return values[static_cast<size_t>(item) * attributes + a]; };
  for (size_t c = 0; c < clusters; ++c) {
    // AFT: level h takes the most frequent (attribute, value) pair of the partition among
    // pairs not taken by earlier levels (ties: smallest pair), counted over all its items.
    std::map<std::pair<int32_t, int32_t>, int64_t> frequency;
    for (int64_t item : members[c]) {
      for (size_t a = 0; a < attributes; ++a) {
        if (value_of(item, a) != kAnyValue) ++frequency[{static_cast<int32_t>(a), value_of(item, a)}];
      }
    }
    for (size_t h = 0; h < levels && !frequency.empty(); ++h) {
      auto best = frequency.begin();
      for (auto it = frequency.begin(); it != frequency.end(); ++it) {
        if (it->second > best->second) best = it;
      }
      level_attr_[c * levels + h] = best->first.first;
      level_value_[c * levels + h] = best->first.second;
      frequency.erase(best);
    }
    std::vector<std::vector<int64_t>> buckets(levels + 1);
    for (int64_t item : members[c]) {
      size_t level = levels;
      for (size_t h = 0; h < levels; ++h) {
        const int32_t a = level_attr_[c * levels + h];
        if (a >= 0 && value_of(item, static_cast<size_t>(a)) == level_value_[c * levels + h]) {
          level = h;
          break;
        }
      }
      buckets[level].push_back(item);
    }
    for (size_t h = 0; h <= levels; ++h) {
      auto& items = buckets[h];
      // Inside a bucket, items sorted by their values (then id), as the authors' code does.
      std::sort(items.begin(), items.end(), [&](int64_t x, int64_t y) {
        for (size_t a = 0; a < attributes; ++a) {
          if (value_of(x, a) != value_of(y, a)) return value_of(x, a) < value_of(y, a);
        }
        return x < y;
      });
      const size_t b = bucket(c, h);
      offsets_[b + 1] = offsets_[b] + items.size();
      item_ids_.insert(item_ids_.end(), items.begin(), items.end());
    }
  }
  std::vector<float> ordered(count * dim);
  values_.resize(count * attributes);
  for (size_t pos = 0; pos < count; ++pos) {
    const size_t item = static_cast<size_t>(item_ids_[pos]);
    std::memcpy(ordered.data() + pos * dim, data + item * dim, dim * sizeof(float));
    for (size_t a = 0; a < attributes; ++a) values_[pos * attributes + a] = values[item * attributes + a];
  }
  store_.assign(ordered.data(), count);
  count_tokens();
  built_ = true;
}

void CapsIndex::count_tokens() {
  int32_t largest = -1;
  for (int32_t v : values_) largest = std::max(largest, v);
  token_counts_.assign(static_cast<size_t>(largest + 1), 0);
  for (int32_t v : values_) {
    if (v >= 0) ++token_counts_[static_cast<size_t>(v)];
  }
  // One attribute: a query's partition walk becomes one lookup per partition (at most 4M
  // entries, 8 MiB; beyond that, and for several attributes, the walk).
  const size_t clusters = static_cast<size_t>(params_.clusters), levels = static_cast<size_t>(params_.tree_levels);
  level_of_token_.clear();
  table_tokens_ = 0;
  if (attributes_ != 1 || levels > UINT16_MAX || token_counts_.size() * clusters > (size_t{1} << 22)) return;
  table_tokens_ = token_counts_.size();
  level_of_token_.assign(table_tokens_ * clusters, static_cast<uint16_t>(levels));
  for (size_t c = 0; c < clusters; ++c) {
    for (size_t h = levels; h-- > 0;) {  // the first level holding a value wins
      const int32_t v = level_value_[c * levels + h];
      if (level_attr_[c * levels + h] >= 0 && v >= 0 && static_cast<size_t>(v) < table_tokens_) {
        level_of_token_[static_cast<size_t>(v) * clusters + c] = static_cast<uint16_t>(h);
      }
    }
  }
}

uint64_t CapsIndex::match_bound(const int32_t* want) const {
  uint64_t bound = store_.size();
  for (size_t a = 0; a < attributes_; ++a) {
    if (want[a] == kAnyValue) continue;
    const size_t token = static_cast<size_t>(want[a]);
    bound = std::min<uint64_t>(bound, token < token_counts_.size() ? token_counts_[token] : 0);
  }
  return bound;
}

namespace {

constexpr uint64_t kLinearScan = 64;  // buckets up to this size are scanned without bisection

bool has_open(const int32_t* want, size_t attributes) {
  for (size_t a = 0; a < attributes; ++a) {
    if (want[a] == kAnyValue) return true;
  }
  return false;
}

/// Partitions in the order of a full sort by (centroid distance, id), ranked lazily: the next
/// chunk of the closest ones (16, then doubling) is selected with nth_element and sorted
/// only when the scan reaches it, so a query whose budget runs out after a few partitions
/// does not sort them all. Each (distance, id) is one 64-bit key whose integer order is that
/// order: distances are squared L2 (>= +0), whose float bits sort as unsigned integers.
class PartitionOrder {
 public:
  void reset(size_t clusters) {
    keys_.resize(clusters);
    ranked_ = 0;
  }
  void set(size_t c, float distance) {
    uint32_t bits;
    std::memcpy(&bits, &distance, sizeof bits);
    keys_[c] = (static_cast<uint64_t>(bits) << 32) | static_cast<uint32_t>(c);
  }
  /// The partition at `rank` (ranks are asked for in increasing order).
  size_t at(size_t rank) {
    if (rank >= ranked_) extend();
    return static_cast<size_t>(keys_[rank] & 0xffffffffu);
  }

 private:
  void extend() {
    const size_t n = keys_.size();
    const size_t next = std::min(n, std::max<size_t>(16, 2 * ranked_));
    const auto first = keys_.begin() + static_cast<std::ptrdiff_t>(ranked_);
    const auto middle = keys_.begin() + static_cast<std::ptrdiff_t>(next);
    if (next < n) std::nth_element(first, middle, keys_.end());
    std::sort(first, middle);
    ranked_ = next;
  }

  std::vector<uint64_t> keys_;
  size_t ranked_ = 0;
};

struct QueryScratch {
  PartitionOrder order;
  ResultHeap results;
};

}  // namespace

void CapsIndex::search(const float* queries, size_t nq, const int32_t* query_values, const SearchParams& params,
                       int threads, int64_t* out_ids, float* out_distances,
                       uint64_t* out_distance_counts) const {
  const size_t k = static_cast<size_t>(params.k);
  const uint64_t budget = static_cast<uint64_t>(params.max_distances);
  const size_t clusters = static_cast<size_t>(params_.clusters);
  const size_t levels = static_cast<size_t>(params_.tree_levels);
  const size_t dim = store_.dim();
  const DistanceF32 l2 = distance_kernels(Metric::L2).f32;
  parallel_for_each(
      nq, threads, [] { return QueryScratch{}; },
      [&](QueryScratch& s, size_t q) {
        int64_t* ids = out_ids + q * k;
        float* distances = out_distances + q * k;
        std::fill(ids, ids + k, -1);
        std::fill(distances, distances + k, 0.0f);
        out_distance_counts[q] = 0;
        const int32_t* want = query_values + q * attributes_;
        for (size_t a = 0; a < attributes_; ++a) {
          if (want[a] == kNoValue) return;
        }
        const float* query = queries + q * dim;
        // Partitions by centroid distance (L2, as k-means assigned them; ties by id). When the
        // budget covers every possible match, all partitions are visited and the k closest
        // matches are the same in any order: the ranking is skipped.
        // (Only with the exact top-k: the authors' stale one depends on the scan order.)
        const bool exhaustive = params.exact_top_k && match_bound(want) <= budget;
        s.order.reset(clusters);
        for (size_t c = 0; c < clusters; ++c) {
          s.order.set(c, exhaustive ? 0.0f : l2(query, centroids_.data() + c * dim, dim));
        }
        QueryDistance distance(store_, query);
        s.results.reset(k);
        uint64_t seen = 0;
        bool all_open = true;
        for (size_t a = 0; a < attributes_; ++a) all_open = all_open && want[a] == kAnyValue;
        // The authors' top-k: once k candidates are kept, one closer than `stale` (the maximum
        // before the last replacement, not the current one) replaces the current maximum.
        float stale = std::numeric_limits<float>::infinity();
        auto keep = [&](float d, int32_t pos) {
          if (params.exact_top_k) {
            if (s.results.accepts(d)) s.results.push({d, pos});
          } else if (!s.results.full()) {
            s.results.push({d, pos});
            if (s.results.full()) stale = s.results.worst().distance;
          } else if (d < stale) {
            stale = s.results.worst().distance;
            s.results.replace_worst({d, pos});
          }
        };
        auto scan = [&](size_t b) {
          uint64_t begin = offsets_[b], end = offsets_[b + 1];
          if (attributes_ > 0 && want[0] != kAnyValue && end - begin > kLinearScan) {
            // A bucket is sorted by its items' values: the items whose first value is the
            // query's are one run. Skipping the rest changes nothing but the scan's cost
            // (small buckets are cheaper to test item by item than to bisect).
            const int32_t* v = values_.data();
            const size_t stride = attributes_;
            uint64_t lo = begin, hi = end;
            while (lo < hi) {
              const uint64_t mid = lo + (hi - lo) / 2;
              if (v[mid * stride] < want[0]) lo = mid + 1;
              else hi = mid;
            }
            begin = lo;
            hi = end;
            while (lo < hi) {
              const uint64_t mid = lo + (hi - lo) / 2;
              if (v[mid * stride] <= want[0]) lo = mid + 1;
              else hi = mid;
            }
            end = lo;
          }
          const size_t stride = attributes_;
          const int32_t* values = values_.data();
          uint64_t spent = seen;  // a local copy keeps the loop free of reloads
          auto matches = [&](uint64_t pos) {
            const int32_t* v = values + pos * stride;
            if (stride == 1) return want[0] == kAnyValue || v[0] == want[0];  // one attribute: no loop
            bool match = true;
            for (size_t a = 0; a < stride && match; ++a) match = want[a] == kAnyValue || v[a] == want[a];
            return match;
          };
          for (uint64_t pos = begin; pos < end && spent < budget; ++pos) {
            if (!matches(pos)) continue;
            ++spent;
            keep(distance(pos), static_cast<int32_t>(pos));
          }
          seen = spent;
        };
        // One attribute, required: the matches of partition c are all in the first level
        // holding the query's value, else in the remainder; `level_of_token_` says which (the
        // walk below, looked up). A value past the table is in no tree: the remainder.
        const bool one_value = !level_of_token_.empty() && want[0] >= 0;
        const uint16_t* level_of = one_value && static_cast<size_t>(want[0]) < table_tokens_
                                       ? level_of_token_.data() + static_cast<size_t>(want[0]) * clusters
                                       : nullptr;
        for (size_t rank = 0; rank < clusters && seen < budget; ++rank) {
          const size_t c = s.order.at(rank);
          if (one_value) {
            scan(bucket(c, level_of != nullptr ? level_of[c] : levels));
            continue;
          }
          // The authors' program reads partition 0's tree for a query with an open attribute.
          const size_t tree = params.fix_open_attributes || all_open || !has_open(want, attributes_) ? c : 0;
          bool matched_level = false;
          for (size_t h = 0; h < levels && seen < budget; ++h) {
            const int32_t a = level_attr_[tree * levels + h];
            if (a < 0) continue;
            if (want[a] == kAnyValue) {
              scan(bucket(c, h));  // the query's matches may carry this level's pair
            } else if (want[a] == level_value_[tree * levels + h]) {
              scan(bucket(c, h));  // every match of the query is in this bucket
              matched_level = true;
              break;
            }
          }
          // The authors' program skips the remainder when every attribute is open.
          if (!matched_level && (params.fix_open_attributes || !all_open)) scan(bucket(c, levels));
        }
        const auto& best = s.results.sorted();
        for (size_t i = 0; i < best.size(); ++i) {
          ids[i] = item_ids_[static_cast<size_t>(best[i].id)];
          distances[i] = best[i].distance;
        }
        out_distance_counts[q] = distance.count();
      });
}

namespace {

constexpr char kMagic[8] = {'F', 'A', 'N', 'N', 'S', 'C', 'A', 'P'};
constexpr uint32_t kVersion = 1;

}  // namespace

void CapsIndex::save(const std::string& path) const {
  if (!built_) throw std::runtime_error("cannot save an index that is not built");
  BinaryWriter out(path);
  out.header(kMagic, kVersion);
  out.metric(store_);
  write_fields(out, params_);
  out.value<uint64_t>(store_.size());
  out.value<uint64_t>(store_.dim());
  out.value<uint64_t>(attributes_);
  out.array(store_.raw_f32());
  out.array(item_ids_);
  out.array(values_);
  out.array(centroids_);
  out.array(level_attr_);
  out.array(level_value_);
  out.array(offsets_);
  out.close();
}

CapsIndex CapsIndex::load(const std::string& path) {
  BinaryReader in(path);
  in.expect_header(kMagic, kVersion);
  const Metric metric = in.metric();
  BuildParams p;
  read_fields(in, p);
  in.check_params(p);
  const uint64_t n = in.value<uint64_t>();
  const uint64_t dim = in.value<uint64_t>();
  const uint64_t attributes = in.value<uint64_t>();
  in.check_count_and_dim(n, dim, kMaxFileItems);
  if (attributes > 4096) in.corrupt("implausible attribute count " + std::to_string(attributes));
  CapsIndex index(dim, metric, p);
  index.attributes_ = attributes;
  in.vectors(index.store_, n, dim);
  index.item_ids_ = in.array<int64_t>(n);
  index.values_ = in.array<int32_t>(n * attributes);
  const size_t clusters = static_cast<size_t>(p.clusters), levels = static_cast<size_t>(p.tree_levels);
  index.centroids_ = in.array<float>(clusters * dim);
  index.level_attr_ = in.array<int32_t>(clusters * levels);
  index.level_value_ = in.array<int32_t>(clusters * levels);
  index.offsets_ = in.array<uint64_t>(clusters * (levels + 1) + 1);
  if (index.item_ids_.size() != n || index.values_.size() != n * attributes || index.centroids_.size() != clusters * dim ||
      index.level_attr_.size() != clusters * levels || index.level_value_.size() != clusters * levels ||
      index.offsets_.size() != clusters * (levels + 1) + 1) {
    in.corrupt("array sizes do not match the header");
  }
  in.check_range(index.item_ids_, 0, static_cast<int64_t>(n), "item id");
  in.check_range(index.level_attr_, -1, static_cast<int64_t>(attributes), "tree attribute");
  in.check_offsets(index.offsets_, index.offsets_.size() - 1, n, "bucket");
  index.count_tokens();
  index.built_ = true;
  return index;
}

}  // namespace fanns::caps
