"""QPS and recall of every compiled method: this checkout against an earlier commit's build.

Issue 20's last target: the core's refactor changes no behaviour (identical answers:
scripts/core_identity.py) and costs no speed: QPS at equal recall >= 0.97x before on every
compiled method, same machine, same run, alternating. This script measures the second part.

- Data: the shipped arXiv sample (`--data`; or the seeded synthetic set), written once as the
  fidelity check's exchange dataset (`fidelity/data.py`: an extra `position` attribute, so a
  range filter selects exactly s·N items), with one filter per query at `--selectivity`:
  `position` ranges for the range methods and ACORN, one label value for the label methods
  (`eq` on the scalar label attribute, `contains` on the set one), as the fidelity adapters
  choose them, and the exact top-k from `groundtruth`.
- Each side: `scripts/core_ab_worker.py` under that side's interpreter, in a fresh process,
  builds every method (`CASES`) on one thread with the SAME parameters and times each search
  point with the filters prepared (the compiled core's work; the same timing code on both
  sides). A parameter one commit lacks is declared per case with the value that reproduces
  the other's behaviour (`after_build`, `after_search`); no compiled method was renamed.
  Every other resolved parameter, defaults included, must be equal on both sides.
- `--processes N` (3) processes per side, alternating before, after, before, ...; per method
  and point: recall on each side, the median QPS of each side and the after/before ratio of
  each pair of processes, median [min-max].

Exit 1 when a median ratio is below `--min-ratio` (0.97), a recall differs (between the sides
or between one side's processes), a resolved parameter differs or a method failed; a case
with a declared behaviour change (`changed`) shows its recall on both sides and no ratio.
Exit 2 on bad input. Everything measured is in `OUT/core-ab.csv`; `--rows CSV` judges such
a file again without running anything.

Make the before interpreter with scripts/commit_env.sh (a detached worktree, a venv on this
checkout's dependencies, the commit's own compiled core and entry points):

    scripts/commit_env.sh 6eaf1e7 /tmp/core20-before
    python scripts/bench_core_ab.py --before /tmp/core20-before/.venv/bin/python
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fanns_bench.atomic_files import write_csv_atomic, write_text_atomic
from fanns_bench.errors import FannsBenchError
from fanns_bench.fidelity.adapter import label_filters, point_label
from fanns_bench.fidelity.data import (
    METRIC,
    POSITION,
    SOURCES,
    Slice,
    exchange_dataset,
    make_slice,
    position_ranges,
)
from fanns_bench.fidelity.processes import median_span
from fanns_bench.filters.predicates import to_dict
from fanns_bench.metrics import recall_paper

WORKER = Path(__file__).with_name("core_ab_worker.py")
K = 10
SIDES = ("before", "after")
COLUMNS = ["side", "process", "method", "point", "params", "recall", "qps", "qps_cpu", "build_s", "error"]


@dataclass(frozen=True)
class Case:
    """One compiled method as both commits run it: `filters` is the filter family (`range`,
    `eq`, `contains`), `attribute_param` the build parameter naming the filtered attribute.
    `after_build` / `after_search`: parameters only the after commit has, at the value that
    reproduces the before commit's behaviour. `changed`: a declared behaviour change (recall
    may differ; no QPS ratio is judged)."""

    method: str
    filters: str
    build: dict[str, Any]
    points: tuple[dict[str, Any], ...]
    attribute_param: str | None = None
    after_build: dict[str, Any] = field(default_factory=dict)
    after_search: dict[str, Any] = field(default_factory=dict)
    changed: str | None = None


def widths(name: str, *values: int) -> tuple[dict[str, Any], ...]:
    """A fast and a generous search point."""
    return tuple({name: v} for v in values)


ACORN_REF_CHANGE = (
    "ACORN _ref revisions 1 (830b1e8: the reference's level and order generators) and 2 (ddbe006: "
    "its flat list layout, write_past_list)"
)
NHQ_NSW_CHANGE = "issue 19 (013ab86): the authors' n2 build and search order, distance-only ties"
NHQ_KGRAPH_CHANGE = (
    "issue 19 (0cab062, 95cab59: efanna's distance-only ties and NN-descent stop test; 1cc98b9: the "
    "authors' random numbers)"
)
AUTHORS_SEARCH = {"return_seeds": True, "raise_ef_to_k": True}  # issue 19's defaults are the authors'
CASES = (
    Case("acorn_gamma", "range",
         {"M": 16, "gamma": 4, "M_beta": 32, "ef_construction": 40, "seed": 0, "deterministic": True},
         widths("ef_search", 16, 64)),
    Case("acorn_1", "range", {"M": 16, "ef_construction": 40, "seed": 0, "deterministic": True},
         widths("ef_search", 16, 64)),
    Case("acorn_gamma_ref", "range", {"M": 16, "gamma": 4, "M_beta": 32, "seed": 0, "deterministic": True},
         widths("ef_search", 16, 64), after_build={"write_past_list": True}, changed=ACORN_REF_CHANGE),
    Case("acorn_1_ref", "range", {"M": 16, "M_beta": 32, "seed": 0, "deterministic": True},
         widths("ef_search", 16, 64), after_build={"write_past_list": True}, changed=ACORN_REF_CHANGE),
    Case("caps", "eq", {"clusters": 32, "seed": 0, "deterministic": True}, widths("max_distances", 500, 2000),
         "label_attribute", after_search={"exact_top_k": True, "fix_open_attributes": True}),
    Case("digra", "range", {"M": 16, "ef_construction": 64, "fanout": 4, "leaf_size": 64, "seed": 0},
         widths("ef_search", 10, 50), "attribute"),
    Case("dsg", "range", {"M": 12, "ef_construction": 64, "ef_max": 100}, widths("ef_search", 16, 64),
         "attribute", after_search=AUTHORS_SEARCH),
    Case("irangegraph", "range", {"M": 16, "ef_construction": 64, "seed": 0}, widths("ef_search", 16, 64),
         "attribute"),
    Case("nhq_nsw", "eq", {"M": 16, "ef_construction": 64, "deterministic": True},
         widths("ef_search", 50, 200), "attributes", changed=NHQ_NSW_CHANGE),
    Case("nhq_kgraph", "eq",
         {"K": 32, "L": 40, "iter": 6, "S": 10, "R": 50, "RANGE": 32, "PL": 50, "B": 0.5, "M": 1.0, "seed": 0,
          "deterministic": True},
         widths("L_search", 20, 100), "attributes", after_build={"fractional_b": True},
         changed=NHQ_KGRAPH_CHANGE),
    Case("serf", "range", {"index_k": 16, "ef_construction": 64, "ef_max": 200}, widths("ef_search", 16, 64),
         "attribute", after_search=AUTHORS_SEARCH),
    Case("ung", "contains",
         {"scenario": "general", "num_cross_edges": 2, "max_degree": 16, "L_build": 40, "alpha": 1.2},
         widths("L_search", 20, 100), "label_attribute", after_search={"entry_points": "drawn"}),
    Case("filtered_vamana", "contains", {"R": 24, "L": 50, "alpha": 1.2, "seed": 0, "deterministic": True},
         widths("L_search", 20, 100), "label_attribute"),
    Case("stitched_vamana", "contains",
         {"R_small": 16, "L_small": 40, "alpha": 1.1, "R_stitched": 24, "seed": 0, "deterministic": True},
         widths("L_search", 20, 100), "label_attribute"),
)  # fmt: skip
BY_NAME = {case.method: case for case in CASES}


class BadInput(Exception):
    """Bad arguments or files: one line, exit 2."""


def filter_slices(dataset: Any, labels: Any, selectivity: float, queries: int) -> dict[str, Slice]:
    """One slice (queries, one filter each, exact top-k) per filter family."""
    families = {
        "range": position_ranges(dataset, selectivity, queries, 0),
        "eq": label_filters(dataset, labels.scalar_attribute, False, selectivity, queries),
        "contains": label_filters(dataset, labels.set_attribute, True, selectivity, queries),
    }
    return {
        name: make_slice(dataset, selectivity, predicates, label, queries, K)
        for name, (predicates, label) in families.items()
    }


def case_spec(case: Case, side: str, labels: Any) -> dict[str, Any]:
    """What the worker builds and searches for `case` on `side`."""
    build = dict(case.build)
    if case.attribute_param:
        attribute = {"range": POSITION, "eq": labels.scalar_attribute, "contains": labels.set_attribute}
        build[case.attribute_param] = attribute[case.filters]
    extra = case.after_search if side == "after" else {}
    return {
        "name": case.method,
        "filters": case.filters,
        "build": build | (case.after_build if side == "after" else {}),
        "points": [point | extra for point in case.points],
    }


def side_spec(side: str, cases: list[Case], dataset: Any, labels: Any, slices: dict, args: Any) -> dict:
    return {
        "dataset": str(dataset.path),
        "metric": METRIC,
        "k": K,
        "queries": args.queries,
        "repetitions": args.repetitions,
        "min_repetition_s": args.min_repetition_s,
        "filters": {name: [to_dict(p) for p in s.predicates] for name, s in slices.items()},
        "methods": [case_spec(case, side, labels) for case in cases],
    }


def run_worker(python: str, spec: Path, out: Path) -> dict[str, Any]:
    """One fresh process of the worker under `python`; its result."""
    out.unlink(missing_ok=True)
    status = subprocess.call([python, str(WORKER), str(spec), str(out)])
    if status != 0 or not out.is_file():
        raise BadInput(f"{python} {WORKER.name} {spec}: exited {status} without a result")
    return json.loads(out.read_text())


def rate(queries: int, seconds: list[float]) -> float | str:
    """Queries per second of the median pass ('' when the clock read no time)."""
    median = statistics.median(seconds)
    return queries / median if median > 0 else ""


def result_rows(side: str, process: int, result: dict, slices: dict[str, Slice]) -> list[dict[str, Any]]:
    """One CSV row per method and point of one worker's result; the parameters a row shows
    leave out the after-only ones its case declares."""
    rows = []
    for found in result["methods"]:
        case = BY_NAME[found["name"]]
        only_after = (case.after_build | case.after_search) if side == "after" else {}
        for n, point in enumerate(case.points):
            row = dict.fromkeys(COLUMNS, "") | {"side": side, "process": process, "method": case.method}
            row["point"] = point_label(point)
            if "error" in found:
                rows.append(row | {"error": found["error"]})
                continue
            measured, slice_ = found["points"][n], slices[case.filters]
            params = {"build": found["build_params"], "search": measured["params"]}
            shown = {part: {k: v for k, v in p.items() if k not in only_after} for part, p in params.items()}
            row["params"] = json.dumps(shown, sort_keys=True, default=str)
            row["recall"] = recall_paper(np.asarray(measured["ids"]), slice_.truth, K)
            row["qps"] = rate(len(slice_.queries), measured["seconds"])
            row["qps_cpu"] = rate(len(slice_.queries), measured["cpu_seconds"])
            row["build_s"] = found["build_s"]
            rows.append(row)
    return rows


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a `core-ab.csv` (strings, as written)."""
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            missing = sorted(set(COLUMNS) - set(reader.fieldnames or []))
    except OSError as error:
        raise BadInput(f"--rows {path}: cannot read ({error.strerror})") from None
    if missing:
        raise BadInput(f"--rows {path}: missing columns {missing}; expected {', '.join(COLUMNS)}")
    return rows


