"""Run both sides on the same inputs and write the side-by-side table.

Recall is `metrics.recall_paper` (micro-averaged recall@k) on both sides when the authors'
program returns ids; otherwise their printed recall (same ground truth file, same
definition) is shown and the `theirs_recall_from` column says so. Our QPS is queries per
CPU-second of `search` on one thread with the filters prepared beforehand, as the authors'
timers cover their search loop over filter input handed to them ready (label codes,
positions, bitmaps); `ours_qps_wall` is the same by wall clock (beside theirs where their
program times wall clock) and `ours_qps_with_filters` counts `prepare_filters` too (the
harness's `qps`).

With `builds` > 1 each side is built several times: ours with seeds 0..N-1 (where the method
takes a `seed`), theirs with the seed passed where their program or our driver takes one,
run N times where it is randomised without one, once where it is deterministic
(`Adapter.seeding`). The table then shows per point the mean and min-max of each side's
recall and the difference of the means; the target (|diff| <= 0.01) is checked on the means.
Every build's recall is in `fidelity-builds.csv`.

The QPS columns come from `qps_processes` timings per side (`processes.py`), each in a fresh
process, alternating ours, theirs, ...: ours builds (seed 0) and searches in a spawned Python
process, theirs is one more run of their program(s) (which may rebuild their index). Each
QPS cell is the median (with [min-max] when N > 1), `qps_ratio` is ours/theirs of the
medians, and every timing is in `fidelity-qps.csv`. The recall columns come from the builds
above, as before.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from fanns_bench.atomic_files import write_csv_atomic, write_text_atomic
from fanns_bench.data.dataset import load_dataset
from fanns_bench.errors import ConfigError
from fanns_bench.fidelity import acorn, caps, diskann, dsg, irangegraph, nhq, serf, ung
from fanns_bench.fidelity.adapter import SEEDING, Adapter, Theirs, point_label
from fanns_bench.fidelity.data import METRIC, Labels, Slice, exchange_dataset, make_slice
from fanns_bench.fidelity.processes import alternate, in_fresh_process, median_span
from fanns_bench.fidelity.reference import find_program
from fanns_bench.methods.base import FilterBatch
from fanns_bench.methods.registry import get_method
from fanns_bench.metrics import recall_paper

ADAPTERS: dict[str, Adapter] = {
    "ung": ung.ADAPTER,
    "serf": serf.ADAPTER,
    "acorn_gamma_ref": acorn.ADAPTER,
    "acorn_1_ref": acorn.ACORN_1,
    "dsg": dsg.ADAPTER,
    "irangegraph": irangegraph.ADAPTER,
    "nhq_nsw": nhq.NSW,
    "nhq_kgraph": nhq.KGRAPH,
    "caps": caps.ADAPTER,
    "filtered_vamana": diskann.FILTERED,
    "stitched_vamana": diskann.STITCHED,
}
#: the target: |ours - theirs| recall (of the means over builds) at most this
TARGET = 0.01


@dataclass(frozen=True)
class Row:
    data: str
    selectivity: float
    achieved_selectivity: float
    filter: str
    point: str
    theirs_recall: float
    ours_recall: float
    diff: float
    theirs_qps: float | None
    ours_qps: float | None
    ours_qps_wall: float | None
    ours_qps_with_filters: float | None
    theirs_recall_from: str
    theirs_builds: int
    ours_builds: int
    theirs_recall_min: float
    theirs_recall_max: float
    ours_recall_min: float
    ours_recall_max: float
    within_target: bool
    qps_processes: int = 1
    theirs_qps_min: float | None = None
    theirs_qps_max: float | None = None
    ours_qps_min: float | None = None
    ours_qps_max: float | None = None
    qps_ratio: float | None = None


def adapter_for(method: str) -> Adapter:
    if method not in ADAPTERS:
        raise ConfigError(
            f"fidelity: no adapter for method {method!r}; available: {', '.join(sorted(ADAPTERS))}"
        )
    return ADAPTERS[method]


def run_fidelity(
    method: str,
    reference: Path,
    *,
    data: str,
    selectivities: list[float],
    out: Path,
    queries: int = 1000,
    k: int = 10,
    builds: int = 1,
    qps_processes: int = 3,
) -> list[Row]:
    """Both sides on `data` at `selectivities`, `builds` builds each, QPS from
    `qps_processes` fresh processes per side (see the module docstring); writes
    `fidelity.csv` / `.md`, `fidelity-builds.csv` and `fidelity-qps.csv` under `out`."""
    adapter = adapter_for(method)
    if builds < 1:
        raise ConfigError(f"--builds {builds}: expected at least 1")
    if qps_processes < 1:
        raise ConfigError(f"--qps-processes {qps_processes}: expected at least 1")
    for s in selectivities:
        if not 0 < s <= 1:
            raise ConfigError(f"--selectivities: {s} is not in (0, 1]")
    programs = {role: find_program(reference, names) for role, names in adapter.programs.items()}
    out.mkdir(parents=True, exist_ok=True)
    dataset, labels = exchange_dataset(data, out / "data")
    if not 1 <= queries <= len(dataset.queries):
        raise ConfigError(
            f"--queries {queries}: expected 1 to {len(dataset.queries)} (the {data} set's queries)"
        )
    slices = []
    for seed, s in enumerate(selectivities):
        predicates, label = adapter.filters(dataset, labels, s, queries, seed)
        slices.append(make_slice(dataset, s, predicates, label, queries, k))
    exchange = out / "exchange"
    exchange.mkdir(exist_ok=True)
    log = out / "reference.log"
    log.write_text("")
    their_builds = 1 if adapter.seeding == "deterministic" else builds
    theirs = [
        adapter.run_build(programs, dataset, slices, k, exchange, log, seed) for seed in range(their_builds)
    ]
    ours = [_run_ours(adapter, dataset, labels, slices, k, seed) for seed in range(builds)]
    our_timings, their_timings = alternate(
        lambda: in_fresh_process(_time_ours, method, dataset.path, labels, slices, k),
        lambda: adapter.run_build(programs, dataset, slices, k, exchange, log, 0),
        qps_processes,
    )
    rows, per_build, per_timing = [], [], []
    for s, slice_ in enumerate(slices):
        for p, point in enumerate(adapter.points):
            their_runs = [_theirs_recall(run[s, p], slice_, k) for run in theirs]
            our_runs = [(recall_paper(run[s, p][0], slice_.truth, k), *run[s, p][1:]) for run in ours]
            timed = ([t[s, p].qps for t in their_timings], [t[1][s, p] for t in our_timings])
            rows.append(_with_qps(_row(data, slice_, point, their_runs, our_runs), *timed))
            per_build += _build_rows(slice_, point, their_runs, our_runs)
            per_timing += _timing_rows(slice_, point, *timed, [t[0] for t in our_timings])
    _write(out, method, adapter, data, rows, per_build, per_timing, programs, exchange, k)
    return rows


def _time_ours(method: str, dataset_path: Path, labels: Labels, slices: list[Slice], k: int) -> tuple:
    """(this process's id, QPS as `_run_ours` measures them per (slice, point)) of one build
    with seed 0: run by `in_fresh_process`."""
    dataset = load_dataset(dataset_path)
    answers = _run_ours(adapter_for(method), dataset, labels, slices, k, 0)
    return os.getpid(), {key: answer[1:] for key, answer in answers.items()}


def _with_qps(row: Row, theirs: list[float | None], ours: list[tuple]) -> Row:
    """`row` with its QPS columns the medians of the fresh-process timings."""
    their_median, their_min, their_max = median_span(theirs)
    our_median, our_min, our_max = median_span([o[0] for o in ours])
    ratio = our_median / their_median if our_median and their_median else None
    return replace(
        row, theirs_qps=their_median, ours_qps=our_median,
        ours_qps_wall=median_span([o[1] for o in ours])[0],
        ours_qps_with_filters=median_span([o[2] for o in ours])[0], qps_processes=len(ours),
        theirs_qps_min=their_min, theirs_qps_max=their_max, ours_qps_min=our_min,
        ours_qps_max=our_max, qps_ratio=ratio,
    )  # fmt: skip


def _timing_rows(
    slice_: Slice, point: dict, theirs: list[float | None], ours: list[tuple], pids: list[int]
) -> list[dict]:
    """`fidelity-qps.csv`: one row per side, timing process and point (ours with its pid)."""
    return [
        {"side": side, "process": n, "pid": pid, "selectivity": slice_.selectivity,
         "point": point_label(point), "qps": qps}
        for n in range(len(ours))
        for side, pid, qps in (("ours", pids[n], ours[n][0]), ("theirs", "", theirs[n]))
    ]  # fmt: skip


def _run_ours(adapter: Adapter, dataset, labels: Labels, slices: list[Slice], k: int, seed: int) -> dict:
    """(ids, QPS by CPU time, by wall time, by CPU time with `prepare_filters`) per (slice,
    point), one build (with `seed` where the method takes one), one thread."""
    params = adapter.build_params(labels)
    kind = get_method(adapter.method)
    if "seed" in kind.build_parameters:
        params["seed"] = seed
    method = kind(METRIC, threads=1, **params)
    try:
        method.build(dataset)
        answers = {}
        for s, slice_ in enumerate(slices):
            for p, point in enumerate(adapter.points):
                params = method.search_params(point)
                preparing = time.process_time()
                prepared = method.prepare_filters(FilterBatch.of(slice_.predicates, dataset.attribute_index))
                preparing = time.process_time() - preparing
                wall, cpu = time.perf_counter(), time.process_time()
                ids = method.search(slice_.queries, prepared, k, **params)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                n = len(slice_.queries)
                answers[s, p] = (ids, _rate(n, cpu), _rate(n, wall), _rate(n, cpu + preparing))
        return answers
    finally:
        method.close()


def _rate(queries: int, seconds: float) -> float | None:
    return queries / seconds if seconds > 0 else None


def _theirs_recall(theirs: Theirs, slice_: Slice, k: int) -> tuple[float, float | None, str]:
    """(recall, QPS, where the recall comes from) of one build of theirs at one point."""
    if theirs.ids is not None:
        return recall_paper(theirs.ids, slice_.truth, k), theirs.qps, "ids"
    return float(theirs.printed_recall), theirs.qps, "printed"


def _row(data: str, slice_: Slice, point: dict, theirs: list[tuple], ours: list[tuple]) -> Row:
    """One point over every build: recall means (and min, max), QPS means."""
    their_recalls, our_recalls = [t[0] for t in theirs], [o[0] for o in ours]
    their_mean, our_mean = statistics.fmean(their_recalls), statistics.fmean(our_recalls)
    diff = our_mean - their_mean
    return Row(
        data, slice_.selectivity, round(slice_.achieved, 5), slice_.label, point_label(point),
        their_mean, our_mean, diff, _mean([t[1] for t in theirs]),
        *(_mean([o[i] for o in ours]) for i in (1, 2, 3)), "/".join(sorted({t[2] for t in theirs})),
        len(theirs), len(ours), min(their_recalls), max(their_recalls), min(our_recalls),
        max(our_recalls), abs(diff) <= TARGET + 1e-12,
    )  # fmt: skip


def _mean(values: list[float | None]) -> float | None:
    """The mean of the values that were measured (None where none was)."""
    known = [v for v in values if v is not None]
    return statistics.fmean(known) if known else None


def _build_rows(slice_: Slice, point: dict, theirs: list[tuple], ours: list[tuple]) -> list[dict]:
    """`fidelity-builds.csv`: one row per side, build and point."""
    return [
        {"side": side, "build": build, "selectivity": slice_.selectivity, "point": point_label(point),
         "recall": run[0], "qps": run[1]}
        for side, runs in (("theirs", theirs), ("ours", ours))
        for build, run in enumerate(runs)
    ]  # fmt: skip


def markdown_table(rows: list[Row]) -> str:
    """selectivity | point | theirs recall | ours recall | diff | theirs QPS | ours QPS; with
    several builds a recall cell is `mean [min-max]` and diff is the difference of the means."""
    lines = [
        "| selectivity | filter | point | theirs recall | ours recall | diff | theirs QPS | ours QPS "
        "| ours QPS (wall) | ours/theirs QPS | within 0.01 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        theirs = _recall(r.theirs_recall, r.theirs_recall_min, r.theirs_recall_max, r.theirs_builds)
        ours = _recall(r.ours_recall, r.ours_recall_min, r.ours_recall_max, r.ours_builds)
        lines.append(
            f"| {r.selectivity:g} ({r.achieved_selectivity:.4f}) | {r.filter} | {r.point} | "
            f"{theirs} | {ours} | {r.diff:+.4f} | "
            f"{_qps(r.theirs_qps, r.theirs_qps_min, r.theirs_qps_max, r.qps_processes)} | "
            f"{_qps(r.ours_qps, r.ours_qps_min, r.ours_qps_max, r.qps_processes)} | "
            f"{_qps(r.ours_qps_wall)} | {_ratio(r.qps_ratio)} | {'yes' if r.within_target else 'no'} |"
        )
    within = sum(r.within_target for r in rows)
    return "\n".join(lines) + f"\n\n{within} of {len(rows)} points within {TARGET} (means)\n"


def _recall(mean: float, low: float, high: float, builds: int) -> str:
    return f"{mean:.4f}" if builds == 1 else f"{mean:.4f} [{low:.4f}-{high:.4f}]"


def _qps(value: float | None, low: float | None = None, high: float | None = None, runs: int = 1) -> str:
    """A QPS cell: the median, with `[min-max]` over several timings."""
    if value is None:
        return "-"
    return f"{value:,.0f}" if runs == 1 or low is None else f"{value:,.0f} [{low:,.0f}-{high:,.0f}]"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _write(
    out: Path,
    method: str,
    adapter: Adapter,
    data: str,
    rows: list[Row],
    per_build: list[dict],
    per_timing: list[dict],
    programs: dict,
    exchange: Path,
    k: int,
) -> None:
    files = sorted(p.relative_to(out).as_posix() for p in exchange.rglob("*") if p.is_file())
    header = [
        f"# Fidelity: {method} (ours) vs the authors' program ({adapter.repository})",
        "",
        f"- data: `{data}` (exchange dataset `data/dataset`, regenerated by this command)",
        f"- programs: {', '.join(f'`{p}`' for p in programs.values())} (full output: `reference.log`)",
        f"- build parameters: {point_label(adapter.build)}; recall@{k}, micro-averaged, same ground truth",
        f"- QPS: {adapter.qps_clock}, of the search with filters prepared (ours by wall clock in the "
        "last column, with `prepare_filters` in the CSV); one search thread",
        f"- theirs recall from: {', '.join(sorted({r.theirs_recall_from for r in rows}))}",
        f"- builds: ours {rows[0].ours_builds} (seeds 0..{rows[0].ours_builds - 1} where the method "
        f"takes a seed), theirs {rows[0].theirs_builds} ({SEEDING[adapter.seeding]}); recall cells "
        "with several builds are `mean [min-max]`, diff is of the means (every build: "
        "`fidelity-builds.csv`)",
        f"- QPS: median over {rows[0].qps_processes} fresh processes per side, alternating ours "
        "and theirs (`[min-max]` when several; ours/theirs is the ratio of the medians; every "
        "timing: `fidelity-qps.csv`)",
        f"- files: {', '.join(f'`{f}`' for f in files)}",
        "",
    ]
    write_text_atomic(out / "fidelity.md", "\n".join(header) + markdown_table(rows))
    write_csv_atomic(out / "fidelity.csv", [asdict(r) for r in rows])
    write_csv_atomic(out / "fidelity-builds.csv", per_build)
    write_csv_atomic(out / "fidelity-qps.csv", per_timing)
