"""`fanns-bench tune --strategy optuna`: the same search space and reward as the greedy search
(`fanns_bench.tune`), searched by Optuna's TPE sampler through hydra-optuna-sweeper.

Each build parameter with more than one candidate becomes a categorical,
`method.<key>.build.<param>=choice(...)`; Hydra runs the project's config tree in multirun mode
with the Optuna sweeper (maximising, one trial at a time, `hydra.sweep.dir=<out>/optuna`), and
each trial's task composes its config, narrows the workload as the greedy search does and
returns the shared `evaluate` reward. The sweeper's `optimization_results.yaml` names the best
trial, written as `<out>/<method>_tuned.yaml`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fanns_bench.errors import ConfigError, FannsBenchError
from fanns_bench.tune import (
    TuneResult,
    TuneSettings,
    build_grid,
    evaluate,
    method_config_of,
    write_tuned_config,
)

log = logging.getLogger(__name__)

INSTALL = "pip install 'fanns-bench[optuna]'"


@dataclass(frozen=True)
class OptunaSettings:
    """The trial budget and the TPE sampler's seed."""

    trials: int = 20
    seed: int = 0


def require_sweeper() -> None:
    """A `ConfigError` naming the extra to install unless hydra-optuna-sweeper imports. (Importing
    optuna now, before Hydra sets up logging, also keeps alembic's import-time notes quiet.)"""
    try:
        import hydra_plugins.hydra_optuna_sweeper.optuna_sweeper  # noqa: F401
        import optuna  # noqa: F401
    except ImportError:
        raise ConfigError(f"tune --strategy optuna needs hydra-optuna-sweeper: {INSTALL}") from None


def swept_grid(method_key: str, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Override key -> candidates of the parameters with more than one candidate."""
    swept = {f"method.{method_key}.build.{name}": values for name, values in grid.items() if len(values) > 1}
    if not swept:
        raise ConfigError(
            f"tune: nothing to tune: every build parameter of {method_key!r} has one value {grid}; "
            f"give candidates, e.g. 'method.{method_key}.build.<param>=[a,b]'"
        )
    return swept


def _literal(value: Any) -> str:
    """`value` in Hydra's override syntax (strings quoted)."""
    if isinstance(value, str):
        return "'" + value.replace("'", "\\'") + "'"
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    return str(value)


def _same(parsed: list[Any], values: list[Any]) -> bool:
    """Equal lists, element types included (True is not 1)."""
    if len(parsed) != len(values):
        return False
    return all(type(p) is type(v) and p == v for p, v in zip(parsed, values, strict=True))


def sweep_override(key: str, values: list[Any]) -> str:
    """`key=choice(...)` over `values`, checked to reach every trial unchanged: the sweeper hands
    a trial `key=<value>` unquoted, so e.g. 'a,b', '16' or null cannot be candidates."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    override = f"{key}=choice({','.join(_literal(v) for v in values)})"
    parser = OverridesParser.create()
    try:
        choices = list(parser.parse_override(override).sweep_iterator())
        trials = [parser.parse_override(f"{key}={value}").value() for value in values]
    except HydraException:
        choices = trials = []
    if not (_same(choices, values) and _same(trials, values)):
        raise ConfigError(
            f"tune --strategy optuna: the candidates {values} of {key} cannot pass unchanged through "
            "Optuna's sweeper, which hands each trial `key=value` unquoted; use the greedy strategy"
        )
    return override


def hydra_arguments(
    overrides: list[str], swept: dict[str, list[Any]], sweep_dir: Path, optuna: OptunaSettings
) -> list[str]:
    """The multirun command line: the user's overrides (minus those of swept parameters), a
    categorical per swept parameter and the Optuna sweeper's settings."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    kept = [text for text, o in zip(overrides, parsed, strict=True) if o.key_or_group not in swept]
    return [
        "--multirun",
        *kept,
        *(sweep_override(key, values) for key, values in swept.items()),
        "hydra/sweeper=optuna",
        "hydra/launcher=basic",  # in-process: the trials' rewards are collected in a closure
        "hydra.sweeper.direction=maximize",
        f"hydra.sweeper.n_trials={optuna.trials}",
        "hydra.sweeper.n_jobs=1",
        "hydra/sweeper/sampler=tpe",
        f"hydra.sweeper.sampler.seed={optuna.seed}",
        f"hydra.sweep.dir={_literal(str(sweep_dir))}",
    ]


def best_trial(sweep_dir: Path, method_key: str, grid: dict[str, list[Any]]) -> tuple[dict[str, Any], float]:
    """The best build (swept values from `optimization_results.yaml`, the rest fixed) and reward."""
    path = sweep_dir / "optimization_results.yaml"
    if not path.is_file():
        raise FannsBenchError(f"tune: the Optuna sweep wrote no {path}")
    results = yaml.safe_load(path.read_text())
    prefix = f"method.{method_key}.build."
    build = {name: values[0] for name, values in grid.items()}
    build |= {key.removeprefix(prefix): value for key, value in results["best_params"].items()}
    return build, float(results["best_value"])


def tune_optuna(
    overrides: list[str],
    config: dict[str, Any],
    method_key: str,
    out_dir: Path,
    settings: TuneSettings,
    optuna: OptunaSettings,
    restrict: Callable[[dict[str, Any]], dict[str, Any]],
) -> TuneResult:
    """Tune `method_key` of `config` (composed from `overrides`, then `restrict`ed) with Optuna;
    write `<out>/<method_key>_tuned.yaml`. Each trial composes its config and is `restrict`ed."""
    from fanns_bench.configs import config_dir, prepare_overrides
    from fanns_bench.hydra_app import invoke, make_objective_app

    method_config = method_config_of(config, method_key)
    grid = build_grid(method_config)
    swept = swept_grid(method_key, grid)
    if optuna.trials < 1:
        raise ConfigError(f"tune: --trials must be at least 1, not {optuna.trials}")
    require_sweeper()
    out_dir = Path(out_dir).resolve()
    sweep_dir = out_dir / "optuna"
    history: list[tuple[dict[str, Any], float]] = []

    def objective(trial_config: dict[str, Any]) -> float:
        trial = restrict(trial_config)
        build = {name: values[0] for name, values in build_grid(method_config_of(trial, method_key)).items()}
        score = evaluate(trial, method_key, build, out_dir, settings)
        history.append((build, score))
        return score

    arguments = hydra_arguments(prepare_overrides(overrides), swept, sweep_dir, optuna)
    status = invoke(make_objective_app(config_dir(), objective), "fanns-bench tune", arguments)
    if status:
        raise FannsBenchError(f"tune: the Optuna sweep failed (exit status {status}; see above)")
    build, best = best_trial(sweep_dir, method_key, grid)
    result = TuneResult(build, best, history)
    strategy = f"Optuna TPE sampler via hydra-optuna-sweeper, {optuna.trials} trials, seed {optuna.seed}"
    write_tuned_config(out_dir / f"{method_key}_tuned.yaml", method_key, method_config, result, strategy)
    return result
