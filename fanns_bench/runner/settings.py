"""The `runner` section of the config: declared like method parameters (type, range,
did-you-mean), so a bad value is one error line naming the key before anything runs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fanns_bench.errors import ConfigError
from fanns_bench.methods.params import Param, check_settings

#: `(Param,)`: a list of such values (a scalar is a one-item list)
RUNNER_PARAMETERS: dict[str, Param | tuple[Param]] = {
    "k": (Param(int, 10, "recall@k values to measure", minimum=1),),
    "search_threads": (Param(int, 1, "query thread counts", minimum=1),),
    "build_threads": Param(int, 0, "threads for each build (0: every core)", minimum=0),
    # issue 16 (measure, determinism branches): declared here so their settings are checked too
    "deterministic_builds": Param(bool, True, "build on one thread where only that is deterministic"),
    "builds": Param(int, 1, "builds of each build configuration, each measured", minimum=1),
    "min_repetition_s": Param(float, 0.1, "each timed repetition repeats the batch this long", minimum=0),
    "repetitions": Param(int, 3, "timed batch repetitions per point", minimum=1),
    "processes": Param(
        int, 1, "fresh processes per build job, spread over the sweep, sharing the repetitions", minimum=1
    ),
    "stop_after_process": Param(
        int,
        None,
        "stop after each job's process N of runner.processes; a later run resumes (null: all)",
        minimum=1,
    ),
    "interleave": Param(
        bool, True, "take the repetitions in rounds across a job's points (false: point by point)"
    ),
    "pin_cpus": Param(bool, False, "pin each search phase to as many CPUs as it has threads"),
    "warmup": Param(bool, True, "one untimed batch before the timed ones"),
    "latency_queries": Param(int, 100, "queries timed one at a time (0: no latency pass)", minimum=0),
    "memory_limit_gb": Param(float, None, "memory cap per build job in GiB (null: none)", minimum=0.001),
    "force": Param(bool, False, "redo points that already have a row (a failure keeps an ok row)"),
    "retry_failed": Param(bool, True, "redo points whose row says failed (not unsupported ones)"),
    "wait": Param(bool, False, "wait for another run holding the results folder instead of exiting"),
}


@dataclass
class RunSettings:
    """The `runner` section of the config, typed and checked. Built by `from_config` only: the
    fields after `experiment` are `RUNNER_PARAMETERS`, whose defaults (and meanings) are
    declared there, once."""

    results_dir: Path
    datasets_dir: Path
    experiment: str
    k: list[int]
    search_threads: list[int]
    build_threads: int
    deterministic_builds: bool
    builds: int
    min_repetition_s: float
    repetitions: int
    processes: int
    stop_after_process: int | None
    interleave: bool
    pin_cpus: bool
    warmup: bool
    latency_queries: int
    memory_limit_gb: float | None
    force: bool
    retry_failed: bool
    wait: bool

    @classmethod
    def from_config(
        cls, runner: dict[str, Any], results_dir: str, datasets_dir: str, experiment: str
    ) -> RunSettings:
        """`ConfigError` `runner.KEY: expected ..., got ...` on an unknown key or a bad value."""
        values = check_settings("runner", RUNNER_PARAMETERS, runner)
        if values["processes"] > values["repetitions"]:
            raise ConfigError(
                f"runner.processes: expected at most runner.repetitions ({values['repetitions']}): "
                f"each process takes a share of a point's repetitions, got {values['processes']}"
            )
        stop = values["stop_after_process"]
        if stop is not None and stop > values["processes"]:
            raise ConfigError(
                "runner.stop_after_process: expected at most runner.processes "
                f"({values['processes']}), got {stop}"
            )
        return cls(Path(results_dir), Path(datasets_dir), experiment, **values)

    @property
    def measurement(self) -> dict[str, Any]:
        """The settings that shape a measurement: part of every row key (`plan.measurement_key`)
        and handed to each job's worker (`job.WorkerSpec`)."""
        processes = {"processes": self.processes} if self.processes > 1 else {}  # keys of 1 kept
        return {
            **processes,
            "repetitions": self.repetitions,
            "interleave": self.interleave,
            "pin_cpus": self.pin_cpus,
            "min_repetition_s": self.min_repetition_s,
            "warmup": self.warmup,
            "latency_queries": self.latency_queries,
        }

    @property
    def processes_now(self) -> int:
        """How many of each job's processes this run takes (`runner.stop_after_process`)."""
        return self.processes if self.stop_after_process is None else self.stop_after_process

    @property
    def threads_for_build(self) -> int:
        return self.build_threads or os.cpu_count() or 1

    @property
    def memory_limit_bytes(self) -> int | None:
        return int(self.memory_limit_gb * 2**30) if self.memory_limit_gb else None
