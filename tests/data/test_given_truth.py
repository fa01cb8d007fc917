"""Given ground truth is checked against exact search; the cache key covers what it depends on."""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
import pytest

from fanns_bench.data.dataset import load_dataset, write_dataset
from fanns_bench.data.importers.common import write_workload
from fanns_bench.errors import WorkloadError
from fanns_bench.filters.predicates import Eq, to_json
from fanns_bench.groundtruth import compute_ground_truth
from fanns_bench.runner import context as context_module
from fanns_bench.runner.context import prepare_context, workload_dir
from fanns_bench.workloads.workload import WorkloadSpec

COUNT, QUERIES = 300, 12


@pytest.fixture
def dataset(tmp_path):
    """300 items in 3 categories; items 2i and 2i+1 share one vector and a category (exact ties)."""
    rng = np.random.default_rng(1)
    vectors = np.repeat(rng.normal(size=(COUNT // 2, 6)), 2, axis=0).astype(np.float32)
    attributes = pa.table({"category": [category(i) for i in range(COUNT)]})
    return write_dataset(
        tmp_path / "data",
        name="data",
        vectors=vectors,
        queries=rng.normal(size=(QUERIES, 6)).astype(np.float32),
        attributes=attributes,
        metric="l2",
        builder="test",
    )


def category(item: int) -> str:
    return f"c{(item // 2) % 3}"


def predicates():
    return [Eq("category", f"c{q % 3}") for q in range(QUERIES)]


def exact_truth(dataset, depth=10):
    matches = [dataset.attributes.ids(p) for p in predicates()]
    return compute_ground_truth(np.asarray(dataset.queries), dataset.vectors, matches, depth, "l2")


def given_spec(dataset, gt_ids, name="given.parquet", depth=10):
    path = dataset.path / "workloads" / name
    write_workload(
        pa.table(
            {
                "query_index": list(range(QUERIES)),
                "filter_type": ["EM"] * QUERIES,
                "predicate_json": [to_json(p) for p in predicates()],
                "gt_ids": [[int(i) for i in row if i >= 0] for row in gt_ids],
                "match_count": [0] * QUERIES,
                "selectivity": [0.0] * QUERIES,
            }
        ),
        path,
    )
    return WorkloadSpec.from_config(
        {"name": "given", "mode": "file", "path": f"workloads/{name}", "ground_truth_depth": depth}
    )


def test_correct_given_truth_is_used_as_given(dataset):
    truth = exact_truth(dataset)
    context = prepare_context(dataset, given_spec(dataset, truth.ids))
    assert context.truth.ids.tolist() == truth.ids.tolist()


def test_an_id_outside_the_filter_is_named(dataset):
    ids = exact_truth(dataset).ids.copy()
    stray = next(i for i in range(COUNT) if category(i) != "c1")  # query 4 asks for c1
    ids[4, 2] = stray
    with pytest.raises(WorkloadError, match=f"query 4 .*id {stray} does not satisfy the filter"):
        prepare_context(dataset, given_spec(dataset, ids))


def test_a_reversed_order_is_named(dataset):
    ids = exact_truth(dataset).ids.copy()
    ids[7] = ids[7][::-1]
    with pytest.raises(WorkloadError, match=r"query 7 .*not best first: id \d+ \(score .*\) comes before id"):
        prepare_context(dataset, given_spec(dataset, ids))


def test_a_wrong_id_that_satisfies_the_filter_is_named(dataset):
    truth = exact_truth(dataset, depth=50)
    ids = truth.ids[:, :10].copy()
    ids[9, 9] = truth.ids[9, 40]  # in the filter, but far from the top 10
    with pytest.raises(WorkloadError, match=f"query 9 .*id {ids[9, 9]} at rank 10 .*not among the exact top"):
        prepare_context(dataset, given_spec(dataset, ids))


def test_near_ties_are_a_warning_with_counts(dataset, caplog):
    ids = exact_truth(dataset, depth=9).ids.copy()
    # the 9th id is the smaller of two twins (the top holds whole pairs, ties by id): the
    # other twin, 10th with an equal score, may stand in for it
    assert (ids[:, 8] % 2 == 0).all()
    rows = [1, 5, 6]
    ids[rows, 8] += 1
    with caplog.at_level(logging.WARNING, logger="fanns_bench.runner.context"):
        context = prepare_context(dataset, given_spec(dataset, ids, depth=9))
    assert context.truth.ids.tolist() == ids.tolist()
    assert f"near-tied scores (within 0.0001) on {len(rows)} of {QUERIES} checked queries" in caplog.text


def test_cache_key_covers_metric_given_files_and_code_versions(dataset, monkeypatch):
    truth = exact_truth(dataset)
    spec = given_spec(dataset, truth.ids)
    first, _ = workload_dir(dataset, spec)
    assert workload_dir(dataset, spec)[0] == first
    as_ip = load_dataset(dataset.path)
    as_ip.manifest = {**as_ip.manifest, "metric": "ip"}
    assert workload_dir(as_ip, spec)[0] != first
    monkeypatch.setattr(context_module, "GROUND_TRUTH_VERSION", 999)
    assert workload_dir(dataset, spec)[0] != first
    monkeypatch.undo()
    monkeypatch.setattr(context_module, "WORKLOAD_VERSION", 999)
    assert workload_dir(dataset, spec)[0] != first
    monkeypatch.undo()
    shorter = truth.ids.copy()
    shorter[:, 5:] = -1
    given_spec(dataset, shorter)  # same path and spec, new content
    assert workload_dir(dataset, spec)[0] != first


def test_a_changed_given_file_is_read_again_not_served_from_the_cache(dataset):
    truth = exact_truth(dataset)
    assert prepare_context(dataset, given_spec(dataset, truth.ids)).truth.counts.tolist() == [10] * QUERIES
    shorter = truth.ids.copy()
    shorter[:, 3:] = -1
    context = prepare_context(dataset, given_spec(dataset, shorter))
    assert context.truth.counts.tolist() == [3] * QUERIES


def test_one_row_check_one_tolerance():
    """`check_row` (the runner's and the published cross-check's one check)."""
    from fanns_bench.given_truth import SCORE_TOLERANCE, check_row

    exact_ids = np.array([3, 5, 8, -1])
    exact_scores = np.array([-1.0, -2.0, -4.0, np.nan], dtype=np.float32)
    matches = np.array([3, 5, 7, 8])
    good = check_row(exact_ids[:3], exact_scores[:3], exact_ids, exact_scores, matches)
    assert (good.problem, good.agreeing, good.compared, good.near_tie) == (None, 3, 3, False)
    # 7 scores within the tolerance of 8 at rank 3: a near tie, not a problem
    tied = np.array([-1.0, -2.0, -4.0 - 2 * SCORE_TOLERANCE], dtype=np.float32)
    near = check_row(np.array([3, 5, 7]), tied, exact_ids, exact_scores, matches)
    assert near.problem is None and near.near_tie and near.agreeing == 3
    # ... but ten tolerances short of it, 7 is not among the exact top
    low = np.array([-1.0, -2.0, -4.0 - 40 * SCORE_TOLERANCE], dtype=np.float32)
    wrong = check_row(np.array([3, 5, 7]), low, exact_ids, exact_scores, matches)
    assert wrong.problem == "rank" and "id 7 at rank 3" in wrong.message and wrong.agreeing == 2
    short = check_row(exact_ids[:2], exact_scores[:2], exact_ids, exact_scores, matches)
    assert short.problem is None and short.short and short.compared == 3
    stray = check_row(np.array([3, 6]), exact_scores[:2], exact_ids, exact_scores, matches)
    assert stray.problem == "filter" and "id 6" in stray.message
    order = check_row(exact_ids[:3][::-1], exact_scores[:3][::-1], exact_ids, exact_scores, matches)
    assert order.problem == "order"
