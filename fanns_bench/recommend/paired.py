"""Paired measurement: a cell's configurations built in one process and timed in alternating
rounds, for target (b)'s grade (the router beside each cell's fastest single configurations)
and for a policy's choice (each cell's finalists).

The runner measures every configuration alone in fresh processes, minutes apart; on a shared
host one configuration's processes spread up to 2x, so the ratio of the router's figure to
the best single method's (target (b)) follows the host as much as the router, and so does a
choice between finalists a few percent apart. Here a grade's contenders of a cell (the
router's fastest row reaching the recall there, each single method's fastest row reaching it
within `runoff.WITHIN` of the cell's best, at most `runoff.MOST`, the configuration that
answered the router's queries and, given what the learning draw admitted, the fastest of
those), or a policy's finalists (`runoff.finalists`), are measured round after round in one
process: each round takes one timed end-to-end repetition of each, in a rotating order
(`schedule.round_orders`), on one pinned CPU, as the runner's interleaved rounds do
(`PointMeasurement`, warm-up and calibrated passes included), so a change of the host's speed
reaches every contender alike. A cell's paired ratio is the median over rounds of the router's
QPS over the best single contender's QPS in the same round, where the best is the single
contender with the highest median QPS; a policy chooses on the rounds' medians
(`with_paired_figures`).

Data flow: rows -> `contenders` (a grade) or `finalist_cells` (a policy) -> the folder's
dataset and workload (its Hydra config, checked against the rows' workload digest) -> one
build per configuration (`built`) -> `measure` (one row per cell, contender and round) ->
`write_table` (Parquet) -> `cell_ratios` and `paired_verdict`, or `with_paired_figures` and
the choice.
"""

from __future__ import annotations

import gc
import json
import math
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fanns_bench.errors import ConfigError, MethodError, ResultsError
from fanns_bench.groundtruth import GroundTruth
from fanns_bench.methods.base import Method
from fanns_bench.metrics import recall_paper
from fanns_bench.recommend.choose import (
    CELL_KEYS,
    ROUTER,
    Limits,
    is_router,
    recall_lower_bound,
    registry_names,
)
from fanns_bench.recommend.evaluate import (
    Admitted,
    Verdict,
    answered_label,
    config_keys,
    same_configuration,
)
from fanns_bench.recommend.policy import params_text
from fanns_bench.recommend.runoff import MOST, WITHIN, finalists
from fanns_bench.recommend.watchdog import Watchdog
from fanns_bench.report.frame import ok_points
from fanns_bench.report.pareto import RECALL_TOLERANCE, best_at_recall
from fanns_bench.report.quality import optional
from fanns_bench.runner.context import Context

MIN_REPETITION_S = 0.1
"""A timed repetition repeats its batch at least this long (the laptop experiment's)."""

TABLE = "paired.parquet"
"""The paired measurements, beside the graded folder (`table_path`)."""


ROLES = ("router", "fastest", "pick", "admitted")
"""Why a configuration is measured in a cell: the router's row; one of the cell's fastest
single rows; the configuration that answered the router's queries; one the learning draw
admitted (`evaluate.admitted_on`), with `--learned`."""


@dataclass(frozen=True)
class Contender:
    """One configuration to measure in a cell, with why (`ROLES`)."""

    method: str
    build: str  # the row's build_params (canonical JSON)
    search: str  # its search_params
    roles: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """Method and parameters as the router's counters spell them."""
        return f"{self.method} {params_text(_params(self.build))} {params_text(_params(self.search))}"


Cells = dict[tuple[str, float], list[Contender]]
"""Each cell's (filter type, bucket) contenders, the router first."""

Built = dict[tuple[str, str], Method]
"""Built methods by (method, build params)."""


def table_path(results_dir: Path) -> Path:
    """Where the paired table of `results_dir` is written: beside it (a results folder is
    read recursively)."""
    return results_dir.parent / f"{results_dir.name}-{TABLE}"