def differences(before: dict[str, Any], after: dict[str, Any], where: str = "") -> list[str]:
    """`name: before X, after Y` for each resolved parameter that differs (nested by part)."""
    lines = []
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name, "(none)"), after.get(name, "(none)")
        if isinstance(a, dict) and isinstance(b, dict):
            lines += differences(a, b, f"{where}{name}.")
        elif a != b:
            lines.append(f"{where}{name}: before {a}, after {b}")
    return lines


@dataclass
class Point:
    """One method and search point: both sides' rows."""

    method: str
    point: str
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {s: [] for s in SIDES})

    def measured(self, side: str, column: str) -> dict[int, float]:
        """Process -> value of the rows that measured something (failed rows left out)."""
        return {int(r["process"]): float(r[column]) for r in self.rows[side] if r[column] != ""}

    def ratios(self, clock: str) -> tuple[float | None, float | None, float | None]:
        """after/before of each process pair that has both: median, min, max."""
        before, after = self.measured("before", clock), self.measured("after", clock)
        return median_span([after[n] / before[n] for n in sorted(before.keys() & after.keys())])

    def problem(self, min_ratio: float, clock: str) -> str | None:
        """Why this point misses the target (None when it holds or its change is declared)."""
        every = self.rows["before"] + self.rows["after"]
        failed = [f"{r['side']} process {r['process']}: {r['error']}" for r in every if r["error"]]
        if failed:
            return f"failed ({failed[0]})"
        absent = [side for side in SIDES if not self.rows[side]]
        if absent:
            return f"no {absent[0]} rows"
        params = {side: sorted({r["params"] for r in self.rows[side]}) for side in SIDES}
        if len(set(params["before"] + params["after"])) > 1:
            found = differences(json.loads(params["before"][0]), json.loads(params["after"][0]))
            return f"parameters differ: {'; '.join(found or ['between the processes of one side'])}"
        case = BY_NAME.get(self.method)
        if case is not None and case.changed:
            return None
        recalls = {side: sorted(set(self.measured(side, "recall").values())) for side in SIDES}
        if len(recalls["before"]) != 1 or recalls["before"] != recalls["after"]:
            return f"recall differs: before {recalls['before']}, after {recalls['after']}"
        ratio = self.ratios(clock)[0]
        if ratio is None:
            return f"no {clock} on one side"
        return f"after/before {ratio:.4f} < {min_ratio}" if ratio < min_ratio else None


