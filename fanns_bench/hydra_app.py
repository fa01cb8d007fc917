"""The Hydra applications behind `fanns-bench run` (single runs and --multirun sweeps) and
`fanns-bench tune --strategy optuna` (an objective for Hydra's Optuna sweeper)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.experimental.callback import Callback

from fanns_bench.results.lock import LOCK_FILE
from fanns_bench.runner import exit_codes
from fanns_bench.runner.exit_codes import JobOutcome, combined_code, read_outcomes, record_outcome

if TYPE_CHECKING:
    from fanns_bench.runner.run import SweepOutcome

log = logging.getLogger("fanns_bench")

_composed = {"config": False}
"""Set once Hydra has composed the config (the results check or the task began): an exit
before that is Hydra refusing the command line (an unknown key or group), a usage error."""


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
        _composed["config"] = True
        hydra_config = HydraConfig.get()
        multirun = hydra_config.mode == RunMode.MULTIRUN
        outcome, job = None, JobOutcome(exit_codes.OK)
        try:
            from fanns_bench.runner.run import run_sweep
            from fanns_bench.validate import problems_in

            plain = OmegaConf.to_container(config, resolve=True)
            loader = GlobalHydra.instance().config_loader()
            plain = keep_selected_methods(plain, selected_methods(loader, list(hydra_config.overrides.task)))
            problems = problems_in(plain)
            if problems:
                raise FannsBenchError("the config has problems:\n  " + "\n  ".join(problems))
            if multirun:  # a sweep's jobs writing one results folder take turns (parallel launchers)
                plain["runner"] = {**(plain.get("runner") or {}), "wait": True}
            outcome = run_sweep(plain)
            job = JobOutcome(
                exit_codes.FAILURES if outcome.failures else exit_codes.OK,
                str(outcome.results_dir),
                outcome.rows.key.tolist(),
                outcome.executed_jobs,
                list(outcome.shortfalls),
            )
        except FannsBenchError as error:
            job = JobOutcome(exit_codes.USAGE, error=str(error))
        except OSError as error:
            job = JobOutcome(exit_codes.STOPPED, error=describe_os_error(error))
        except KeyboardInterrupt:
            job = JobOutcome(
                exit_codes.INTERRUPTED,
                error="interrupted: rows measured so far are kept; rerun the same command to resume",
            )
        if job.error:
            print(f"error: {job.error}", file=sys.stderr)
        if multirun:
            record_outcome(job)
            if job.code == exit_codes.INTERRUPTED:
                sys.exit(job.code)  # stops the sweep
            return
        if outcome is not None:
            print_summary(outcome)
            print_failures(outcome)
        if job.code:
            sys.exit(job.code)

    return app


def print_failures(outcome: SweepOutcome) -> None:
    """One line on failed points and kept failed attempts (what exit status 3 means)."""
    failed = outcome.failures - len(outcome.attempts)
    if failed:
        print(
            f"{failed} point(s) failed or invalid: errors in {outcome.results_dir / 'errors'}/<key>.txt; "
            "exit status 3 (--allow-failures: 0); a plain rerun retries them"
        )
    if len(outcome.attempts):
        print(
            f"{len(outcome.attempts)} failed attempt(s) kept the earlier ok rows: "
            f"{outcome.results_dir / 'attempts'}/"
        )


def print_multirun_summary(directory: Path, since: float) -> int:
    """The combined summary of a --multirun sweep whose jobs left their outcomes in
    `directory` (`since`: when the sweep started); its exit status."""
    from fanns_bench.results.row_files import load_results
    from fanns_bench.runner.run import SweepOutcome
    from fanns_bench.runner.run_summary import print_summary

    outcomes = read_outcomes(directory)
    by_dir: dict[str, list[JobOutcome]] = {}
    for job in outcomes:
        if job.results_dir:
            by_dir.setdefault(job.results_dir, []).append(job)
    for results_dir, jobs in by_dir.items():
        keys = {key for job in jobs for key in job.keys or []}
        outcome = SweepOutcome.of_points(
            Path(results_dir),
            load_results(Path(results_dir)),
            keys,
            since,
            list(dict.fromkeys(s for job in jobs for s in job.shortfalls or [])),
            sum(job.executed_jobs for job in jobs),
        )
        print_summary(outcome)
        print_failures(outcome)
    refused = [job for job in outcomes if job.code != exit_codes.OK and not job.results_dir]
    print(f"\nmultirun: {len(outcomes)} job(s), {len(refused)} stopped before any row")
    if not outcomes:
        print("  no job reported back (jobs on other machines?): see each job's log for its outcome")
    for job in refused:
        print(f"  exit {job.code}: {(job.error or '').splitlines()[0][:200]}")
    return combined_code([job.code for job in outcomes])


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
    _composed["config"] = False
    try:
        app()
    except SystemExit as exit_:
        code = int(exit_.code or 0)
        return exit_codes.USAGE if code == 1 and not _composed["config"] else code
    finally:
        sys.argv = saved
        GlobalHydra.instance().clear()
    return 0


class ResultsFolderCheck(Callback):
    """A Hydra callback (configs/config.yaml `hydra.callbacks`): the results folder is
    created, or the run ends with one line, before Hydra writes its logs into it (Hydra's
    own failure there is a traceback)."""

    def on_run_start(self, config: Any, **kwargs: Any) -> None:
        self._check(config)

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        self._check(config)

    @staticmethod
    def _check(config: Any) -> None:
        from omegaconf.errors import OmegaConfBaseException

        _composed["config"] = True
        try:
            results = Path(str(config.paths.results))
        except OmegaConfBaseException:  # not this project's config tree
            return
        try:
            if results.exists() and not results.is_dir():
                raise NotADirectoryError(20, "is a file, not a folder", str(results))
            results.mkdir(parents=True, exist_ok=True)
            (results / LOCK_FILE).touch()
        except OSError as error:
            print(f"error: {describe_os_error(error, results)}", file=sys.stderr)
            sys.exit(exit_codes.STOPPED)


def describe_os_error(error: OSError, fallback: Path | None = None) -> str:
    """One line for a disk error, saying what to do."""
    where = error.filename or fallback
    return (
        f"{where}: {error.strerror or error}; fix it (free space, permissions, a folder where a file "
        "is) and rerun the same command to resume: rows measured so far are kept"
    )
