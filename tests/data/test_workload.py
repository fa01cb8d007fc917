"""Workload generation: buckets hit, shortfalls reported, deterministic, cached."""

import pytest

from fanns_bench.errors import ConfigError, WorkloadError
from fanns_bench.filters.predicates import And, Contains, Eq, Range
from fanns_bench.workloads.workload import WorkloadSpec, bucket_table, generate_workload
from tests.dataset_factory import random_dataset

FILTERS = [
    {"type": "EM", "template": "eq", "attribute": "category"},
    {"type": "R", "template": "range", "attribute": "score"},
    {"type": "EMIS", "template": "contains", "attribute": "tags"},
    {
        "type": "EM+R",
        "template": "and",
        "parts": [
            {"template": "eq", "attribute": "category"},
            {"template": "range", "attribute": "published"},
        ],
    },
    {"type": "none", "template": "none"},
]


def spec(**overrides):
    return WorkloadSpec.from_config(
        {
            "name": "w",
            "filters": FILTERS,
            "selectivities": [0.01, 0.1, 0.5],
            "queries_per_bucket": 10,
            **overrides,
        }
    )


def test_every_query_lies_in_its_bucket_and_counts_are_exact(tiny_dataset):
    workload = generate_workload(spec(), tiny_dataset)
    table = workload.table
    filtered = table[table.filter_type != "none"]
    assert (
        (filtered.selectivity >= filtered.selectivity_bucket / 2)
        & (filtered.selectivity <= filtered.selectivity_bucket * 2)
    ).all()
    for predicate, count in zip(workload.predicates, table.match_count, strict=True):
        assert tiny_dataset.attributes.count(predicate) == count


def test_predicate_shapes_follow_filter_types(tiny_dataset):
    workload = generate_workload(spec(), tiny_dataset)
    shapes = {t: type(p) for t, p in zip(workload.table.filter_type, workload.predicates, strict=True)}
    assert shapes == {"EM": Eq, "R": Range, "EMIS": Contains, "EM+R": And, "none": type(None)}


def test_unfillable_bucket_is_reported_not_faked(tiny_dataset):
    workload = generate_workload(spec(selectivities=[0.0007]), tiny_dataset)
    assert not (workload.table.filter_type == "EM").any()
    assert any(
        note.startswith("EM on category: bucket 0.0007 filled 0 of 10") for note in workload.shortfalls
    )


def test_generation_is_deterministic(tiny_dataset):
    a = generate_workload(spec(), tiny_dataset).table
    b = generate_workload(spec(), tiny_dataset).table
    assert a.equals(b)
    c = generate_workload(spec(seed=1), tiny_dataset).table
    assert not a.equals(c)


def test_sampled_mode_draws_from_item_attributes(tiny_dataset):
    workload = generate_workload(spec(mode="sampled", queries_per_bucket=30), tiny_dataset)
    table = workload.table
    assert (table.match_count > 0).all()
    assert set(table.selectivity_bucket) <= {0.01, 0.1, 0.5, 1.0}


def test_save_and_load_round_trip(tiny_dataset, tmp_path):
    workload = generate_workload(spec(), tiny_dataset)
    workload.save(tmp_path)
    from fanns_bench.workloads.workload import Workload

    again = Workload.load(tmp_path, "w")
    assert again.table.equals(workload.table)
    assert again.predicates == workload.predicates


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"selectivities": [0, 0.1]}, r"selectivities \[0.0\] are not in \(0, 1\]"),
        ({"tolerance": 1.0}, "tolerance must be > 1"),
        ({"mode": "random"}, "mode 'random'"),
        ({"colour": 1}, "unknown keys \\['colour'\\]"),
    ],
)
def test_bad_spec_is_a_config_error(overrides, message):
    with pytest.raises(ConfigError, match=message):
        spec(**overrides)


def test_unknown_attribute_in_filter(tiny_dataset):
    bad = spec(filters=[{"type": "EM", "template": "eq", "attribute": "colour"}])
    with pytest.raises(ConfigError, match="unknown attribute 'colour'"):
        generate_workload(bad, tiny_dataset)


def test_too_many_queries_per_bucket(tiny_dataset):
    with pytest.raises(WorkloadError, match="holds only 100 query vectors"):
        generate_workload(spec(queries_per_bucket=101), tiny_dataset)


