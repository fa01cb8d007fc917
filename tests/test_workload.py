"""Workload generation: buckets hit, shortfalls reported, deterministic, cached."""

import pytest

from fanns_bench.errors import ConfigError, WorkloadError
from fanns_bench.filters.predicates import And, Contains, Eq, Range
from fanns_bench.workloads.workload import WorkloadSpec, generate_workload

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