def contenders(frame: pd.DataFrame, recall: float, admitted: Admitted | None = None) -> Cells:
    """Per cell (filter type, bucket) of `frame` (one dataset, k and thread count) where the
    router and some single method reach `recall`: the router's fastest row reaching it, the
    single methods' fastest rows reaching it within `WITHIN` of the cell's fastest (at most
    `MOST`), the router's pick (the single row of the configuration that answered its
    queries) and, given `admitted`, the fastest admitted single row reaching it and every
    contender admitted is marked so; the router first."""
    points = ok_points(frame)
    cells: Cells = {}
    for (filter_type, bucket), cell in points.groupby(CELL_KEYS, sort=True):
        reached = best_at_recall(cell, recall).sort_values("qps", ascending=False, kind="stable")
        router, single = reached[is_router(reached)], reached[~is_router(reached)]
        if router.empty or single.empty:
            continue
        singles = cell[~is_router(cell)]
        allowed = singles[pd.Series(config_keys(singles), index=singles.index).isin(admitted or set())]
        chosen = {
            "router": router.head(1),
            "fastest": single[single["qps"] >= WITHIN * float(single["qps"].iloc[0])].head(MOST),
            "pick": singles[same_configuration(singles, answered_label(router.head(1)))].head(1),
            "admitted": best_at_recall(allowed, recall).sort_values("qps", ascending=False).head(1),
        }
        roles: dict[tuple[str, str, str], list[str]] = {}
        for role, rows in chosen.items():
            for config in _configs(rows):
                roles.setdefault(config, []).append(role)
        marked = set(_configs(allowed))
        cells[(str(filter_type), float(bucket))] = [
            Contender(*config, tuple(dict.fromkeys([*mine, *(["admitted"] if config in marked else [])])))
            for config, mine in roles.items()
        ]
    return cells


def finalist_cells(frame: pd.DataFrame, recall: float, limits: Limits | None, recall_z: float) -> Cells:
    """Per cell of `frame` where some configuration within `limits` reaches `recall` (its
    lower bound, `recall_z`): the finalists a policy's runoff keeps (`runoff.finalists`:
    each method's fastest within `WITHIN` of the cell's fastest, at most `MOST`); cells with
    one finalist are left out (nothing to compare)."""
    chosen = finalists(frame, recall, limits, recall_z)
    cells: Cells = {}
    for (filter_type, bucket), rows in chosen.groupby(CELL_KEYS, sort=True):
        configs = list(dict.fromkeys(_configs(rows)))
        if len(configs) > 1:
            cells[(str(filter_type), float(bucket))] = [Contender(*c, ("fastest",)) for c in configs]
    return cells


