"""The compiled NHQ indexes (`_core.NhqNswIndex`, `_core.NhqKGraphIndex`) on small clustered data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fanns_bench import _core

N, DIM, K = 2000, 32, 10


def clustered(n: int, seed: int) -> np.ndarray:
    """Unit vectors from a 20-cluster mixture in 8 latent dims mapped to 32 (like embeddings)."""
    latent = np.random.default_rng(0)
    centres, mapping = latent.standard_normal((20, 8)), latent.standard_normal((8, DIM))
    rng = np.random.default_rng(seed)
    points = (centres[rng.integers(0, 20, n)] + 0.5 * rng.standard_normal((n, 8))) @ mapping
    points += 0.05 * rng.standard_normal((n, DIM))
    return np.ascontiguousarray(points / np.linalg.norm(points, axis=1, keepdims=True), dtype=np.float32)


VECTORS, QUERIES = clustered(N, 0), clustered(40, 1)
_rng = np.random.default_rng(3)
CODES = np.ascontiguousarray(
    np.stack([_rng.choice(5, N, p=[0.5, 0.25, 0.15, 0.07, 0.03]), _rng.integers(0, 3, N)], axis=1),
    dtype=np.int32,
)
VARIANTS = {
    "nsw": lambda metric, a: _core.NhqNswIndex(DIM, metric, a, M=16, ef_construction=100),
}
if hasattr(_core, "NhqKGraphIndex"):
    VARIANTS["kgraph"] = lambda metric, a: _core.NhqKGraphIndex(
        DIM, metric, a, K=40, L=40, iter=8, S=10, R=100, RANGE=30, PL=50, B=0.5, M=1.0, seed=0
    )
WIDE = 1000  # ef_search / L_search wide enough to reach the rare combinations


def make(variant: str, attributes: int = 2, metric: str = "ip", threads: int = 1):
    index = VARIANTS[variant](metric, attributes)
    index.build(VECTORS, np.ascontiguousarray(CODES[:, :attributes]), threads)
    return index


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def index(request):
    return request.param, make(request.param)


def search(index, want: list[int], width: int = WIDE, weight: float = 1e6, threads: int = 1):
    codes = np.array([want], dtype=np.int32)
    return index.search(QUERIES, K, width, weight, threads, codes, np.zeros(len(QUERIES), dtype=np.int64))


def exact(want: list[int], metric: str = "ip") -> np.ndarray:
    matching = np.nonzero((CODES[:, : len(want)] == want).all(axis=1))[0]
    if metric == "ip":
        scores = -(QUERIES @ VECTORS[matching].T)
    else:
        scores = ((QUERIES[:, None, :] - VECTORS[matching][None]) ** 2).sum(-1)
    return matching[np.argsort(scores, axis=1, kind="stable")[:, :K]]


def recall(ids, truth) -> float:
    return sum(len(set(a.tolist()) & set(b.tolist())) for a, b in zip(ids, truth, strict=True)) / truth.size


@pytest.mark.parametrize("want", [[0, 0], [1, 2], [3, 1]])
def test_recall_and_matching_at_a_wide_search(index, want):
    _, built = index
    ids, distances, counts = search(built, want)
    truth = exact(want)
    assert recall(ids, truth) >= 0.9
    allowed = set(np.nonzero((CODES == want).all(axis=1))[0].tolist())
    assert all(set(row.tolist()) <= allowed for row in ids)
    assert (distances < 1e5).all() and (counts > 0).all()


def test_narrow_search_may_return_non_matching_items_last(index):
    """Approximate filtering: items that differ rank after every matching one (large weight)."""
    _, built = index
    want = [4, 2]  # about 17 items
    ids, distances, _ = search(built, want, width=20)
    allowed = set(np.nonzero((CODES == want).all(axis=1))[0].tolist())
    for row, dist in zip(ids, distances, strict=True):
        matched = np.array([i in allowed for i in row.tolist()])
        assert (dist[matched] < 1e5).all() and (dist[~matched] >= 1e5).all()
        if (~matched).any():
            assert matched[: np.argmax(~matched)].all() and not matched[np.argmax(~matched) :].any()


def test_zero_weight_is_plain_vector_search(index):
    _, built = index
    ids, _, _ = search(built, [0, 0], weight=0.0)
    order = np.argsort(-(QUERIES @ VECTORS.T), axis=1, kind="stable")[:, :K]
    assert recall(ids, order) >= 0.9


def test_threads_do_not_change_results(index):
    _, built = index
    assert np.array_equal(search(built, [1, 2], width=60)[0], search(built, [1, 2], width=60, threads=2)[0])


def test_single_thread_build_is_deterministic(index):
    variant, built = index
    other = make(variant)
    for item in (0, 5, 1999):
        assert built.neighbors(item) == other.neighbors(item)


def test_l2_metric(index):
    variant, _ = index
    built = make(variant, metric="l2", attributes=1)
    ids, _, _ = search(built, [1])
    assert recall(ids, exact([1], "l2")) >= 0.9


def test_save_load_round_trip_and_corruption(index, tmp_path):
    variant, built = index
    path = tmp_path / "nhq.bin"
    built.save(str(path))
    loaded = type(built).load(str(path))
    assert loaded.params == built.params
    assert np.array_equal(search(loaded, [1, 2])[0], search(built, [1, 2])[0])
    data = path.read_bytes()
    (tmp_path / "short.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(RuntimeError, match="corrupt"):
        type(built).load(str(tmp_path / "short.bin"))


def test_bad_arguments_name_the_argument(index):
    variant, built = index
    rows = np.zeros(len(QUERIES), dtype=np.int64)
    with pytest.raises(ValueError, match="query_codes"):
        built.search(QUERIES, K, 50, 1e6, 1, np.zeros((1, 3), np.int32), rows)
    with pytest.raises(ValueError, match="query_codes"):
        built.search(QUERIES, K, 50, 1e6, 1, np.zeros((1, 2), np.int64), rows)
    with pytest.raises(ValueError, match="rows"):
        built.search(QUERIES, K, 50, 1e6, 1, np.zeros((1, 2), np.int32), rows + 1)
    with pytest.raises(ValueError, match="queries"):
        built.search(QUERIES[:, :4].copy(), K, 50, 1e6, 1, np.zeros((1, 2), np.int32), rows)
    fresh = VARIANTS[variant]("ip", 2)
    with pytest.raises(ValueError, match="codes"):
        fresh.build(VECTORS, np.ascontiguousarray(CODES[:10]), 1)


def authors_input() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The small input the authors' NSW program was run on (tests/fixtures/nhq_nsw_authors.json):
    300 base and 20 query unit vectors in 16 dims, attribute codes 1-3."""
    rng = np.random.default_rng(20261206)

    def unit(n: int) -> np.ndarray:
        x = rng.standard_normal((n, 16))
        return np.ascontiguousarray(x / np.linalg.norm(x, axis=1, keepdims=True), dtype=np.float32)

    base, queries = unit(300), unit(20)
    codes = rng.choice([1, 2, 3], 300, p=[0.6, 0.3, 0.1]).astype(np.int32)
    return base, queries, codes, rng.choice([1, 2, 3], 20).astype(np.int32)


