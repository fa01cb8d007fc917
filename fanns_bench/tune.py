"""Parameter tuning as the seed paper does it (Iff et al., arXiv 2507.21989, §5.2, Algorithm 1):
a greedy coordinate search over each build parameter's ordered candidate list.

Reward of a configuration: build the index `builds` times (2 in the paper), search a
workload of `queries` random queries (50) with the whole search grid, average the
recall-QPS curve over the builds, and take the highest QPS at recall >= 0.95, or, where
that recall is never reached, the highest recall (always ranked below any configuration
that reaches it). A step that improves the reward is taken; the search continues while a
step improves it by more than `threshold` (1 %).

Candidate lists are the method config's build grid (`build: {M: [16, 24, 32]}`, in order);
the search starts at each parameter's declared default (or the list's first value).
Every evaluation (`evaluate`, shared with the Optuna strategy in `fanns_bench.tune_optuna`) is
an ordinary `run_sweep` into `<out>/runs/build<b>`, so an interrupted tuning resumes from the
rows already written.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from fanns_bench.errors import ConfigError
from fanns_bench.methods.registry import get_method
from fanns_bench.results.schema import STATUS_OK

log = logging.getLogger(__name__)

GREEDY = "greedy coordinate search, Iff et al. 2025, Algorithm 1"


@dataclass(frozen=True)
class TuneSettings:
    """The paper's reward settings."""

    queries: int = 50
    builds: int = 2
    target_recall: float = 0.95
    threshold: float = 0.01


@dataclass
class TuneResult:
    """The chosen build parameters, their reward and every evaluation in order."""

    build: dict[str, Any]
    reward: float
    history: list[tuple[dict[str, Any], float]] = field(default_factory=list)


def reward(rows: pd.DataFrame, target_recall: float) -> float:
    """Best QPS at mean recall >= target over the builds' averaged curve; else recall - 1
    (negative, so any configuration reaching the target ranks higher)."""
    ok = rows[rows["status"] == STATUS_OK]
    if ok.empty:
        return -1.0
    curve = ok.groupby("search_params")[["recall", "qps"]].mean()
    reached = curve[curve["recall"] >= target_recall]
    return float(reached["qps"].max()) if len(reached) else float(curve["recall"].max()) - 1.0


def improves(candidate: float, best: float, threshold: float = 0.0) -> bool:
    """`candidate` beats `best` by more than `threshold` of its magnitude."""
    return candidate > best + threshold * abs(best)


def greedy_search(
    values: dict[str, list[Any]],
    start: dict[str, int],
    reward_of: Callable[[dict[str, Any]], float],
    threshold: float = 0.01,
) -> TuneResult:
    """Algorithm 1: coordinate steps of -1/+1 along each ordered list while they pay off."""
    indices = dict(start)
    current = {name: values[name][i] for name, i in indices.items()}
    best = reward_of(current)
    result = TuneResult(dict(current), best, [(dict(current), best)])
    repeat = True
    while repeat:
        repeat = False
        for name in values:
            for change in (-1, 1):
                position = indices[name] + change
                if not 0 <= position < len(values[name]):
                    continue
                candidate = {**current, name: values[name][position]}
                score = reward_of(candidate)
                result.history.append((dict(candidate), score))
                if improves(score, best):
                    repeat = repeat or improves(score, best, threshold)
                    best, indices[name], current = score, position, candidate
    result.build, result.reward = dict(current), best
    return result


def restrict_workload(
    config: dict[str, Any], filter_type: str | None, selectivity: float | None
) -> dict[str, Any]:
    """`config` with its workload narrowed to one filter type and/or one selectivity bucket
    (the paper runs one search per filter type and selectivity)."""
    workload = dict(config["workload"])
    if filter_type is not None:
        filters = [f for f in workload.get("filters", []) if f.get("type") == filter_type]
        if not filters:
            known = sorted({f.get("type") for f in workload.get("filters", [])})
            raise ConfigError(
                f"tune: workload {workload.get('name')!r} has no filter type {filter_type!r}; it has {known}"
            )
        workload["filters"] = filters
    if selectivity is not None:
        workload["selectivities"] = [selectivity]
    return {**config, "workload": workload}


def method_config_of(config: dict[str, Any], method_key: str) -> dict[str, Any]:
    """The composed config's `method.<method_key>`, else a `ConfigError` naming the keys it has."""
    methods = config.get("method") or {}
    if method_key not in methods:
        raise ConfigError(f"tune: method {method_key!r} is not in the config; it has {sorted(methods)}")
    return dict(methods[method_key] or {})


def build_grid(method_config: dict[str, Any]) -> dict[str, list[Any]]:
    """Each build parameter's ordered candidate list (a single value is a one-value list)."""
    return {k: v if isinstance(v, list) else [v] for k, v in (method_config.get("build") or {}).items()}


def evaluate(
    config: dict[str, Any], method_key: str, build: dict[str, Any], out_dir: Path, settings: TuneSettings
) -> float:
    """Reward of one build configuration: `settings.builds` sweeps of `config`'s workload with
    `method_key` built as `build`, into `<out>/runs/build<b>` (rows already there are reused)."""
    from fanns_bench.runner.run import run_sweep

    method_config = method_config_of(config, method_key)
    frames = []
    for number in range(settings.builds):
        run = copy.deepcopy(config)
        run["method"] = {method_key: {**method_config, "build": {k: [v] for k, v in build.items()}}}
        run["workload"] = {**run["workload"], "queries_per_bucket": settings.queries}
        run["paths"] = {**run["paths"], "results": str(Path(out_dir) / "runs" / f"build{number}")}
        frames.append(run_sweep(run).rows)
    score = reward(pd.concat(frames), settings.target_recall)
    log.info("tune %s %s: reward %.4g", method_key, build, score)
    return score


def tune(config: dict[str, Any], method_key: str, out_dir: Path, settings: TuneSettings) -> TuneResult:
    """Tune `method_key` of a composed config greedily; write `<out>/<method_key>_tuned.yaml`."""
    method_config = method_config_of(config, method_key)
    cls = get_method(method_config.get("name", method_key))
    grid = build_grid(method_config)
    start = {
        name: options.index(cls.build_parameters[name].default)
        if name in cls.build_parameters and cls.build_parameters[name].default in options
        else 0
        for name, options in grid.items()
    }
    reward_of = partial(evaluate, config, method_key, out_dir=out_dir, settings=settings)
    result = greedy_search(grid, start, reward_of, settings.threshold)
    write_tuned_config(Path(out_dir) / f"{method_key}_tuned.yaml", method_key, method_config, result)
    return result


def write_tuned_config(
    path: Path,
    method_key: str,
    method_config: dict[str, Any],
    result: TuneResult,
    strategy: str = GREEDY,
) -> None:
    """The chosen configuration as a method config file (`# @package method.<key>`)."""
    body = {
        "name": method_config.get("name", method_key),
        "build": {k: [v] for k, v in result.build.items()},
        "search": method_config.get("search") or {},
        "timeout_s": method_config.get("timeout_s", 3600),
    }
    explained = "QPS at recall >= target" if result.reward >= 0 else "best recall - 1 (target not reached)"
    header = (
        f"# @package method.{method_key}\n"
        f"# Chosen by fanns-bench tune ({strategy}).\n"
        f"# reward {result.reward:.6g} ({explained}); {len(result.history)} configurations evaluated.\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump(body, sort_keys=False))