def test_template_of_wrong_kind(tiny_dataset):
    bad = spec(filters=[{"type": "R", "template": "range", "attribute": "tags"}])
    with pytest.raises(ConfigError, match="needs a ordered attribute, but 'tags' is set"):
        generate_workload(bad, tiny_dataset)


def write_given(tiny_dataset, tmp_path, predicates, gt=None):
    import pyarrow as pa

    from fanns_bench.data.importers.common import write_workload
    from fanns_bench.filters.predicates import to_json

    table = pa.table(
        {
            "query_index": list(range(len(predicates))),
            "filter_type": ["EM"] * len(predicates),
            "predicate_json": [to_json(p) for p in predicates],
            "gt_ids": gt or [[0]] * len(predicates),
            "match_count": [0] * len(predicates),
            "selectivity": [0.0] * len(predicates),
        }
    )
    return write_workload(table, tmp_path / "given.parquet")


def test_file_mode_reads_a_given_workload_and_recounts_matches(tiny_dataset, tmp_path):
    path = write_given(tiny_dataset, tmp_path, [Eq("category", "c00"), Range("score", 0, 5000)])
    workload = generate_workload(
        WorkloadSpec.from_config({"name": "given", "mode": "file", "path": str(path)}), tiny_dataset
    )
    assert workload.table.match_count.tolist() == [
        tiny_dataset.attributes.count(Eq("category", "c00")),
        tiny_dataset.attributes.count(Range("score", 0, 5000)),
    ]
    assert "gt_ids" in workload.table


def test_empty_match_set_is_a_clear_error(tiny_dataset, tmp_path):
    from fanns_bench.runner.context import prepare_context

    path = write_given(tiny_dataset, tmp_path, [Eq("category", "no-such-category")])
    spec = WorkloadSpec.from_config({"name": "given", "mode": "file", "path": str(path)})
    with pytest.raises(WorkloadError, match="1 queries match no item .*no-such-category"):
        prepare_context(tiny_dataset, spec)
    dropped = WorkloadSpec.from_config(
        {"name": "given", "mode": "file", "path": str(path), "drop_empty": True}
    )
    assert generate_workload(dropped, tiny_dataset).table.empty


# ---------------------------------------------------------------- tolerance in every mode


def test_sampled_mode_keeps_only_queries_within_tolerance_and_counts_the_rest(tiny_dataset):
    workload = generate_workload(
        spec(mode="sampled", queries_per_bucket=60, selectivities=[0.01, 0.1], tolerance=1.5), tiny_dataset
    )
    table = workload.table
    filtered = table[table.filter_type != "none"]
    assert len(filtered) > 0
    assert (filtered.selectivity >= filtered.selectivity_bucket / 1.5 - 1e-12).all()
    assert (filtered.selectivity <= filtered.selectivity_bucket * 1.5 + 1e-12).all()
    shortfalls = workload.shortfall_table
    for filter_type in ("EM", "R", "EMIS", "EM+R"):
        kept = int((table.filter_type == filter_type).sum())
        left_out = int(shortfalls[shortfalls.filter_type == filter_type].left_out.sum())
        assert kept + left_out == 60, filter_type
    assert shortfalls.left_out.sum() > 0  # this tolerance leaves queries out, and says so
    assert any("outside every bucket's tolerance" in note for note in workload.shortfalls)


def test_file_mode_applies_the_tolerance_and_counts_what_it_leaves_out(tiny_dataset, tmp_path):
    predicates = [Range("score", 0, v) for v in (50, 100, 200, 400, 800, 1600, 3200, 10**9)]
    path = write_given(tiny_dataset, tmp_path, [*predicates, None])
    given = WorkloadSpec.from_config(
        {"name": "given", "mode": "file", "path": str(path), "selectivities": [0.1], "tolerance": 2.0}
    )
    workload = generate_workload(given, tiny_dataset)
    table = workload.table
    filtered = table[table.predicate != "null"]
    assert filtered.selectivity.between(0.05, 0.2).all()
    assert (filtered.selectivity_bucket == 0.1).all()
    assert table[table.predicate == "null"].selectivity_bucket.tolist() == [1.0]  # unfiltered
    selectivities = [tiny_dataset.attributes.count(p) / tiny_dataset.count for p in predicates]
    outside = sum(not 0.05 <= s <= 0.2 for s in selectivities)
    assert outside > 0 and len(filtered) == len(predicates) - outside
    assert workload.shortfall_table.left_out.sum() == outside


