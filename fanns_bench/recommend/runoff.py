"""A runoff: each cell's finalists measured again in fresh processes, so a choice (or a grade)
between configurations whose first measurement is within a process's noise of each other
rests on several processes, not on one process's draw.

A fresh process runs a whole job 5-8 % faster or slower than the next (README
"Methodology"); a results folder of one process per job (`make bench`) therefore ranks
configurations a few percent apart by chance, and the best of many such measurements is
biased upward (the winner of a noisy race is mostly its luckiest entrant). The runoff keeps,
per (filter type, bucket), each method's fastest configuration reaching the recall (its lower
bound, for a policy: `choose.ranked_cell`) within `WITHIN` of the cell's fastest, at most
`MOST` of them; for a grade, the router and the configuration that answered its queries
too, and for its whole-workload target each single method answering every cell whose total
is within `WITHIN` of the router's (the rivals further behind keep their first-pass
figures). `runoff_arguments` spells the run that measures only them: the results folder's own
command line (its Hydra `overrides.yaml`) with the finalists' methods, each swept parameter
narrowed to the finalists' values, `processes` fresh processes per job and
`REPETITIONS_PER_PROCESS` repetitions in each, into `runoff_dir(DIR)`. `fanns-bench run
@FILE` reads such a file (one argument per line).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from fanns_bench.errors import ResultsError
from fanns_bench.recommend.choose import (
    CELL_KEYS,
    ROUTER,
    Limits,
    is_router,
    ranked_cell,
    recall_lower_bound,
    row_memory,
)
from fanns_bench.recommend.evaluate import (
    answered_label,
    full_coverage,
    same_configuration,
    workload_throughput,
)
from fanns_bench.report.frame import ok_points
from fanns_bench.report.pareto import best_at_recall

WITHIN = 0.75
"""A configuration is a finalist when its QPS is at least this fraction of the cell's fastest:
two runs of one configuration in single processes differ by up to ~20 % (p5-p95 of issue 16's
pairs), so a true equal is kept."""

MOST = 3
"""Finalists per cell at most (the fastest first)."""

REPETITIONS_PER_PROCESS = 3
"""Timed repetitions in each of the runoff's processes (paper_*_scaled's 15 in 5)."""

RUN_SETTINGS = (
    "method",
    "paths.results",
    "runner.processes",
    "runner.repetitions",
    "runner.stop_after_process",
)
"""Overrides of the results folder's command line the runoff sets itself."""

LEFT_OUT = ("runner.force",)
"""Overrides of that command line the runoff does not repeat."""


def runoff_dir(results_dir: Path) -> Path:
    """Where the runoff of `results_dir` writes: beside it, not inside (a results folder is
    read recursively)."""
    return results_dir.parent / f"{results_dir.name}-runoff"


def finalists(
    frame: pd.DataFrame,
    recall: float,
    limits: Limits | None = None,
    recall_z: float = 0.0,
    grade: bool = False,
) -> pd.DataFrame:
    """The rows of `frame` (one dataset, k and thread count) to measure again: per cell the
    fastest within `WITHIN` of the first, at most `MOST`. A policy's (grade False): the
    single methods within `limits`, ranked as `choose` ranks them (`recall_z`); a grade's:
    the single methods reaching `recall` itself, plus the router's rows, the single row of
    the configuration that answered the router's queries there and the close whole-workload
    rivals (`_workload_rivals`)."""
    points = ok_points(frame)
    points = points.assign(
        memory_bytes=row_memory(points), recall_low=recall_lower_bound(points, 0.0 if grade else recall_z)
    )
    kept = [points.iloc[:0]]
    for _, cell in points.groupby(CELL_KEYS, sort=True):
        router, single = cell[is_router(cell)], cell[~is_router(cell)]
        if not grade and limits is not None:
            single = single[~limits.over(single)]
        ranked, _, reached = ranked_cell(single, recall)
        if reached:
            kept.append(ranked[ranked["qps"] >= WITHIN * float(ranked["qps"].iloc[0])].head(MOST))
        if grade and not router.empty:
            label = answered_label(router.sort_values("qps", ascending=False).head(1))
            kept += [router, single[same_configuration(single, label)]]
    if grade:
        kept.append(_workload_rivals(points, recall))
    return pd.concat(kept).drop_duplicates("key")


def _workload_rivals(points: pd.DataFrame, recall: float) -> pd.DataFrame:
    """For target (c): each single method answering every cell whose whole-workload
    throughput is within `WITHIN` of the router's or above it, with its fastest row reaching
    `recall` in every cell (the rows its total is made of)."""
    totals, _ = workload_throughput(points, recall)
    if ROUTER not in totals:
        return points.iloc[:0]
    close = [m for m in full_coverage(points) if totals.get(m, 0.0) >= WITHIN * totals[ROUTER]]
    reached = best_at_recall(points, recall)
    return reached[reached["method"].isin(close)]


