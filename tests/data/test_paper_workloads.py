"""The paper's workloads on the shipped arXiv samples: which buckets fill, which cannot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from fanns_bench.data.arxiv_sample import build
from fanns_bench.filters.predicates import Contains, Eq, Range
from fanns_bench.workloads.workload import WorkloadSpec, generate_workload

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "workload"


def spec(name: str, **overrides) -> WorkloadSpec:
    config = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    return WorkloadSpec.from_config({**config, **overrides})


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return build(tmp_path_factory.mktemp("sample") / "arxiv_sample.built", "arxiv_sample")


@pytest.fixture(scope="module")
def astroph_sample(tmp_path_factory):
    folder = tmp_path_factory.mktemp("astroph") / "arxiv_astroph_sample.built"
    return build(folder, "arxiv_astroph_sample", sample="arxiv_astroph_sample")


PAPER_FILTERS = ("EM", "R", "EMIS")  # the paper's filter types, on the paper's attributes
# number_of_sub_categories and main_categories have no value on 0.05 % .. 0.2 % of the items of
# the all-archive records (6 sub-categories: 0.03 %, 5: 0.6 %; econ: 0.02 %, the next archive
# 0.8 %), as on the paper's medium set (6: 0.22 %, 7: 0.03 %); see datasets/arxiv_sample/README.md
EXPLAINED = {("EM", 0.001), ("EMIS", 0.001)}


def unfilled_paper_buckets(dataset) -> set[tuple[str, float]]:
    """The (filter type, bucket) of `arxiv_buckets` on the paper's attributes that stay empty."""
    config = yaml.safe_load((CONFIGS / "arxiv_buckets.yaml").read_text())
    config["filters"] = [f for f in config["filters"] if f["type"] in PAPER_FILTERS]
    workload = generate_workload(WorkloadSpec.from_config({**config, "queries_per_bucket": 10}), dataset)
    filled = set(workload.table.groupby(["filter_type", "selectivity_bucket"]).size().index)
    return {(t, b) for t in PAPER_FILTERS for b in config["selectivities"]} - filled


@pytest.mark.parametrize(("name", "missing"), [("sample", set()), ("astroph_sample", {("EMIS", 0.5)})])
def test_every_paper_bucket_fills_on_the_default_sample_not_on_the_astroph_one(request, name, missing):
    unfilled = unfilled_paper_buckets(request.getfixturevalue(name))
    assert unfilled - EXPLAINED == missing  # the astro-ph sample fails: astro-ph is on every item
    if name == "sample":
        assert unfilled == EXPLAINED  # an explanation that no longer holds must be dropped


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


def test_low_selectivity_buckets_fill_on_the_sample_and_the_empty_ones_are_reported(sample):
    workload = generate_workload(spec("arxiv_buckets", queries_per_bucket=20), sample)
    filled = workload.table.groupby(["filter_type", "selectivity_bucket"]).size().to_dict()
    types = ("EM", "R", "EMIS", "EMIS-sub", "EMIS+R")
    expected = {(t, b): 20 for t in types for b in (0.001, 0.01, 0.1, 0.5)}
    # no single sub-category is on more than a tenth of the items of an all-archive sample
    for empty in (*EXPLAINED, ("EMIS-sub", 0.5)):
        del expected[empty]
    assert filled == {**expected, ("none", 1.0): 20}
    filtered = workload.table[workload.table.filter_type != "none"]
    assert (filtered.match_count < sample.count).all()
    assert sorted(note.split(" filled")[0] for note in workload.shortfalls) == [
        "EM on number_of_sub_categories: bucket 0.001",
        "EMIS on main_categories: bucket 0.001",
        "EMIS-sub on sub_categories: bucket 0.5",
    ]


def test_selectivity_study_levels_are_hit_or_reported(sample):
    workload = generate_workload(spec("paper_selectivity", queries_per_bucket=10), sample)
    table = workload.table
    filled = table.groupby(["filter_type", "selectivity_bucket"]).size().to_dict()
    # update_date ranges reach every level; number_of_sub_categories has one value near 0.6
    # (a single sub-category: 58 %), and no archive is on more than 28 % of the items (math;
    # cs 25 %, just above the 0.2 level's 0.174 .. 0.23): the paper set these levels with
    # synthetic attributes (dataset arxiv_sample_selectivity)
    assert filled == {("R", 0.2): 10, ("R", 0.4): 10, ("R", 0.6): 10, ("R", 0.8): 10, ("EM", 0.6): 10}
    assert all(table.selectivity.between(table.selectivity_bucket / 1.15, table.selectivity_bucket * 1.15))
    unfilled = sorted(
        note.split(":")[0] + note.split(":")[1].split(" filled")[0] for note in workload.shortfalls
    )
    assert unfilled == sorted(
        [f"EM on number_of_sub_categories bucket {b}" for b in ("0.2", "0.4", "0.8")]
        + [f"EMIS on main_categories bucket {b}" for b in ("0.2", "0.4", "0.6", "0.8")]
    )
