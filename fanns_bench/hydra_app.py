"""The Hydra applications behind `fanns-bench run` (single runs and --multirun sweeps) and
`fanns-bench tune --strategy optuna` (an objective for Hydra's Optuna sweeper)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("fanns_bench")


def make_app(config_dir: Path) -> Callable[[], None]:
    import hydra
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import DictConfig, OmegaConf

    from fanns_bench.configs import keep_selected_methods, selected_methods
    from fanns_bench.errors import FannsBenchError
    from fanns_bench.runner.run_summary import print_summary

    @hydra.main(config_path=str(config_dir), config_name="config", version_base="1.3")
    def app(config: DictConfig) -> None:
        hydra_config = HydraConfig.get()
        multirun = hydra_config.mode == RunMode.MULTIRUN
        try:
            from fanns_bench.runner.run import run_sweep
            from fanns_bench.validate import problems_in

            plain = OmegaConf.to_container(config, resolve=True)
            loader = GlobalHydra.instance().config_loader()
            plain = keep_selected_methods(plain, selected_methods(loader, list(hydra_config.overrides.task)))
            problems = problems_in(plain)
            if problems:
                raise FannsBenchError("the config has problems:\n  " + "\n  ".join(problems))
            outcome = run_sweep(plain)
            print_summary(outcome)
        except FannsBenchError as error:
            print(f"error: {error}", file=sys.stderr)
            if not multirun:
                sys.exit(2)

    return app


def make_objective_app(config_dir: Path, objective: Callable[[dict[str, Any]], float]) -> Callable[[], None]:
    """An app whose task returns `objective` of each job's composed config (a plain resolved
    dict): the value a sweeper such as Optuna's optimises."""
    import hydra
    from omegaconf import DictConfig, OmegaConf

    @hydra.main(config_path=str(config_dir), config_name="config", version_base="1.3")
    def app(config: DictConfig) -> float:
        return objective(OmegaConf.to_container(config, resolve=True))

    return app


def invoke(app: Callable[[], None], prog: str, overrides: list[str]) -> int:
    """Run a `@hydra.main` app as if `prog OVERRIDES` were typed; its exit status. Hydra's global
    state is cleared afterwards, so the process can compose configs again."""
    from hydra.core.global_hydra import GlobalHydra

    saved, sys.argv = sys.argv, [prog, *overrides]
    try:
        app()
    except SystemExit as exit_:
        return int(exit_.code or 0)
    finally:
        sys.argv = saved
        GlobalHydra.instance().clear()
    return 0
