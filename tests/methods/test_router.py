"""The router method: each query to the method its filter type and selectivity name, with that
method's answers; predicate forms and selectivity estimates; a policy learned on one draw."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from fanns_bench.cli import main
from fanns_bench.errors import ConfigError
from fanns_bench.filters.estimate import selectivity
from fanns_bench.filters.predicates import And, Contains, Eq, Not, Or, Range
from fanns_bench.filters.shape import form_key, shape
from fanns_bench.methods.base import run_search
from fanns_bench.methods.router.method import ANSWERED, Router
from fanns_bench.methods.router.values import table_bytes
from fanns_bench.recommend.policy import Policy, Route, read_policy, write_policy
from fanns_bench.runner.run import run_sweep
from tests.dataset_factory import random_dataset
from tests.fakes import FakeCounting
from tests.sweeps import sweep_config

COUNTING = "tests.fakes:FakeCounting"
K = 5


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """1,000 items: category `rare` on 2 % of them, `common` on 50 %; score 0..999."""
    category = ["rare"] * 20 + ["common"] * 500 + [f"c{i % 8}" for i in range(480)]
    attributes = pa.table({"category": category, "score": np.arange(1000)})
    return random_dataset(tmp_path_factory.mktemp("router") / "d", attributes, queries=30)


def policy(path, rare_below: float = 0.05):
    """EM: selectivity <= `rare_below` to a forward counter, above to a reversing one; R: exact
    up to 5 %, above to the reversing counter (a route shared with EM); EM+R: the forward one."""
    routes = {
        "EM": (
            Route(rare_below, COUNTING, {"reverse": False}, {}),
            Route(1.0, COUNTING, {"reverse": True}, {}),
        ),
        "R": (Route(0.05, "exact", {}, {}), Route(1.0, COUNTING, {"reverse": True}, {})),
        "EM+R": (Route(1.0, COUNTING, {"reverse": False}, {}),),
    }
    shapes = {"EM": ("eq(category)",), "R": ("range(score)",), "EM+R": ("and(eq(category),range(score))",)}
    return write_policy(Policy(routes, shapes, 0.9), path)


PREDICATES = [Eq("category", "rare")] * 10 + [Eq("category", "common")] * 10 + [Range("score", 0, 9)] * 5
FORWARD = f'{ANSWERED}{COUNTING} {{"reverse":false}} {{}}'
REVERSED = f'{ANSWERED}{COUNTING} {{"reverse":true}} {{}}'


def routed(dataset, path):
    router = Router("l2", policy=str(path))
    router.build(dataset)
    ids = run_search(router, dataset.queries[:25], PREDICATES, dataset.attribute_index, K)
    return router, ids


def alone(dataset, predicates, rows, **build):
    method = FakeCounting("l2", **build)
    method.build(dataset)
    return run_search(method, dataset.queries[rows], predicates, dataset.attribute_index, K)


def test_each_query_goes_to_its_buckets_method_and_gets_its_answers(dataset, tmp_path):
    router, ids = routed(dataset, policy(tmp_path / "p.yaml"))
    assert router.stats() == {FORWARD: 10.0, REVERSED: 10.0, f"{ANSWERED}exact {{}} {{}}": 5.0}
    rare, common = slice(0, 10), slice(10, 20)
    forward = alone(dataset, PREDICATES[rare], rare)
    reversed_ = alone(dataset, PREDICATES[common], common, reverse=True)
    np.testing.assert_array_equal(ids[rare], forward)
    np.testing.assert_array_equal(ids[common], reversed_)
    assert not np.array_equal(ids[common], alone(dataset, PREDICATES[common], common))  # the routes differ
    assert set(np.unique(ids[20:])) <= set(range(10))  # the range queries, answered in range
    tables = table_bytes(router.value_tables[("eq", "category")])  # EM's value table (R's ranges: none)
    assert list(router.value_tables) == [("eq", "category")] and tables > 0
    assert router.memory_bytes() == 2000 + tables  # two counting builds (exact holds no index)
    router.close()


def test_a_lower_threshold_sends_the_rare_queries_to_the_other_route(dataset, tmp_path):
    router, ids = routed(dataset, policy(tmp_path / "p.yaml", rare_below=0.01))  # rare is 2 %
    assert router.stats()[REVERSED] == 20.0 and FORWARD not in router.stats()
    np.testing.assert_array_equal(ids[:10], alone(dataset, PREDICATES[:10], slice(0, 10), reverse=True))


def test_a_batch_one_route_answers_whole_gets_that_methods_answers(dataset, tmp_path):
    """The one-route path (no split, no copy): the same ids and counter as the method alone."""
    router = Router("l2", policy=str(policy(tmp_path / "p.yaml")))
    router.build(dataset)
    common = PREDICATES[10:20]
    ids = run_search(router, dataset.queries[10:20], common, dataset.attribute_index, K)
    np.testing.assert_array_equal(ids, alone(dataset, common, slice(10, 20), reverse=True))
    assert router.stats() == {REVERSED: 10.0}
    router.close()


def test_forms_outside_the_policy_or_its_methods_are_unsupported(dataset, tmp_path):
    router = Router("l2", policy=str(policy(tmp_path / "p.yaml")))
    kinds = dataset.attributes.kinds
    assert router.unsupported_reason(Eq("category", "x"), kinds) is None
    assert "no filter type of predicate form 'range(category)'" in router.unsupported_reason(
        Range("category", 0, 1), kinds
    )
    narrow = Policy({"R": (Route(1.0, "tests.fakes:FakeEqOnly", {}, {}),)}, {"R": ("range(score)",)}, 0.9)
    reason = Router("l2", policy=str(write_policy(narrow, tmp_path / "n.yaml"))).unsupported_reason(
        Range("score", 0, 1), kinds
    )
    assert reason.startswith("R route tests.fakes:FakeEqOnly {} {}: ") and "['range']" in reason


def test_a_missing_or_absent_policy_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="build parameter 'policy' is required"):
        Router("l2")
    with pytest.raises(ConfigError, match=r"nope.yaml does not exist; write it with fanns-bench recommend"):
        Router("l2", policy=str(tmp_path / "nope.yaml"))
    (tmp_path / "bad.yaml").write_text("recall: 0.9\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: filter_types: expected a mapping, got None"):
        Router("l2", policy=str(tmp_path / "bad.yaml"))


def test_forms_name_ops_and_attributes_not_values():
    assert shape(None) == "none"
    assert shape(Eq("a", 1)) == shape(Eq("a", 2)) == "eq(a)"
    assert shape(Eq("a", 1)) != shape(Eq("b", 1))
    both = And((Contains("tags", "x"), Not(Range("day", 1, 2))))
    assert shape(both) == "and(contains(tags),not(range(day)))"


def test_form_keys_are_equal_exactly_where_shapes_are():
    """The router keys predicates by `form_key` (no string built): two predicates must share
    a key exactly when they share a shape, values aside, order and nesting counted."""
    predicates = [
        None,
        Eq("a", 1),
        Eq("a", 2),
        Eq("b", 1),
        Range("a", 1, 2),
        Contains("tags", "x"),
        And((Contains("tags", "x"), Range("day", 1, 2))),
        And((Contains("tags", "y"), Range("day", 3, None))),
        And((Range("day", 1, 2), Contains("tags", "x"))),
        Or((Contains("tags", "x"), Range("day", 1, 2))),
        And((Contains("tags", "x"), Not(Range("day", 1, 2)))),
        And((Contains("tags", "x"), And((Range("day", 1, 2), Eq("a", 1))))),
        And((Contains("tags", "x"), Range("day", 1, 2), Eq("a", 1))),
    ]
    for one in predicates:
        for other in predicates:
            assert (form_key(one) == form_key(other)) == (shape(one) == shape(other)), (one, other)
    assert len({form_key(p) for p in predicates}) == len({shape(p) for p in predicates}) == 11


@pytest.mark.parametrize(
    "predicate",
    [
        None,
        Eq("category", "rare"),
        Range("score", 10, 59),
        Range("score", None, 4),
        And((Eq("category", "common"), Range("score", 0, 99))),
    ],
)
def test_the_selectivity_estimate_is_the_matching_share(dataset, predicate):
    index = dataset.attribute_index
    assert selectivity(index, predicate) == len(index.evaluate(predicate)) / 1000
    assert selectivity(index, Range("score", 10, 59)) == 0.05 != selectivity(index, Range("score", 10, 60))


def test_a_policy_learned_on_one_draw_routes_another(tmp_path, capsys):
    """Seed 0: two counting methods; recommend writes the policy; seed 1: the router applies it."""
    methods = {
        "a": {"name": COUNTING, "build": {"reverse": [False]}},
        "b": {"name": COUNTING, "build": {"reverse": [True]}},
    }
    learned = run_sweep(sweep_config(tmp_path / "learn", methods)).results_dir
    assert main(["recommend", str(learned), "--recall", "0.9", "--out", str(tmp_path / "p.yaml")]) == 0
    capsys.readouterr()
    plan = read_policy(tmp_path / "p.yaml")
    assert plan.shapes == {"EM": ("eq(category)",), "R": ("range(score)",)}
    assert {r.method for routes in plan.routes.values() for r in routes} == {COUNTING}
    config = sweep_config(tmp_path / "held", {"router": {"name": "fanns_bench.methods.router.method:Router",
                                                         "build": {"policy": [str(tmp_path / "p.yaml")]}}})  # fmt: skip
    config["workload"]["seed"] = 1
    rows = run_sweep(config).rows
    assert set(rows.status) == {"ok"} and (rows.recall == 1.0).all()
    for one in rows.itertuples():
        counts = json.loads(one.method_stats)
        route = plan.route(one.filter_type, one.selectivity_bucket)
        assert counts == {f"{ANSWERED}{route.label}": float(one.n_queries)}, one.key
        assert list(one.filter_shapes) == list(plan.shapes[one.filter_type])
        assert one.method_name == "fanns_bench.methods.router.method:Router"


@pytest.mark.parametrize(("deterministic_builds", "threads"), [(True, 1), (False, 2)])
def test_each_routed_method_is_built_on_the_threads_it_is_built_on_alone(
    tmp_path, deterministic_builds, threads
):
    """runner.deterministic_builds builds a `one_thread` method on one thread; routed, it is
    built the same (not on the router's every core), and on every core when the runner says so."""
    one = "tests.fakes:FakeOneThread"
    plan = Policy(
        {t: (Route(1.0, one, {}, {}),) for t in ("EM", "R")},
        {"EM": ("eq(category)",), "R": ("range(score)",)},
        0.9,
    )
    methods = {"one": {"name": one}, "router": {"name": "fanns_bench.methods.router.method:Router",
                                                "build": {"policy": [str(write_policy(plan, tmp_path / "p.yaml"))]}}}  # fmt: skip
    config = sweep_config(tmp_path, methods, build_threads=2, deterministic_builds=deterministic_builds)
    rows = run_sweep(config).rows.set_index("method")
    assert set(rows.loc["one", "build_threads"]) == set(rows.loc["router", "build_threads"]) == {threads}
    assert set(rows.loc["router", "deterministic"]) == {threads == 1}


def test_a_routed_methods_build_runs_under_its_own_thread_cap(dataset, tmp_path):
    """Inside the runner's cap for the router (2), a member given 1 builds with the BLAS and
    OpenMP pools capped to 1, as the runner caps it alone; the router's cap comes back after."""
    from threadpoolctl import threadpool_info

    from fanns_bench.runner.threads import capped_threads

    plan = Policy({"EM": (Route(1.0, "tests.fakes:FakePools", {}, {}),)}, {"EM": ("eq(category)",)}, 0.9)
    router = Router("l2", 2, policy=str(write_policy(plan, tmp_path / "p.yaml")))
    router.set_build_threads(lambda cls: 1 if cls.deterministic_build == "one_thread" else 2)
    with capped_threads(2):
        router.build(dataset)
        after = {int(pool["num_threads"]) for pool in threadpool_info()}
    member = router._method(plan.routes["EM"][0])
    assert member.threads == 1 and member.pools == {1} and after == {2}


def test_a_predicate_is_evaluated_once_per_batch_by_the_router_and_its_route(dataset, tmp_path, monkeypatch):
    """Counting a predicate's matches (to route it) and filtering by them (the route's method)
    share one evaluation: the router's filter work in `qps` is not the method's twice over. An
    equality's posting list the router looked up to count it is its route's matches (no
    evaluation); a compound form is evaluated once; a range is counted by its positions, so
    only its route (exact ids) evaluates it."""
    from fanns_bench.filters.attribute_index import AttributeIndex

    calls: list[object] = []
    evaluate = AttributeIndex.evaluate
    monkeypatch.setattr(AttributeIndex, "evaluate", lambda self, p: calls.append(p) or evaluate(self, p))
    both = And((Eq("category", "common"), Range("score", 0, 99)))
    router = Router("l2", policy=str(policy(tmp_path / "p.yaml")))
    router.build(dataset)
    run_search(router, dataset.queries[:26], [*PREDICATES, both], dataset.attribute_index, K)
    assert sorted(map(str, calls)) == sorted(map(str, [Range("score", 0, 9), both]))
    router.close()


def test_a_ranges_positions_are_found_once_per_batch(dataset, monkeypatch):
    """The router's count of a range and a range method's filter input (`position_ranges`)
    share one lookup per distinct range."""
    from fanns_bench.filters.attribute_index import AttributeIndex
    from fanns_bench.methods.base import FilterBatch
    from fanns_bench.methods.common.ordered import position_ranges

    calls: list[tuple] = []  # (low, high) of each range looked up, one by one or batched
    one, many = AttributeIndex.position_range, AttributeIndex.position_ranges
    monkeypatch.setattr(
        AttributeIndex, "position_range", lambda self, attr, *a: calls.append(a) or one(self, attr, *a)
    )
    monkeypatch.setattr(
        AttributeIndex,
        "position_ranges",
        lambda self, attr, lows, highs: (
            calls.extend(zip(lows, highs, strict=True)) or many(self, attr, lows, highs)
        ),
    )
    batch = FilterBatch.of([Range("score", 0, 99)] * 3 + [Range("score", 5, 9)], dataset.attribute_index)
    assert batch.selectivity(Range("score", 0, 99)) == pytest.approx(0.1)
    ranges = position_ranges(batch, "score")
    assert calls == [(0, 99), (5, 9)]  # one per distinct range: the counted one is not searched again
    assert list(ranges.stops - ranges.starts) == [100, 100, 100, 5]


def mixed_predicates(seed: int = 0) -> list:
    """Every form of the test policy at several selectivities, shuffled: consecutive queries
    go to different routes, so a result written to another query's row shows."""
    predicates = (
        [Eq("category", "rare")] * 6  # 2 %: exactly a threshold in one test
        + [Eq("category", "common")] * 6
        + [Eq("category", f"c{i}") for i in range(8)]  # 6 % each
        + [Eq("category", "absent")] * 2  # no item: selectivity 0
        + [Range("score", low, low + width) for low in (0, 300, 900) for width in (4, 49, 60, 499)]
        + [Range("score", None, 30), Range("score", 980, None), Range("score", 500, 400)]
        + [And((Eq("category", "common"), Range("score", 0, 99)))] * 3
    )
    return [predicates[i] for i in np.random.default_rng(seed).permutation(len(predicates))]


@pytest.mark.parametrize("rare_below", [0.02, 0.05, 0.01])
def test_batch_routes_and_ids_are_those_of_routing_each_query_alone(dataset, tmp_path, rare_below):
    """The batch path (forms counted at once, routes searched, queries grouped by route, results
    scattered back) gives every query the route of the per-query path (its form's filter type,
    `estimate.selectivity`, `Policy.route`: `<=` a bound, 2 % exactly at 0.02) and, row by row,
    the ids its route's method returns for that query alone."""
    from fanns_bench.methods.base import FilterBatch

    path = policy(tmp_path / "p.yaml", rare_below)
    plan, index = read_policy(path), dataset.attribute_index
    types = plan.filter_type_of()
    predicates = mixed_predicates()
    expected = [plan.route(types[shape(p)], selectivity(index, p)) for p in predicates]
    router = Router("l2", policy=str(path))
    router.build(dataset)
    batch = FilterBatch.of(predicates, index)
    got = [router.routes[i] for i in router.route_ids(batch)[batch.set_of_query]]
    assert [r.label for r in got] == [r.label for r in expected]
    assert len({r.label for r in expected}) == 3  # the batch is split three ways
    queries = np.asarray(dataset.queries)[np.arange(len(predicates)) % len(dataset.queries)]
    ids = run_search(router, queries, predicates, index, K)
    for i, (predicate, route) in enumerate(zip(predicates, expected, strict=True)):
        alone = router._method(route)
        one = run_search(alone, queries[i : i + 1], [predicate], index, K, **route.search)
        np.testing.assert_array_equal(ids[i], one[0], err_msg=f"query {i}: {predicate}")
    counted = {label[len(ANSWERED) :]: n for label, n in router.stats().items()}
    assert counted == {label: float([r.label for r in expected].count(label)) for label in counted}
    router.close()


@pytest.mark.parametrize(
    ("ranges", "parts"),
    [
        ([(0, 9), (100, 139), (500, 549)], 1),  # 1 %, 4 %, 5 % (at R's bound: its first route)
        ([(0, 9), (100, 150)], 2),  # 1 % and 5.1 %: across the bound
        ([(0, 60), (300, 999)], 1),  # both above it: the other route
    ],
)
def test_a_range_cell_goes_whole_to_one_route_only_when_all_its_counts_share_a_range(
    dataset, tmp_path, ranges, parts
):
    """A range cell's routes come from its least and greatest selectivity when both fall in one
    range of the policy (the batch handed whole to that route), else per predicate: the
    routes of routing each query alone either way, `<=` a bound included."""
    from fanns_bench.methods.base import FilterBatch

    path = policy(tmp_path / "p.yaml")
    plan, index = read_policy(path), dataset.attribute_index
    predicates = [Range("score", low, high) for low, high in ranges] * 2
    expected = [plan.route("R", selectivity(index, p)).label for p in predicates]
    router = Router("l2", policy=str(path))
    router.build(dataset)
    batch = FilterBatch.of(predicates, index)
    assert [router.routes[i].label for i in router.route_ids(batch)[batch.set_of_query]] == expected
    one = router._routes(FilterBatch.of(predicates, index))  # an int: one route found for all
    assert isinstance(one, int) == (parts == 1)
    prepared = router.prepare_filters(FilterBatch.of(predicates, index))
    assert len(prepared.parts) == parts == len(set(expected))
    assert sorted(np.concatenate([p.rows for p in prepared.parts]).tolist()) == list(range(len(predicates)))
    router.close()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_subset_of_a_batch_is_the_batch_of_its_predicates(dataset, seed):
    """`FilterBatch.subset` groups as `FilterBatch.of` does (distinct predicates in order of
    first appearance, also where rows are not in batch order) and shares the memo."""
    from fanns_bench.methods.base import FilterBatch

    predicates = mixed_predicates(seed)
    batch = FilterBatch.of(predicates, dataset.attribute_index)
    rows = np.random.default_rng(seed).choice(len(predicates), size=20, replace=False)
    part = batch.subset(rows)
    again = FilterBatch.of([predicates[i] for i in rows], dataset.attribute_index)
    assert part.predicates == again.predicates and part.distinct == again.distinct
    np.testing.assert_array_equal(part.set_of_query, again.set_of_query)
    assert part.memo is batch.memo


def test_a_batch_counts_every_form_as_the_per_predicate_estimate(dataset):
    """`FilterBatch.selectivities` equals `selectivity` per predicate, for every form it counts
    at once (ranges, open ones, empty ones; equalities on categorical and ordered attributes;
    an unknown value) and those it evaluates; the positions and posting lists it keeps are
    what `positions`/`matches` give."""
    from fanns_bench.filters.predicates import In
    from fanns_bench.methods.base import FilterBatch

    index = dataset.attribute_index
    predicates = [
        *mixed_predicates(),
        None,
        Eq("score", 7),
        Eq("score", 5000),
        In("category", ("rare", "c1")),
    ]
    batch = FilterBatch.of(predicates, index)
    shares = batch.selectivities()
    assert list(shares) == [selectivity(index, p) for p in batch.distinct]
    fresh = FilterBatch.of(predicates, index)
    for (kind, predicate), kept in batch.memo.items():
        if kind == "positions table":  # (the batch's distinct, each one's positions on an attribute)
            assert kept[0] is batch.distinct
            for one, *bounds in zip(batch.distinct, kept[1].tolist(), kept[2].tolist(), strict=True):
                on_it = type(one) in (Range, Eq) and one.attr == predicate  # ordered: ranges, equalities
                assert (bounds != [-1, -1]) == on_it, one
                if on_it and type(one) is Range:
                    assert bounds == list(fresh.positions(one)), one
            continue
        if kind == "leaf form":  # (the batch's distinct, the one leaf form of them all)
            assert kept == (batch.distinct, None)  # a mixed batch: not a cell of one leaf form
            continue
        expected = fresh.positions(predicate) if kind == "positions" else fresh.matches(predicate)
        np.testing.assert_array_equal(kept, expected, err_msg=f"{kind} {predicate}")
    assert batch.ranges_table("score") is not None and ("matches", Eq("category", "rare")) in batch.memo
    assert ("positions", Range("score", 7, 7)) in batch.memo  # an ordered equality's, for its evaluation
    part = batch.subset(np.array([1, 0]))
    assert part.ranges_table("score") is None  # rows of another batch's distinct: not read


def test_ranges_on_a_narrow_integer_column_are_found_one_by_one_as_before():
    """Keys whose array type is not the column's (Python ints on an int32 column) take the
    one-at-a-time search: the same positions as `position_range`."""
    from fanns_bench.filters.attribute_index import AttributeIndex
    from fanns_bench.filters.evaluate import AttributeTable

    values = pa.array(np.repeat(np.arange(50, dtype=np.int32), 2))
    index = AttributeIndex(AttributeTable(pa.table({"day": values})))
    lows, highs = [0, 10, None, 49, 30], [5, 10, 7, None, 20]
    starts, stops = index.position_ranges("day", lows, highs)
    assert list(zip(starts, stops, strict=True)) == [
        index.position_range("day", low, high) for low, high in zip(lows, highs, strict=True)
    ]
    assert list(stops - starts) == [12, 2, 16, 2, 0]


def test_a_batch_one_route_answers_is_handed_through_with_each_querys_own_ids(dataset, tmp_path, monkeypatch):
    """The one-route fast path (every distinct predicate of a shuffled batch to exact): the
    batch goes to the method as it is (no subset, no scatter), and every query, row by row,
    gets the ids exact gives it alone -- a row answered in another order, or another query's
    answer, fails."""
    from fanns_bench.methods.base import FilterBatch

    predicates = [Range("score", low, low + width) for low in (0, 250, 500, 990) for width in (0, 9, 30)]
    predicates = [predicates[i] for i in np.random.default_rng(3).permutation(len(predicates))] * 2
    queries = np.asarray(dataset.queries)[np.arange(len(predicates)) % len(dataset.queries)]
    router = Router("l2", policy=str(policy(tmp_path / "p.yaml")))
    router.build(dataset)
    batch = FilterBatch.of(predicates, dataset.attribute_index)
    monkeypatch.setattr(FilterBatch, "subset", lambda *a: pytest.fail("the one-route batch was split"))
    (part,) = router.prepare_filters(batch).parts
    assert part.route.method == "exact" and list(part.rows) == list(range(len(predicates)))
    ids = router.search(queries, router.prepare_filters(batch), K)
    exact = router._method(part.route)
    for i, predicate in enumerate(predicates):
        one = run_search(exact, queries[i : i + 1], [predicate], dataset.attribute_index, K)
        np.testing.assert_array_equal(ids[i], one[0], err_msg=f"query {i}: {predicate}")
    assert router.stats() == {f"{ANSWERED}{part.route.label}": float(len(predicates))}
    router.close()


def test_an_ordered_equality_counted_by_the_router_is_matched_from_its_positions(dataset, monkeypatch):
    """An equality on an ordered attribute that `selectivities` counted keeps its positions (as
    the range [value, value]); its matches come from them, the same ids as evaluation, with no
    second evaluation."""
    from fanns_bench.filters.attribute_index import AttributeIndex
    from fanns_bench.methods.base import FilterBatch

    index = dataset.attribute_index
    expected = {v: index.evaluate(Eq("score", v)) for v in (7, 999, 5000)}
    batch = FilterBatch.of([Eq("score", 7), Eq("score", 999), Eq("score", 5000)], index)
    assert list(batch.selectivities()) == [0.001, 0.001, 0.0]
    monkeypatch.setattr(AttributeIndex, "evaluate", lambda *a: pytest.fail("evaluated twice"))
    for value, ids in expected.items():
        np.testing.assert_array_equal(batch.matches(Eq("score", value)), ids)
    assert batch.memo[("positions", Range("score", 7, 7))] == (7, 8)


def no_counting(monkeypatch) -> None:
    """Fail the test where a batch counts a predicate (`FilterBatch.selectivities`)."""
    from fanns_bench.methods.base import FilterBatch

    monkeypatch.setattr(FilterBatch, "selectivities", lambda *a: pytest.fail("the batch was counted"))


def test_value_forms_and_one_route_types_are_routed_without_counting(dataset, tmp_path, monkeypatch):
    """An equality's route comes from the value table built with the router and a filter type
    with one route needs no count: a cell's batch of either is routed without counting (in
    `qps`), with the routes and ids of the counted path."""
    router = Router("l2", policy=str(policy(tmp_path / "p.yaml")))
    router.build(dataset)
    labels = [Eq("category", "rare")] * 3 + [Eq("category", f"c{i}") for i in range(8)]
    both = [And((Eq("category", "common"), Range("score", 0, 99)))] * 4
    queries = np.asarray(dataset.queries)
    counted = {}
    for name, predicates in (("labels", labels), ("both", both)):
        counted[name] = run_search(router, queries[: len(predicates)], predicates, dataset.attribute_index, K)
        counted[name + " routes"] = router.stats()
    no_counting(monkeypatch)
    for name, predicates in (("labels", labels), ("both", both)):
        ids = run_search(router, queries[: len(predicates)], predicates, dataset.attribute_index, K)
        np.testing.assert_array_equal(ids, counted[name])
        assert router.stats() == counted[name + " routes"]
    assert counted["labels routes"] == {FORWARD: 3.0, REVERSED: 8.0}  # rare 2 %, c0-c7 6 % each
    router.close()


@pytest.fixture(scope="module")
def values_dataset(tmp_path_factory):
    """60 items: `level` v in 0..9 on v + 1 items (less 5), `tag` lists, `kind` strings, `day` dates."""
    level = [v for v in range(10) for _ in range(v + 1)][:60]
    level += [9] * (60 - len(level))
    tags = [["a"] if i % 3 else ["a", "b"] if i % 2 else ["c"] for i in range(60)]
    kind = ["x" if i < 3 else "y" for i in range(60)]
    day = pa.array(np.arange(60) // 2, pa.int32()).cast(pa.date32())
    attributes = pa.table({"level": level, "tag": tags, "kind": kind, "day": day, "score": np.arange(60.0)})
    return random_dataset(tmp_path_factory.mktemp("values") / "d", attributes, queries=5)


def values_policy(path):
    """Two routes per value form, split at 5 % (3 of the 60 items)."""
    low, high = Route(0.05, "exact", {}, {}), Route(1.0, COUNTING, {"reverse": True}, {})
    forms = {"L": "eq(level)", "T": "contains(tag)", "K": "eq(kind)", "D": "eq(day)", "S": "eq(score)"}
    return write_policy(
        Policy({t: (low, high) for t in forms}, {t: (f,) for t, f in forms.items()}, 0.9), path
    )


def test_value_tables_route_every_value_as_its_count_does(values_dataset, tmp_path):
    """Each value form's table routes every value the data holds as counting it does (the
    5 % bound exactly: `<=`); a value the data lacks is counted; a batch on
    another attribute index than the router's is counted on that index; dates get no table."""
    from fanns_bench.filters.attribute_index import AttributeIndex
    from fanns_bench.filters.evaluate import AttributeTable
    from fanns_bench.methods.base import FilterBatch

    path = values_policy(tmp_path / "p.yaml")
    plan, index = read_policy(path), values_dataset.attribute_index
    router = Router("l2", policy=str(path))
    router.build(values_dataset)
    assert sorted(router.value_tables) == [
        ("contains", "tag"),
        ("eq", "kind"),
        ("eq", "level"),
        ("eq", "score"),
    ]
    present = [
        *(Eq("level", v) for v in range(10)),
        *(Contains("tag", t) for t in "abc"),
        Eq("kind", "x"),
        Eq("kind", "y"),
        Eq("score", 3.0),
        Eq("score", 3),  # equal numbers are one value, as the count finds them
        Eq("level", 2.0),
    ]
    others = [Eq("level", 42), Eq("score", 2.5), Contains("tag", "z"), Eq("kind", "w")]
    types = plan.filter_type_of()

    def expected(predicates, attributes):
        return [plan.route(types[shape(p)], selectivity(attributes, p)).label for p in predicates]

    batch = FilterBatch.of(present, index)
    assert router._known_routes(batch, batch.leaf_form()) is not None  # looked up, not counted
    assert [router.routes[i].label for i in router.route_ids(batch)] == expected(batch.distinct, index)
    assert {router.routes[i].method for i in router.route_ids(batch)} == {"exact", COUNTING}
    # a cell (one value form): its routes from the table, one int where all share one
    cell = [Eq("level", v) for v in range(10)]  # levels 0-2 on at most 5 % of the items
    batch_of_cell = FilterBatch.of(cell, index)
    known = router._known_routes(batch_of_cell, batch_of_cell.leaf_form())
    assert [router.routes[i].label for i in known] == expected(cell, index)
    rare = [Eq("level", v) for v in (2, 0, 1, 2)]
    rare_batch = FilterBatch.of(rare, index)
    assert router.routes[router._known_routes(rare_batch, rare_batch.leaf_form())].method == "exact"
    absent = FilterBatch.of([Eq("level", 0), Eq("level", 42)], index)
    assert router._known_routes(absent, absent.leaf_form()) is None
    for predicate in [*others, Eq("day", values_dataset.attributes.column("day")[0].as_py())]:
        one = FilterBatch.of([predicate], index)
        assert router._known_routes(one, one.leaf_form()) is None, predicate
        assert [router.routes[i].label for i in router.route_ids(one)] == expected([predicate], index)
    # the same attribute names, other counts: level 0 on half the items
    other = AttributeIndex(AttributeTable(values_dataset.attributes.table.set_column(
        0, "level", pa.array([0] * 30 + [1] * 30, pa.int64()))))  # fmt: skip
    moved = [Eq("level", 0), Eq("level", 9)]
    routes = router.route_ids(FilterBatch.of(moved, other))
    assert [router.routes[i].label for i in routes] == expected(moved, other) != expected(moved, index)
    router.close()


@pytest.mark.parametrize("items", [1, 7, 60, 100, 10_000])
@pytest.mark.parametrize("bound", [0.0, 1e-9, 0.001, 0.05, 0.07, 0.57, 1 / 3, 0.5, 0.9999, 1.0])
def test_a_count_is_within_its_count_limit_exactly_where_its_share_is_within_the_bound(items, bound):
    """`count_limit` agrees with dividing the count out (`c / items <= bound`) for every count:
    0.57 of 100 items is 56.99... multiplied out, yet 57 / 100 is within 0.57."""
    from fanns_bench.methods.router.method import count_limit

    limit = count_limit(bound, items)
    counts = np.arange(items + 1)
    np.testing.assert_array_equal(counts <= limit, counts / items <= bound)