def labelled_dataset(root):
    """200 items: `labels` holds "all" on every item and "even" on every second one;
    `constant` is "a" everywhere; `rank` is 0..199."""
    import pyarrow as pa

    labels = [["all", "even"] if i % 2 == 0 else ["all"] for i in range(200)]
    attributes = pa.table({"labels": labels, "constant": ["a"] * 200, "rank": list(range(200))})
    return random_dataset(root / "labelled", attributes)


@pytest.mark.parametrize("mode", ["buckets", "sampled"])
def test_a_filter_matching_every_item_never_fills_a_bucket_below_one(tmp_path, mode):
    dataset = labelled_dataset(tmp_path)
    filters = [
        {"type": "EMIS", "template": "contains", "attribute": "labels"},
        {"type": "EM", "template": "eq", "attribute": "constant"},
    ]
    below = WorkloadSpec.from_config(
        {"name": "w", "filters": filters, "selectivities": [0.5], "queries_per_bucket": 20, "mode": mode}
    )
    workload = generate_workload(below, dataset)
    assert (workload.table.match_count < dataset.count).all()
    assert (workload.table[workload.table.filter_type == "EMIS"].selectivity == 0.5).all()
    assert not (workload.table.filter_type == "EM").any()
    em = workload.shortfall_table[workload.shortfall_table.filter_type == "EM"]
    shortfall = bucket_table(workload, below).set_index(["filter_type", "selectivity_bucket"]).shortfall
    assert shortfall[("EM", 0.5)] == 20
    assert em.note.str.contains("every item").all()
    with_one = WorkloadSpec.from_config(
        {
            "name": "w",
            "filters": filters,
            "selectivities": [0.5, 1.0],
            "queries_per_bucket": 20,
            "mode": mode,
        }
    )
    table = generate_workload(with_one, dataset).table
    everything = table[table.match_count == dataset.count]
    assert len(everything) > 0 and (everything.selectivity_bucket == 1.0).all()


def test_file_mode_leaves_out_a_filter_matching_every_item_below_one(tmp_path):
    dataset = labelled_dataset(tmp_path)
    path = write_given(dataset, tmp_path, [Contains("labels", "all"), Contains("labels", "even")])
    workload = generate_workload(
        WorkloadSpec.from_config({"name": "g", "mode": "file", "path": str(path), "selectivities": [0.5]}),
        dataset,
    )
    assert workload.table.selectivity.tolist() == [0.5]
    [note] = workload.shortfalls
    assert "1 queries nearest to bucket 0.5 left out" in note and "1 match every item" in note


def test_shortfall_table_and_bucket_table(tiny_dataset, tmp_path):
    from fanns_bench.workloads.workload import SHORTFALL_COLUMNS, Workload

    buckets_spec = spec(selectivities=[0.0007, 0.1])
    workload = generate_workload(buckets_spec, tiny_dataset)
    shortfalls = workload.shortfall_table
    assert list(shortfalls.columns) == SHORTFALL_COLUMNS
    em = shortfalls[(shortfalls.filter_type == "EM") & (shortfalls.selectivity_bucket == 0.0007)].iloc[0]
    assert (em.requested, em.filled, em.left_out) == (10, 0, 0)
    workload.save(tmp_path)
    again = Workload.load(tmp_path, "w")
    assert again.shortfall_table.equals(shortfalls) and again.shortfalls == workload.shortfalls
    table = bucket_table(workload, buckets_spec).set_index(["filter_type", "selectivity_bucket"])
    assert table.loc[("EM", 0.0007)].n_queries == 0 and table.loc[("EM", 0.0007)].shortfall == 10
    r = workload.table[(workload.table.filter_type == "R") & (workload.table.selectivity_bucket == 0.1)]
    row = table.loc[("R", 0.1)]
    assert row.n_queries == len(r) == 10 and row.shortfall == 0 and row.requested == 10
    assert (row.selectivity_min, row.selectivity_median, row.selectivity_max) == (
        r.selectivity.min(),
        r.selectivity.median(),
        r.selectivity.max(),
    )