def with_paired_figures(frame: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """`frame`'s rows with, in each cell the paired `table` measured, only the configurations
    it measured, their QPS figures those of the rounds: `qps` the median, `qps_low`/`qps_high`
    the slowest and fastest round, `qps_processes` every round (a choice judges its margin on
    them, as on a runoff's processes), `qps_rounds` the same by round number (NaN where it has
    none: a choice judges its margin on the rounds as pairs), `batch_seconds` a round's seconds
    per pass, not flagged noisy (the flag judged the runner's repetitions). Other cells' rows are
    kept as they are."""
    grouped = table.sort_values("round", kind="stable").groupby(
        [*CELL_KEYS, "method", "build_params", "search_params"]
    )
    numbered = {  # configuration -> {round: QPS}
        (str(key[0]), float(key[1]), *key[2:]): dict(zip(group["round"], group["qps"], strict=True))
        for key, group in grouped
    }
    count = int(table["round"].max()) + 1 if len(table) else 0
    keys = [
        (str(t), float(b), *config)
        for (t, b), config in zip(frame[CELL_KEYS].itertuples(index=False), _configs(frame), strict=True)
    ]
    measured = {key[:2] for key in numbered}
    kept, figures, by_round = [], [], []
    for position, key in enumerate(keys):
        if key in numbered:
            kept.append(position)
            figures.append(list(numbered[key].values()))
            by_round.append([float(numbered[key].get(r, math.nan)) for r in range(count)])
        elif key[:2] not in measured:
            kept.append(position)
            figures.append(None)
            by_round.append(None)
    rows = frame.iloc[kept].copy()
    for column, value in (
        ("qps", np.median),
        ("qps_low", min),
        ("qps_high", max),
    ):
        rows[column] = [
            float(value(f)) if f is not None else old for f, old in zip(figures, rows[column], strict=True)
        ]
    rows["qps_processes"] = [
        list(map(float, f)) if f is not None else old
        for f, old in zip(figures, optional(rows, "qps_processes"), strict=True)
    ]
    rows["qps_rounds"] = by_round
    paired = np.array([f is not None for f in figures], dtype=bool)
    rows.loc[paired, "noisy"] = False  # the runner's flags judged its repetitions, not these rounds
    rows.loc[paired, "noisy_reason"] = None
    rows["batch_seconds"] = [
        [n / q for q in f] if f is not None else old
        for f, n, old in zip(figures, rows["n_queries"], optional(rows, "batch_seconds"), strict=True)
    ]
    return rows


def _configs(rows: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(method, build params, search params) of each row; the method as the registry names
    it (`method_name`, where a config's key is not the name)."""
    columns = zip(registry_names(rows), rows["build_params"], rows["search_params"], strict=True)
    return [(str(m), str(b or ""), str(s or "")) for m, b, s in columns]


def check_one_combination(frame: pd.DataFrame, results_dir: Path) -> tuple[str, int]:
    """(the workload digest, k) of `frame`'s rows; `ResultsError` unless they hold one
    workload, k and thread count of 1 (the paired rounds run on one CPU)."""
    points = ok_points(frame)
    for column in ("workload_digest", "k", "threads"):
        values = sorted(set(points[column].dropna()))
        if len(values) != 1:
            raise ResultsError(
                f"--paired: {results_dir} holds rows of {len(values)} {column} values ({values}); "
                "pick one with --dataset, --k and --threads"
            )
    if int(points["threads"].iloc[0]) != 1:
        raise ResultsError(f"--paired: {results_dir}: measures one-thread rows only (--threads 1)")
    return str(points["workload_digest"].iloc[0]), int(points["k"].iloc[0])


def run_context(results_dir: Path, digest: str) -> Context:
    """The dataset, workload and ground truth `results_dir`'s rows were measured on, from its
    newest Hydra config (`hydra/*/.hydra/config.yaml`); `ResultsError` when there is none or
    its workload is not the rows' (`digest`)."""
    from omegaconf import OmegaConf

    from fanns_bench.data.builders import dataset_of
    from fanns_bench.runner.context import prepare_context
    from fanns_bench.workloads.workload import WorkloadSpec

    configs = sorted(results_dir.glob("hydra/*/.hydra/config.yaml"))
    if not configs:
        raise ResultsError(f"--paired: {results_dir} keeps no Hydra config (hydra/*/.hydra/config.yaml)")
    config = OmegaConf.load(configs[-1])
    try:
        dataset_config = OmegaConf.to_container(config.dataset, resolve=True)
        workload = OmegaConf.to_container(config.workload, resolve=True)
        datasets_dir = Path(str(OmegaConf.select(config, "paths.datasets")))
    except Exception as error:  # an interpolation that does not resolve here
        raise ResultsError(f"--paired: {configs[-1]}: cannot resolve the config ({error})") from None
    dataset = dataset_of(dataset_config, datasets_dir)
    context = prepare_context(dataset, WorkloadSpec.from_config(dict(workload)))
    if context.digest != digest:
        raise ResultsError(
            f"--paired: {configs[-1]} gives workload {context.digest}, the rows were measured on "
            f"{digest} (run from the folder the sweep ran in, or set FANNS_BENCH_ROOT)"
        )
    return context


@contextmanager
def built(
    cells: Cells, context: Context, progress: Callable[[str], None], watchdog: Watchdog | None = None
) -> Iterator[Built]:
    """Every configuration of `cells` built once on one thread, closed on exit; keyed by
    `build_key`. A single configuration the router holds is the router's own member (the
    same index: router against it is what routing costs, not two copies' placement). Each
    build is one step of `watchdog` (none: no limit)."""
    from fanns_bench.methods.registry import get_method
    from fanns_bench.methods.router.method import Router

    methods: Built = {}
    keys = dict.fromkeys(build_key(c) for cs in cells.values() for c in cs)
    order = sorted(keys, key=lambda key: key[0] != ROUTER)  # the router first: its members are reused
    with ExitStack() as stack:
        for name, build in order:
            if (name, build) in methods:
                continue
            progress(f"building {name} {build}")
            try:
                method = get_method(name)(metric=context.dataset.metric, threads=1, **_params(build))
            except (ConfigError, MethodError, TypeError, ValueError) as error:
                raise ResultsError(f"--paired: cannot make {name} with {build}: {error}") from None
            stack.callback(method.close)
            method.set_build_threads(lambda cls: 1)  # the router's members
            try:
                with _step(watchdog, f"building {name} {build}"):
                    method.prepare_environment(context.dataset)
                    method.build(context.dataset)
            except Exception as error:  # a method's own failure: named, not a traceback
                raise ResultsError(f"--paired: building {name} {build} failed: {error}") from None
            methods[(name, build)] = method
            if isinstance(method, Router):
                for key, member in method.members().items():
                    methods.setdefault(key, member)  # closed by the router
        yield methods


def build_key(contender: Contender) -> tuple[str, str]:
    """(method, build parameters as text): what identifies one built index, as the router's
    routes spell it (`Route.build_key`)."""
    return contender.method, params_text(_params(contender.build))


def measure(
    cells: Cells,
    context: Context,
    methods: Built,
    k: int,
    rounds: int,
    progress: Callable[[str], None] = lambda _: None,
    watchdog: Watchdog | None = None,
) -> pd.DataFrame:
    """One row per cell, contender and round: its end-to-end QPS in that round (`qps_cpu`: by
    the CPU time of the job's processes, which a host's other tenants do not take), and the
    recall of its answers (the same every round). A contender's calibration and each of its
    rounds are steps of `watchdog` (none: no limit)."""
    records: list[dict[str, Any]] = []
    groups = {(t, float(b)): rows for t, b, rows in context.workload.groups()}
    gc.collect()
    gc.freeze()  # the data and the indexes are never garbage
    try:
        for (filter_type, bucket), chosen in cells.items():
            progress(f"{filter_type} {bucket:g}: {len(chosen)} contenders x {rounds} rounds")
            rows = groups[(filter_type, bucket)]
            measured = _measure_cell(chosen, rows, context, methods, k, rounds, watchdog)
            for contender, qps, cpu_qps, recall in measured:
                records += [
                    {
                        "filter_type": filter_type,
                        "selectivity_bucket": bucket,
                        "method": contender.method,
                        "build_params": contender.build,
                        "search_params": contender.search,
                        "label": contender.label,
                        "roles": ",".join(contender.roles),
                        "round": number,
                        "qps": value,
                        "qps_cpu": cpu,
                        "recall": recall,
                    }
                    for number, (value, cpu) in enumerate(zip(qps, cpu_qps, strict=True))
                ]
    finally:
        gc.unfreeze()
    return pd.DataFrame.from_records(records, columns=COLUMNS)


COLUMNS = [
    "filter_type",
    "selectivity_bucket",
    "method",
    "build_params",
    "search_params",
    "label",
    "roles",
    "round",
    "qps",
    "qps_cpu",
    "recall",
]
"""The paired table's columns."""


def _measure_cell(
    chosen: list[Contender],
    rows: np.ndarray,
    context: Context,
    methods: Built,
    k: int,
    rounds: int,
    watchdog: Watchdog | None = None,
) -> list[tuple[Contender, list[float], list[float], float]]:
    """(contender, its QPS in each round, by the wall clock and by the CPU time of this
    process, its recall) for one cell's `chosen`, on the workload's `rows`: calibrated one
    after the other, then timed in alternating rounds."""
    from fanns_bench.runner.affinity import pinned
    from fanns_bench.runner.measure import PointMeasurement
    from fanns_bench.runner.schedule import round_orders
    from fanns_bench.runner.threads import query_threads

    queries = np.ascontiguousarray(context.query_vectors[rows])  # the cell's, shared read-only
    predicates = [context.workload.predicates[r] for r in rows]
    points = []
    for contender in chosen:
        method = methods[build_key(contender)]
        point = PointMeasurement(
            method,
            queries,
            predicates,
            context.attributes,
            k,
            method.search_params(_params(contender.search)),
            count=context.dataset.count,
        )
        with pinned(1), query_threads(method, 1), _named(contender, watchdog, "calibration"):
            point.calibrate(True, MIN_REPETITION_S)
        point.release()
        points.append(point)
    for number, order in enumerate(round_orders([c.label for c in chosen], rounds)):
        gc.collect()  # no garbage from the last round inside this one's timings
        for index in order:
            point, step = points[index], f"round {number}"
            with pinned(1), query_threads(point.method, 1), _named(chosen[index], watchdog, step):
                point.repeat(rewarm=True)
            point.release()
    truth = GroundTruth(context.truth.ids[rows], context.truth.scores[rows])
    return [
        (
            contender,
            [len(rows) / s for s in point.batches.seconds],
            [len(rows) / c if c > 0 else math.nan for c in point.batches.cpu_seconds],
            float(recall_paper(point.ids, truth, k)),
        )
        for contender, point in zip(chosen, points, strict=True)
    ]


@contextmanager
def _named(contender: Contender, watchdog: Watchdog | None, step: str) -> Iterator[None]:
    """A method's failure in a search as one `ResultsError` naming the configuration; the
    search one `step` of `watchdog`."""
    try:
        with _step(watchdog, f"{contender.label} ({step})"):
            yield
    except Exception as error:
        raise ResultsError(
            f"--paired: {contender.label}: a search failed ({type(error).__name__}: {error})"
        ) from None


def write_table(table: pd.DataFrame, path: Path) -> Path:
    """Write the paired table (Parquet) atomically."""
    from fanns_bench.atomic_files import write_parquet_atomic

    return write_parquet_atomic(path, table)


@dataclass(frozen=True)
class Paired:
    """The router against one other contender of a cell, round by round."""

    label: str
    qps: float  # its median over rounds
    ratio: float  # median over rounds of router / it in the same round
    ratio_low: float  # the rounds' 25th percentile of that ratio
    ratio_high: float  # their 75th
    recall: float
    cpu_ratio: float = math.nan  # median over rounds of the same ratio by CPU time (`qps_cpu`)

    @property
    def method(self) -> str:
        return self.label.split(" ", 1)[0]


@dataclass(frozen=True)
class PairedCell:
    """One cell's paired figures: the router against its best single contender, its pick,
    and the best contender the learning draw admitted (None: not measured)."""

    filter_type: str
    bucket: float
    router_qps: float  # median over rounds
    router_recall: float
    best: Paired
    pick: Paired | None = None
    admitted: Paired | None = None

    @property
    def hindsight(self) -> bool:
        """The best single contender is not the best the learning draw admitted (its learning
        rows missed the recall or its bound): known as best only on this draw."""
        return self.admitted is not None and self.admitted.label != self.best.label

    def line(self) -> str:
        best = self.best
        text = (
            f"  {self.filter_type} bucket {self.bucket:g}: router {self.router_qps:,.0f} QPS; best single "
            f"{best.method} {best.qps:,.0f} QPS: {_ratio(best)}"
        )
        for name, other in (("its pick", self.pick), ("best admitted", self.admitted)):
            if other is not None and other.label != best.label:
                text += f"; {name} {other.method} {other.qps:,.0f} QPS: {_ratio(other)}"
        return text + f"; recall {self.router_recall:.3f} / {best.recall:.3f}"


def _ratio(other: Paired) -> str:
    cpu = "" if math.isnan(other.cpu_ratio) else f" (CPU {other.cpu_ratio:.2f}x)"
    return f"{other.ratio:.2f}x [{other.ratio_low:.2f}-{other.ratio_high:.2f}]{cpu}"


def cell_ratios(table: pd.DataFrame, recall: float) -> list[PairedCell]:
    """Per cell of the paired `table`: the router against the single contender with the
    highest median QPS among those whose recall here reaches `recall`, its pick and the
    best admitted one (a cell with no single contender reaching it, or no router, is left out)."""
    cells = []
    for (filter_type, bucket), cell in table.groupby(CELL_KEYS, sort=True):
        roles = cell["roles"].str.split(",")
        router = cell[roles.map(lambda r: "router" in r)].set_index("round")
        reaching = cell["recall"] >= recall - RECALL_TOLERANCE
        single = cell[roles.map(lambda r: "router" not in r) & reaching]
        if router.empty or single.empty:
            continue

        best = _against(router, single)
        assert best is not None
        cells.append(
            PairedCell(
                str(filter_type),
                float(bucket),
                float(router["qps"].median()),
                float(router["recall"].iloc[0]),
                best,
                _against(router, cell[roles.map(lambda r: "pick" in r)]),
                _against(router, single[roles[single.index].map(lambda r: "admitted" in r)]),
            )
        )
    return cells


def _against(router: pd.DataFrame, rows: pd.DataFrame) -> Paired | None:
    """The router (its rows by round) against the contender of `rows` with the highest median
    QPS; None where `rows` is empty."""
    if rows.empty:
        return None
    medians = rows.groupby("label")["qps"].median().sort_values(ascending=False, kind="stable")
    mine = rows[rows["label"] == medians.index[0]]
    ratios = (router["qps"] / mine.set_index("round")["qps"]).dropna()
    cpu = (optional(router, "qps_cpu") / optional(mine.set_index("round"), "qps_cpu")).dropna()
    return Paired(
        str(medians.index[0]),
        float(medians.iloc[0]),
        float(ratios.median()),
        float(ratios.quantile(0.25)),
        float(ratios.quantile(0.75)),
        float(mine["recall"].iloc[0]),
        float(cpu.median()) if len(cpu) else math.nan,
    )


def paired_verdict(
    cells: list[PairedCell], band: float = 0.1, learned: bool = False, lost: tuple[str, ...] = ()
) -> Verdict:
    """(b) on the paired rounds: the router's median ratio to each cell's best single
    contender (`learned`: to the best the learning draw admitted) is at least 1 - `band`,
    and there is no cell (`lost`, "type bucket") where a single method reaches the recall and
    the router does not (not measured side by side: nothing to pair)."""
    graded = [(c, c.admitted if learned else c.best) for c in cells]
    graded = [(c, other) for c, other in graded if other is not None]
    slow = [(c, other) for c, other in graded if other.ratio < 1 - band]
    noise = [c for c, other in slow if other.ratio_high >= 1 - band]
    hindsight = [] if learned else [c for c, _ in slow if c.hindsight]
    slower = ", ".join(
        f"{c.filter_type} {c.bucket:g} {other.ratio:.2f}x {other.method}"
        + (" (hindsight)" if c in hindsight else "")
        for c, other in slow
    )
    against = "the best single configuration" + (" the learning draw admitted" if learned else "")
    return Verdict(
        f"(b) paired{' as learned' if learned else ''}: QPS within {band:.0%} of {against}, measured "
        "beside it (one process, alternating rounds; median of the rounds' ratios)",
        bool(graded) and not slow and not lost,
        f"{len(graded) - len(slow)} of {len(graded) + len(lost)} cells"
        + (f"; slower: {slower}" if slow else "")
        + (
            f" ({len(noise)} of them with the rounds' upper quartile at or above {1 - band:.2f}: "
            f"{', '.join(f'{c.filter_type} {c.bucket:g}' for c in noise)})"
            if noise
            else ""
        )
        + (f"; the router not reaching the recall: {', '.join(lost)}" if lost else "")
        + (
            f"; hindsight: {len(hindsight)} of them, whose best single configuration the learning "
            "draw did not admit (the 'as learned' line grades against the best it admitted)"
            if hindsight
            else ""
        ),
    )


def paired_lines(
    table: pd.DataFrame,
    recall: float,
    band: float = 0.1,
    learned: bool = False,
    lost: tuple[str, ...] = (),
    learning: pd.DataFrame | None = None,
    recall_z: float = 0.0,
) -> tuple[list[str], Verdict]:
    """The paired grade as text, and its verdict (against the best single configuration;
    `learned`: a line against the best admitted one too; `lost`: `paired_verdict`'s;
    `learning`, the learning draw's rows: `hindsight_lines` after them, with `recall_z`)."""
    cells = cell_ratios(table, recall)
    rounds = int(table["round"].max()) + 1 if len(table) else 0
    lines = [
        f"paired: the router beside each cell's fastest single configurations, its pick"
        f"{' and the fastest the learning draw admitted' if learned else ''}, in one process, {rounds} "
        "alternating rounds (QPS: median of the rounds; router / other: median of the rounds' "
        "ratios [quartiles] (by CPU time); recall: router / best):",
        *(c.line() for c in cells),
    ]
    verdict = paired_verdict(cells, band, lost=lost)
    also = [f"also, {paired_verdict(cells, band, learned=True, lost=lost).line()}"] if learned else []
    hindsight = [] if learning is None else hindsight_lines(cells, recall, learning, recall_z)
    return [*lines, "", verdict.line(), *also, *hindsight], verdict


def hindsight_lines(
    cells: list[PairedCell], recall: float, learning: pd.DataFrame, recall_z: float
) -> list[str]:
    """Each hindsight cell of `cells` (`cell_ratios`; `PairedCell.hindsight`) with its best single
    configuration as the `learning` draw's rows (one dataset, k and thread count) measured it:
    its recall and the lower bound (`recall_z`) a policy chooses by, below `recall` there,
    beside its recall here; no lines where no cell is a hindsight cell."""
    points = ok_points(learning)
    lines = []
    for cell in cells:
        if not cell.hindsight:
            continue
        in_cell = (points["filter_type"] == cell.filter_type) & (points["selectivity_bucket"] == cell.bucket)
        rows = points[in_cell]
        rows = rows[same_configuration(rows, cell.best.label)].head(1)
        there = "not measured"
        if len(rows):
            bound = float(recall_lower_bound(rows, recall_z).iloc[0])
            there = f"recall {float(rows['recall'].iloc[0]):.3f} (bound {bound:.3f})"
        lines.append(
            f"  {cell.filter_type} {cell.bucket:g}: {cell.best.label}: {there} on the learning draw, "
            f"{cell.best.recall:.3f} here"
        )
    if not lines:
        return []
    return [
        f"hindsight cells: each one's best single configuration here, as the learning draw measured it "
        f"(a policy chooses by the bound, which must reach {recall:g}):",
        *lines,
    ]


def _params(text: object) -> dict[str, Any]:
    return json.loads(text) if isinstance(text, str) and text else {}


def _step(watchdog: Watchdog | None, what: str) -> AbstractContextManager[None]:
    return nullcontext() if watchdog is None else watchdog.step(what)