def points_of(rows: list[dict[str, Any]]) -> list[Point]:
    points: dict[tuple[str, str], Point] = {}
    for row in rows:
        if row["side"] not in SIDES:
            raise BadInput(f"row side {row['side']!r}: expected before or after")
        key = (row["method"], row["point"])
        points.setdefault(key, Point(*key)).rows[row["side"]].append(row)
    return list(points.values())


def cell(values: list[float], digits: int = 0) -> str:
    """median [min-max] of the measured values ('-' when none)."""
    middle, low, high = median_span(values)
    if middle is None:
        return "-"
    text = f"{middle:,.{digits}f}"
    return text if low == high else f"{text} [{low:,.{digits}f}-{high:,.{digits}f}]"


def judge(rows: list[dict[str, Any]], min_ratio: float, clock: str) -> tuple[list[str], list[str]]:
    """The table (markdown lines) and one line per point that misses the target."""
    lines = [
        f"| method | point | recall before | recall after | {clock} before | {clock} after "
        "| after/before | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    failures = []
    for p in points_of(rows):
        problem = p.problem(min_ratio, clock)
        changed = BY_NAME[p.method].changed if p.method in BY_NAME else None
        recall = {side: cell(list(p.measured(side, "recall").values()), 4) for side in SIDES}
        qps = {side: cell(list(p.measured(side, clock).values())) for side in SIDES}
        middle, low, high = p.ratios(clock)
        ratio = "-" if middle is None or changed else f"{middle:.3f} [{low:.3f}-{high:.3f}]"
        if problem:
            failures.append(f"{p.method} {p.point}: {problem}")
        verdict = problem or (f"changed on purpose: {changed}" if changed else "ok")
        lines.append(
            f"| {p.method} | {p.point} | {recall['before']} | {recall['after']} | {qps['before']} | "
            f"{qps['after']} | {ratio} | {verdict} |"
        )
    return lines, failures


def report(rows: list[dict[str, Any]], min_ratio: float, clock: str) -> int:
    lines, failures = judge(rows, min_ratio, clock)
    print("\n".join(lines))
    for line in failures:
        print(f"outside: {line}")
    total = len(lines) - 2
    print(f"{total - len(failures)} of {total} points within the target (after/before >= {min_ratio} "
          f"by {clock}, equal recall)")  # fmt: skip
    return 1 if failures else 0


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Both sides, alternating, `args.processes` times; every row (also written to the CSV)."""
    cases = [BY_NAME[name] for name in args.methods]
    args.out.mkdir(parents=True, exist_ok=True)
    dataset, labels = exchange_dataset(args.data, args.out / "data")
    if not 1 <= args.queries <= len(dataset.queries):
        raise BadInput(f"--queries {args.queries}: expected 1 to {len(dataset.queries)}")
    slices = filter_slices(dataset, labels, args.selectivity, args.queries)
    for name, s in slices.items():
        print(f"{name}: {s.label} (selectivity {s.achieved:.4f})", file=sys.stderr)
    pythons = {"before": args.before, "after": args.after}
    specs = {side: args.out / f"spec-{side}.json" for side in SIDES}
    for side in SIDES:
        spec = side_spec(side, cases, dataset, labels, slices, args)
        write_text_atomic(specs[side], json.dumps(spec, indent=1, default=str))
    rows: list[dict[str, Any]] = []
    for process in range(1, args.processes + 1):
        for side in SIDES:
            start = time.monotonic()
            print(f"{side} {process}/{args.processes} ({pythons[side]})", file=sys.stderr, flush=True)
            result = run_worker(pythons[side], specs[side], args.out / f"{side}-{process}.json")
            print(f"  {result['package']}: {time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)
            rows += result_rows(side, process, result, slices)
    write_csv_atomic(args.out / "core-ab.csv", rows, COLUMNS)
    return rows


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="the earlier commit's Python (scripts/commit_env.sh makes one)")
    parser.add_argument("--after", default=sys.executable, help="default: this Python (this checkout)")
    parser.add_argument("--processes", type=int, default=3, help="fresh processes per side (3)")
    parser.add_argument("--methods", nargs="+", default=list(BY_NAME), choices=list(BY_NAME), metavar="NAME")
    parser.add_argument("--data", default="arxiv_sample", choices=list(SOURCES))
    parser.add_argument("--selectivity", type=float, default=0.1, help="of every filter (0.1)")
    parser.add_argument("--queries", type=int, default=300, help="queries per method (300)")
    parser.add_argument("--repetitions", type=int, default=5, help="timed repetitions per point (5)")
    parser.add_argument("--min-repetition-s", type=float, default=0.1, help="each at least this long (0.1)")
    parser.add_argument("--min-ratio", type=float, default=0.97, help="after/before QPS at least (0.97)")
    parser.add_argument("--clock", choices=("qps", "qps_cpu"), default="qps", help="wall (qps) or CPU time")
    parser.add_argument("--out", type=Path, default=Path("results/core_ab"), help="default results/core_ab")
    parser.add_argument("--rows", type=Path, help="judge this core-ab.csv again; run nothing")
    args = parser.parse_args(argv)
    if args.rows is None:
        if not args.before:
            raise BadInput("--before PYTHON is required (or --rows CSV)")
        for side in SIDES:
            python = getattr(args, side)
            if not (os.path.isfile(python) and os.access(python, os.X_OK)):
                raise BadInput(f"--{side} {python}: not an executable file")
        if args.processes < 1 or args.repetitions < 1 or args.min_repetition_s < 0:
            raise BadInput("--processes and --repetitions must be >= 1 and --min-repetition-s >= 0")
        if not 0 < args.selectivity <= 1:
            raise BadInput(f"--selectivity {args.selectivity}: expected a fraction in (0, 1]")
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        args = arguments(argv)
        rows = read_rows(args.rows) if args.rows else run(args)
    except (BadInput, FannsBenchError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return report(rows, args.min_ratio, args.clock)


if __name__ == "__main__":
    sys.exit(main())
