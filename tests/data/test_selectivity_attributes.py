"""The seed paper's selectivity study on synthetic attributes: columns that set a filter's
selectivity exactly, and workload filters that target only their own bucket."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from fanns_bench.data.selectivity_attributes import add_selectivity_attributes, selectivity_attribute_kinds
from fanns_bench.errors import ConfigError
from fanns_bench.workloads.templates import FilterSpec
from fanns_bench.workloads.workload import WorkloadSpec, _as_plain, bucket_table, generate_workload
from tests.dataset_factory import random_dataset

LEVELS = [0.2, 0.4, 0.6, 0.8]


def test_each_level_matches_exactly_its_fraction_and_no_other_value_comes_close():
    table = add_selectivity_attributes(pa.table({"x": list(range(1000))}), LEVELS, seed=3)
    assert table.column_names == ["x", "em_20", "em_40", "em_60", "em_80", "r_sel", "emis_sel"]
    for level in LEVELS:
        values, counts = np.unique(
            table.column(f"em_{round(level * 100)}").to_numpy(zero_copy_only=False), return_counts=True
        )
        shares = dict(zip(values, counts / 1000, strict=True))
        assert shares.pop("s") == level
        assert max(shares.values()) < 0.05  # only "s" reaches any of the study's buckets
    sets = table.column("emis_sel").to_pylist()
    for level in LEVELS:
        assert sum(f"s{round(level * 100)}" in s for s in sets) == round(level * 1000)
    assert sorted(table.column("r_sel").to_pylist()) == list(range(1000))


def test_kinds_and_clear_errors():
    assert selectivity_attribute_kinds([0.2]) == {
        "em_20": "categorical",
        "r_sel": "ordered",
        "emis_sel": "set",
    }
    with pytest.raises(ConfigError, match=r"expected values in \(0, 1\), got \[1.0\]"):
        add_selectivity_attributes(pa.table({"x": [1]}), [1.0])
    with pytest.raises(ConfigError, match=r"already has attributes \['r_sel'\]"):
        add_selectivity_attributes(pa.table({"r_sel": [1]}), [0.5])


def synthetic_dataset(root):
    attributes = add_selectivity_attributes(pa.table({"x": list(range(500))}), LEVELS, seed=1)
    return random_dataset(root / "sel", attributes, queries=60)


def test_a_filter_with_its_own_selectivities_fills_only_those_buckets(tmp_path):
    filters = [
        {"type": "EM", "template": "eq", "attribute": f"em_{round(x * 100)}", "selectivities": [x]}
        for x in LEVELS
    ] + [{"type": "EMIS", "template": "contains", "attribute": "emis_sel"}]
    spec = WorkloadSpec.from_config(
        {"name": "s", "mode": "buckets", "filters": filters, "selectivities": LEVELS, "queries_per_bucket": 5,
         "tolerance": 1.05}
    )  # fmt: skip
    workload = generate_workload(spec, synthetic_dataset(tmp_path))
    table = bucket_table(workload, spec)
    assert table["n_queries"].tolist() == [5] * 8 and table["shortfall"].tolist() == [0] * 8
    em = workload.table[workload.table.filter_type == "EM"]
    for bucket, group in em.groupby("selectivity_bucket"):
        assert set(group["predicate"].map(lambda p: json.loads(p)["attr"])) == {f"em_{round(bucket * 100)}"}
        assert (group["selectivity"] == bucket).all()


def test_a_filter_targeting_a_bucket_the_workload_lacks_is_a_config_error():
    with pytest.raises(ConfigError, match=r"filter 'EM' on 'a' targets selectivities \[0.3\], which are not"):
        WorkloadSpec.from_config(
            {"name": "s", "filters": [{"type": "EM", "template": "eq", "attribute": "a", "selectivities": [0.3]}],
             "selectivities": [0.2]}
        ).check()  # fmt: skip


def test_filters_without_their_own_selectivities_keep_their_digest_form():
    assert "selectivities" not in _as_plain(FilterSpec("EM", "eq", "a"))
    assert _as_plain(FilterSpec("EM", "eq", "a", selectivities=(0.2,)))["selectivities"] == [0.2]