def _has_fma() -> bool:
    try:
        with open("/proc/cpuinfo") as info:
            return " fma " in info.read()
    except OSError:
        return False


@pytest.mark.skipif(not _has_fma(), reason="the authors' distances were taken with fused multiply-adds")
def test_nsw_graph_and_results_equal_the_authors_program():
    """The authors' n2 keeps each list in its heap's pop order (farthest first), breaks distance
    ties by heap position, not id, and sums squared L2 in four FMA lanes: our one-thread build
    gives their graph list for list and their result ids query for query (ties at weight 10^6
    included). Closest-first lists or id-ordered ties fail this."""
    name = Path("tests") / "fixtures" / "nhq_nsw_authors.json"
    path = next(p / name for p in Path(__file__).resolve().parents if (p / name).is_file())
    golden = json.loads(path.read_text())
    base, queries, codes, query_codes = authors_input()
    index = _core.NhqNswIndex(16, "l2", 1, M=golden["M"], ef_construction=golden["ef_construction"])
    index.build(base, codes.reshape(-1, 1), 1)
    assert [list(index.neighbors(i)) for i in range(300)] == golden["graph"]
    values, rows = np.unique(query_codes, return_inverse=True)
    for ef, expected in golden["results"].items():
        ids = index.search(queries, golden["k"], int(ef), float(golden["weight_search"]), 1,
                           values.reshape(-1, 1).astype(np.int32), rows.astype(np.int64))[0]  # fmt: skip
        assert ids.tolist() == expected, f"ef_search {ef}"