def runoff_arguments(
    frame: pd.DataFrame, chosen: pd.DataFrame, results_dir: Path, processes: int
) -> list[str]:
    """The `fanns-bench run` arguments that measure `chosen` (rows of `frame`, the folder's
    rows) again: `results_dir`'s command line, the finalists' methods, each parameter the
    folder swept narrowed to the finalists' values (a method's grid is their product), and
    `processes` processes of `REPETITIONS_PER_PROCESS` repetitions each."""
    if chosen.empty:
        raise ResultsError(f"{results_dir}: no cell has a configuration to measure again")
    methods = sorted(set(chosen["method"]))
    narrowed = [
        f"method.{method}.{part}.{name}={_hydra_list(values)}"
        for method in methods
        for part in ("build", "search")
        for name, values in _swept(frame, chosen, method, part).items()
    ]
    mine = {a.split("=", 1)[0] for a in narrowed} | set(RUN_SETTINGS) | set(LEFT_OUT)
    command = [a for a in command_line(results_dir, frame) if _key(a) not in mine]
    return [
        *command,
        f"paths.results={runoff_dir(results_dir)}",
        f"method=[{','.join(methods)}]",
        *narrowed,
        f"runner.processes={processes}",
        f"runner.repetitions={processes * REPETITIONS_PER_PROCESS}",
    ]


def command_line(results_dir: Path, frame: pd.DataFrame) -> list[str]:
    """The overrides `results_dir` was run with (its Hydra `overrides.yaml` files, each run's;
    the settings the runoff replaces aside, they must agree); `experiment=NAME` from the
    rows where the folder keeps none (rows from elsewhere: add the overrides by hand)."""
    seen: dict[str, tuple[str, Path]] = {}
    for path in sorted(results_dir.glob("hydra/*/.hydra/overrides.yaml")):
        try:
            overrides = yaml.safe_load(path.read_text()) or []
        except (OSError, yaml.YAMLError) as error:
            raise ResultsError(f"{path}: unreadable Hydra overrides ({error})") from None
        for override in map(str, overrides):
            key = _key(override)
            if key in RUN_SETTINGS or key in LEFT_OUT:
                continue
            if key in seen and seen[key][0] != override:
                raise ResultsError(
                    f"{results_dir}: its runs differ on {key} ({seen[key][0]} in {seen[key][1]}, "
                    f"{override} in {path}); measure the runoff of one configuration"
                )
            seen[key] = (override, path)
    if seen:
        return [override for override, _ in seen.values()]
    experiments = sorted(set(frame["experiment"].dropna().astype(str)))
    if len(experiments) != 1:
        raise ResultsError(
            f"{results_dir}: no Hydra overrides recorded and the rows name {len(experiments)} experiments "
            f"({', '.join(experiments)}); write the runoff's command by hand"
        )
    return [f"experiment={experiments[0]}"]


def write_arguments(arguments: list[str], path: Path, header: str) -> Path:
    """One argument per line after `# ` header lines (`fanns-bench run @PATH` skips them)."""
    from fanns_bench.atomic_files import write_text_atomic

    spaced = [a for a in arguments if any(c.isspace() for c in a)]
    if spaced:
        raise ResultsError(
            f"--runoff: an argument holds white space ({spaced[0]!r}); write the command by hand"
        )
    lines = [f"# {line}" for line in header.splitlines()]
    write_text_atomic(path, "\n".join([*lines, *arguments]) + "\n")
    return path


def read_arguments(path: Path) -> list[str]:
    """The arguments of an `@FILE` (one per line; blank lines and `#` lines skipped)."""
    try:
        text = path.read_text()
    except OSError as error:
        raise ResultsError(f"@{path}: cannot read the argument file ({error.strerror or error})") from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _swept(frame: pd.DataFrame, chosen: pd.DataFrame, method: str, part: str) -> dict[str, list[Any]]:
    """The parameters of `method`'s `part` ("build" / "search") that `frame` holds more than
    one value of, each with the finalists' values (numbers sorted, others in the folder's order)."""
    column = f"{part}_params"
    every = [_params(p) for p in frame.loc[frame["method"] == method, column]]
    mine = [_params(p) for p in chosen.loc[chosen["method"] == method, column]]
    swept = {}
    for name in dict.fromkeys(n for p in every for n in p):
        values = list(dict.fromkeys(json.dumps(p.get(name)) for p in every))
        if len(values) > 1:
            finalist_values = {json.dumps(p.get(name)) for p in mine}
            wanted = [json.loads(v) for v in values if v in finalist_values]
            numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in wanted)
            swept[name] = sorted(wanted) if numbers else wanted
    return swept


def _params(text: object) -> dict[str, Any]:
    return json.loads(text) if isinstance(text, str) and text else {}


def _hydra_list(values: list[Any]) -> str:
    return "[" + ",".join(_hydra_value(v) for v in values) + "]"


def _hydra_value(value: Any) -> str:
    """A value in Hydra's override grammar (strings quoted: `off` stays a string)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")
