"""Run both sides on the same inputs and write the side-by-side table.

Recall is `metrics.recall_paper` (micro-averaged recall@k) on both sides when the authors'
program returns ids; otherwise their printed recall (same ground truth file, same
definition) is shown and the `theirs_recall_from` column says so. Our QPS is queries per
CPU-second of `search` on one thread with the filters prepared beforehand, as the authors'
timers cover their search loop over filter input handed to them ready (label codes,
positions, bitmaps); `ours_qps_wall` is the same by wall clock (beside theirs where their
program times wall clock) and `ours_qps_with_filters` counts `prepare_filters` too (the
harness's `qps`).
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from fanns_bench.atomic_files import temporary_sibling
from fanns_bench.errors import ConfigError
from fanns_bench.fidelity import acorn, caps, diskann, dsg, irangegraph, nhq, serf, ung
from fanns_bench.fidelity.adapter import Adapter, Theirs, point_label
from fanns_bench.fidelity.data import METRIC, Labels, Slice, exchange_dataset, make_slice
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
) -> list[Row]:
    """Both sides on `data` at `selectivities`; writes `fidelity.csv` / `.md` under `out`."""
    adapter = adapter_for(method)
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
    theirs = adapter.run_theirs(programs, dataset, slices, k, exchange, log)
    ours = _run_ours(adapter, dataset, labels, slices, k)
    rows = [
        _row(data, slice_, adapter.points[p], theirs[s, p], *ours[s, p], k=k)
        for s, slice_ in enumerate(slices)
        for p in range(len(adapter.points))
    ]
    _write(out, method, adapter, data, rows, programs, exchange, k)
    return rows


def _run_ours(adapter: Adapter, dataset, labels: Labels, slices: list[Slice], k: int) -> dict:
    """(ids, QPS by CPU time, by wall time, by CPU time with `prepare_filters`) per (slice,
    point), one build, one thread."""
    method = get_method(adapter.method)(METRIC, threads=1, **adapter.build_params(labels))
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


def _row(data: str, slice_: Slice, point: dict, theirs: Theirs, ids, *ours_qps: float | None, k: int) -> Row:
    ours_recall = recall_paper(ids, slice_.truth, k)
    if theirs.ids is not None:
        their_recall, source = recall_paper(theirs.ids, slice_.truth, k), "ids"
    else:
        their_recall, source = float(theirs.printed_recall), "printed"
    return Row(
        data, slice_.selectivity, round(slice_.achieved, 5), slice_.label, point_label(point),
        their_recall, ours_recall, ours_recall - their_recall, theirs.qps, *ours_qps, source,
    )  # fmt: skip


def markdown_table(rows: list[Row]) -> str:
    """selectivity | point | theirs recall | ours recall | diff | theirs QPS | ours QPS."""
    lines = [
        "| selectivity | filter | point | theirs recall | ours recall | diff | theirs QPS | ours QPS "
        "| ours QPS (wall) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.selectivity:g} ({r.achieved_selectivity:.4f}) | {r.filter} | {r.point} | "
            f"{r.theirs_recall:.4f} | {r.ours_recall:.4f} | {r.diff:+.4f} | "
            f"{_qps(r.theirs_qps)} | {_qps(r.ours_qps)} | {_qps(r.ours_qps_wall)} |"
        )
    return "\n".join(lines) + "\n"


def _qps(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _write(
    out: Path,
    method: str,
    adapter: Adapter,
    data: str,
    rows: list[Row],
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
        f"- files: {', '.join(f'`{f}`' for f in files)}",
        "",
    ]
    _atomic_text(out / "fidelity.md", "\n".join(header) + markdown_table(rows))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(Row.__dataclass_fields__))
    writer.writeheader()
    writer.writerows(asdict(r) for r in rows)
    _atomic_text(out / "fidelity.csv", buffer.getvalue())


def _atomic_text(path: Path, text: str) -> None:
    tmp = temporary_sibling(path)
    tmp.write_text(text)
    tmp.replace(path)