@pytest.mark.skipif(not _has_fma(), reason="the authors' distances were taken with fused multiply-adds")
def test_kgraph_graph_and_results_equal_the_authors_program_for_each_seed():
    """efanna draws from glibc's rand() (their build never seeds it: srand(1); their search calls
    srand(161803398)) and from mt19937s seeded with it, and sums squared L2 in eight FMA lanes:
    our one-thread build with seed s is their build after srand(s + 1), list for list (seeds 0
    and 1; R = 10, so that full reverse lists draw from rand() too), and a search returns their
    ids query for query. Our former splitmix draws, or another summation order, fail this."""
    name = Path("tests") / "fixtures" / "nhq_kgraph_authors.json"
    path = next(p / name for p in Path(__file__).resolve().parents if (p / name).is_file())
    golden = json.loads(path.read_text())
    base, queries, codes, query_codes = authors_input()
    values, rows = np.unique(query_codes, return_inverse=True)
    for seed, graph in golden["graphs"].items():
        index = _core.NhqKGraphIndex(16, "l2", 1, **golden["params"], seed=int(seed))
        index.build(base, codes.reshape(-1, 1), 1)
        assert [list(index.neighbors(i)) for i in range(300)] == graph, f"seed {seed}"
        if seed != "0":
            continue  # their results are those of their seed-0 (as published) build
        for width, expected in golden["results"].items():
            ids = index.search(queries, golden["k"], int(width), float(golden["weight_search"]), 1,
                               values.reshape(-1, 1).astype(np.int32), rows.astype(np.int64))[0]  # fmt: skip
            assert ids.tolist() == expected, f"L_search {width}"


@pytest.mark.parametrize("count", [1, 11, 227, 228, 400])
def test_kgraph_start_draws_are_mt19937_outputs(count):
    """A search draws each query's starting points from the first outputs of mt19937(seed);
    ours compute them from the seeded words they read (up to 227 outputs, lanes side by side)
    or with the engine (more). numpy's legacy MT19937 seeding is std::mt19937's: both give
    its outputs exactly, for 9 seeds (a partial group of lanes). A word off by one, or a
    lane mixed with another, fails this."""
    seeds = [0, 1, 5489, 161803398, 2**31 - 1, 2**32 - 1, 12345, 987654321, 42]
    got = np.array(_core._mt19937_first_outputs(seeds, count), dtype=np.uint64).reshape(len(seeds), count)
    for row, seed in zip(got, seeds, strict=True):
        engine = np.random.MT19937()
        engine._legacy_seeding(seed)
        assert row.tolist() == engine.random_raw(count).tolist(), f"seed {seed}"


