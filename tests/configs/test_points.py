"""One home per fact in the config tree: the paper's named points (configs/point/) are chosen in
an experiment's defaults list, never written inline; an experiment's inline grids say only
what differs from its method configs and chosen points; a `*_scaled` experiment is its paper
experiment plus the `scale` group, not a copy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fanns_bench.configs import compose

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
GRID_PARTS = ("build", "search")
MISSING = object()

Flat = dict[tuple[str, str], Any]


def flat(grid: dict[str, Any] | None) -> Flat:
    """A method grid as (part, parameter) -> value; fields other than build/search as (field, '')."""
    out: Flat = {}
    for field, value in (grid or {}).items():
        if field in GRID_PARTS:
            out |= {(field, name): values for name, values in (value or {}).items()}
        else:
            out[(field, "")] = value
    return out


def point_group(name: str) -> str:
    """A method's point group: its registry name; `<method>_ref` takes `<method>`'s points."""
    return name.removesuffix("_ref")


def load_points() -> dict[str, dict[str, Flat]]:
    """group -> point name -> the point's grid, from configs/point/<group>/<name>.yaml."""
    points: dict[str, dict[str, Flat]] = {}
    for path in sorted((CONFIGS / "point").glob("*/*.yaml")):
        points.setdefault(path.parent.name, {})[path.stem] = flat(yaml.safe_load(path.read_text()))
    return points


def method_grid(key: str) -> Flat:
    """The grid of configs/method/<key>.yaml (empty when there is none)."""
    path = CONFIGS / "method" / f"{key}.yaml"
    return flat(yaml.safe_load(path.read_text())) if path.is_file() else {}


def holds(inline: Flat, grid: Flat) -> bool:
    """Whether every entry of `grid` is in `inline` with the same value."""
    return all(inline.get(key, MISSING) == value for key, value in grid.items())


def inline_problems(
    where: str, grids: dict[str, Any], chosen: dict[str, str], points: dict[str, dict[str, Flat]]
) -> list[str]:
    """What in `grids` (an experiment's `method:` block) has another home: a whole named point
    written inline, a value restating the point chosen for that method (`chosen`: method key ->
    'group/name'), or a grid that changes nothing of its method config and chosen point."""
    problems = []
    for key, grid in grids.items():
        inline = flat(grid)
        group = point_group((grid or {}).get("name", key))
        for name, point in points.get(group, {}).items():
            if point and holds(inline, point):
                problems.append(
                    f"{where}: method.{key} writes point/{group}/{name} inline; choose it in defaults"
                )
        below = method_grid(key)
        if key in chosen:
            choice = chosen[key]
            point = points[choice.split("/")[0]][choice.split("/")[1]]
            below |= point
            for (part, name), value in inline.items():
                if point.get((part, name), MISSING) == value:
                    problems.append(f"{where}: method.{key}.{part}.{name} restates point/{choice}")
        if holds(below, inline):
            problems.append(f"{where}: method.{key} changes nothing of its method config or point; drop it")
    return problems


def chosen_points(experiment: str) -> dict[str, str]:
    """method key -> 'group/name' of each point the experiment's defaults tree chooses (Hydra's)."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode

    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        defaults = loader.compute_defaults_list("config", [f"experiment={experiment}"], RunMode.RUN).defaults
    return {
        d.package.removeprefix("method."): d.config_path.removeprefix("point/")
        for d in defaults
        if d.config_path and d.config_path.startswith("point/") and d.package
    }


EXPERIMENTS = sorted(path.stem for path in (CONFIGS / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_no_experiment_writes_a_point_inline_restates_one_or_keeps_a_grid_that_changes_nothing(experiment):
    grids = (yaml.safe_load((CONFIGS / "experiment" / f"{experiment}.yaml").read_text()) or {}).get("method")
    assert inline_problems(experiment, grids or {}, chosen_points(experiment), load_points()) == []


# paper_fig23_em's method block before the points had a home (abridged): each line is flagged
BEFORE = """
acorn_gamma_ref: {build: {M: [16], M_beta: [24], gamma: [10]}}
caps: {build: {label_attribute: [number_of_sub_categories], clusters: [128]}, search: {max_distances: [200]}}
ung: {build: {label_attribute: [main_categories], scenario: [equality]}}
exact: {}
faiss_hnsw: {build: {M: [32]}, search: {efSearch: [16, 32, 64, 128, 256, 512]}}
"""


def test_points_written_inline_restated_or_grids_that_change_nothing_are_flagged():
    problems = inline_problems("x", yaml.safe_load(BEFORE), {"ung": "ung/medium_em"}, load_points())
    assert problems == [
        "x: method.acorn_gamma_ref writes point/acorn_gamma/medium_em inline; choose it in defaults",
        "x: method.caps writes point/caps/medium_em inline; choose it in defaults",
        "x: method.ung.build.scenario restates point/ung/medium_em",
        "x: method.exact changes nothing of its method config or point; drop it",
        "x: method.faiss_hnsw changes nothing of its method config or point; drop it",
    ]


def test_a_grid_that_only_adds_to_its_chosen_point_passes():
    grids = {
        "acorn_gamma_ref": {"search": {"ef_search": [16, 64, 256]}},
        "ung": {"build": {"label_attribute": ["a,b"], "scenario": ["general"]}},
        "faiss_hnsw": {"build": {"M": [16]}},
    }
    chosen = {"acorn_gamma_ref": "acorn_gamma/medium_em", "ung": "ung/medium_em"}
    assert inline_problems("x", grids, chosen, load_points()) == []


def test_every_experiment_point_choice_names_a_point_file():
    points = load_points()
    for experiment in EXPERIMENTS:
        for key, choice in chosen_points(experiment).items():
            group, name = choice.split("/")
            assert name in points.get(group, {}), f"{experiment}: method.{key} chooses point/{choice}"
            assert group == point_group(key), (
                f"{experiment}: method.{key} takes another method's point {choice}"
            )


@pytest.mark.parametrize(
    ("scaled", "paper"),
    [
        ("paper_fig23_em_scaled", "paper_fig23_em"),
        ("paper_fig23_r_scaled", "paper_fig23_r"),
        ("paper_fig23_emis_scaled", "paper_fig23_emis"),
        ("paper_k_scaled", "paper_medium"),
    ],
)
def test_a_scaled_experiment_runs_its_paper_experiments_methods_on_the_sample(scaled, paper, monkeypatch):
    monkeypatch.setenv("ARXIV_RECORDS", "records")  # paper_medium's dataset reads it
    small, full = compose([scaled]), compose([paper])
    assert small["method"] == full["method"]
    assert small["dataset"]["name"] == "arxiv_sample" != full["dataset"]["name"]
    assert (small["runner"]["repetitions"], full["runner"]["repetitions"]) == (15, 5)
    assert small["runner"]["processes"] == 5  # 3 repetitions in each of 5 fresh processes
    assert small["paths"]["results"].endswith("results/paper_scaled")
