"""The paper's workloads on the shipped arXiv sample: which buckets fill, which cannot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from fanns_bench.data.arxiv_sample import build
from fanns_bench.filters.predicates import Contains, Eq, Range
from fanns_bench.workloads.workload import WorkloadSpec, generate_workload

CONFIGS = Path(__file__).resolve().parent.parent / "configs" / "workload"


def spec(name: str, **overrides) -> WorkloadSpec:
    config = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    return WorkloadSpec.from_config({**config, **overrides})


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return build(tmp_path_factory.mktemp("sample") / "arxiv_sample.built", "arxiv_sample")


def test_paper_workload_draws_em_r_emis_from_the_data(sample):
    workload = generate_workload(spec("paper", queries_per_bucket=50), sample)
    table = workload.table
    held = table.groupby("filter_type").size()
    left_out = workload.shortfall_table.groupby("filter_type").left_out.sum()
    assert (held + left_out.reindex(held.index, fill_value=0)).to_dict() == {
        "EM": 50,
        "R": 50,
        "EMIS": 50,
        "none": 50,
    }
    # the paper's query set as published: every sampled query kept, none left between buckets
    assert left_out.sum() == 0 and held.to_dict() == {"EM": 50, "R": 50, "EMIS": 50, "none": 50}
    buckets = np.array([0.001, 0.01, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0])
    filtered = table[table.filter_type != "none"]
    distance = np.abs(np.log(filtered.selectivity.to_numpy())[:, None] - np.log(buckets)[None, :])
    assert (buckets[distance.argmin(axis=1)] == filtered.selectivity_bucket.to_numpy()).all()  # nearest
    shapes = {t: type(p) for t, p in zip(table.filter_type, workload.predicates, strict=True)}
    assert shapes == {"EM": Eq, "R": Range, "EMIS": Contains, "none": type(None)}
    assert (table.match_count > 0).all()
    attributes = {p.attr for p in workload.predicates if p is not None}
    assert attributes == {"number_of_sub_categories", "update_date", "main_categories"}


def test_low_selectivity_buckets_fill_on_the_sample_but_emis_half_is_reported(sample):
    workload = generate_workload(spec("arxiv_buckets", queries_per_bucket=20), sample)
    filled = workload.table.groupby(["filter_type", "selectivity_bucket"]).size().to_dict()
    types = ("EM", "R", "EMIS", "EMIS-sub", "EMIS+R")
    expected = {(t, b): 20 for t in types for b in (0.001, 0.01, 0.1, 0.5)}
    # astro-ph is on every item of this astro-ph sample and the next archive on 12 %: no
    # main_categories filter lies in [0.25, 1) (an all-matching one would be unfiltered)
    del expected[("EMIS", 0.5)]
    assert filled == {**expected, ("none", 1.0): 20}
    filtered = workload.table[workload.table.filter_type != "none"]
    assert (filtered.match_count < sample.count).all()
    [note] = workload.shortfalls
    assert note.startswith("EMIS on main_categories: bucket 0.5 filled 0 of 20 queries")


def test_selectivity_study_levels_are_hit_or_reported(sample):
    workload = generate_workload(spec("paper_selectivity", queries_per_bucket=10), sample)
    table = workload.table
    filled = table.groupby(["filter_type", "selectivity_bucket"]).size().to_dict()
    # update_date ranges reach every level; number_of_sub_categories has one value near 0.6
    # (a single sub-category: 61 %), and main_categories has none in 0.17..0.92 (astro-ph is on
    # every item of this astro-ph sample, the next archive on 12 %)
    assert filled == {("R", 0.2): 10, ("R", 0.4): 10, ("R", 0.6): 10, ("R", 0.8): 10, ("EM", 0.6): 10}
    assert all(table.selectivity.between(table.selectivity_bucket / 1.15, table.selectivity_bucket * 1.15))
    unfilled = sorted(
        note.split(":")[0] + note.split(":")[1].split(" filled")[0] for note in workload.shortfalls
    )
    assert unfilled == sorted(
        [f"EM on number_of_sub_categories bucket {b}" for b in ("0.2", "0.4", "0.8")]
        + [f"EMIS on main_categories bucket {b}" for b in ("0.2", "0.4", "0.6", "0.8")]
    )