def test_kgraph_ties_keep_the_drawn_order_not_id_order():
    """efanna compares distances only: when every item is as far as every other (identical
    vectors), the pool keeps its random starting points in the order drawn (sorted ids
    rotated by a random offset), and no neighbour enters (it is not nearer than the worst).
    Ordering ties by id returned every row ascending."""
    vectors = np.ascontiguousarray(np.tile(VECTORS[:1], (50, 1)))
    index = VARIANTS["kgraph"]("l2", 1)
    index.build(vectors, np.zeros((50, 1), dtype=np.int32), 1)
    queries = np.ascontiguousarray(np.tile(VECTORS[:1], (8, 1)))
    ids = index.search(queries, K, K, 1e6, 1, np.zeros((1, 1), np.int32), np.zeros(8, np.int64))[0]
    descents = [int(np.sum(np.diff(row) < 0)) for row in ids]
    assert all(d <= 1 for d in descents)  # a rotation of an ascending draw
    assert any(d == 1 for d in descents)  # ... not sorted by id
    assert all(len(set(row.tolist())) == K for row in ids)


def test_kgraph_descent_stops_early_as_efanna_float_recall_does():
    """With L = 80 a control pool holds at most 80 of its 100 true neighbours, so the control
    recall tops out at 0.8: efanna's float sums reach 0.8 (and stop) once every control pool
    lies in its truth; the same sums in double stay at 0.7999999999999985 and ran every round."""
    index = _core.NhqKGraphIndex(
        DIM, "l2", 1, K=40, L=80, iter=12, S=10, R=100, RANGE=30, PL=50, B=0.0, M=1.0, seed=0
    )
    index.build(VECTORS, np.ascontiguousarray(CODES[:, :1]), 1)
    assert 1 <= index.graph_stats()["descent_iterations"] < 12


def both_views(built, want: list[int], width: int):
    """(ids, distances, counts) through the node blocks, then through the index's own arrays."""
    built._set_use_layout(True)
    blocks = search(built, want, width=width)
    built._set_use_layout(False)
    try:
        arrays = search(built, want, width=width)
    finally:
        built._set_use_layout(True)
    return blocks, arrays


@pytest.mark.parametrize("want", [[0, 0], [4, 2], [9, 9]])
@pytest.mark.parametrize("width", [10, 60, WIDE])
def test_node_blocks_give_the_same_results_as_the_index_arrays(index, want, width):
    """The search-time node blocks (vector, codes, degree, links per node; the authors'
    OptimizeGraph) are a copy: same ids in the same order, same distances, same counts."""
    _, built = index
    assert built._layout_matches()
    blocks, arrays = both_views(built, want, width)
    for ours, theirs in zip(blocks, arrays, strict=True):
        assert np.array_equal(ours, theirs)


def test_node_blocks_are_rebuilt_on_load_and_counted_in_memory(index, tmp_path):
    variant, built = index
    built.save(str(tmp_path / "nhq.bin"))
    loaded = type(built).load(str(tmp_path / "nhq.bin"))
    assert loaded._layout_matches()
    blocks, arrays = both_views(loaded, [1, 2], 60)
    assert np.array_equal(blocks[0], arrays[0])
    # vectors twice (the index's own and the blocks'), plus codes and links
    assert built.memory_bytes() >= 2 * VECTORS.nbytes + built.graph_stats()["edges"] * 8


def test_a_wrong_node_block_is_caught(index):
    """A block whose vector differs from the index's fails the copy check and changes results:
    the item nearest to a query equal to its own vector drops from first place."""
    variant, _ = index
    built = make(variant)
    item = 7
    query = np.ascontiguousarray(VECTORS[item : item + 1])
    codes = np.ascontiguousarray(CODES[item : item + 1])
    rows = np.zeros(1, dtype=np.int64)
    before = built.search(query, K, 60, 1e6, 1, codes, rows)[0]
    assert before[0, 0] == item
    built._corrupt_layout_for_test(item)
    assert not built._layout_matches()
    after = built.search(query, K, 60, 1e6, 1, codes, rows)[0]
    assert after[0, 0] != item
    built._set_use_layout(False)
    assert built.search(query, K, 60, 1e6, 1, codes, rows)[0][0, 0] == item
    with pytest.raises(ValueError, match="item 2000"):
        built._corrupt_layout_for_test(N)
