"""The `fanns-bench recommend` subcommand: arguments, selection of the rows, printing."""

from __future__ import annotations

import argparse
from pathlib import Path

PAIRED_ROUNDS = 15
"""`--paired`'s rounds per cell by default (`recommend/paired.py`)."""

PAIRED_LIMIT_S = 3600.0
"""`--paired`'s limit on one step by default: the runner's default limit of one job
(`runner.plan.DEFAULT_TIMEOUT_S`, a build and its searches)."""


def add_parser(commands: argparse._SubParsersAction) -> None:
    recommend = commands.add_parser(
        "recommend",
        help="per filter type and selectivity range, the method and parameters that reach a recall "
        "fastest within memory and build-time limits; --out writes the policy the router method loads",
    )
    recommend.add_argument("results_dir", type=Path)
    recommend.add_argument("--recall", type=_fraction, default=0.9, help="target recall (default 0.9)")
    recommend.add_argument(
        "--recall-z",
        type=_non_negative,
        default=1.0,
        metavar="Z",
        help="a configuration reaches the recall when recall - Z x the standard error of its "
        "recall does (over the queries, or the distinct predicates where they share a few; default 1; "
        "0: the recall itself): a margin for a policy applied to other queries",
    )
    recommend.add_argument(
        "--memory-gb",
        type=_positive,
        metavar="X",
        help="leave out configurations needing more than X GB (10^9 bytes): the larger of "
        "index_bytes and search_peak_rss_bytes",
    )
    recommend.add_argument(
        "--build-s", type=_positive, metavar="Y", help="leave out configurations whose build took over Y s"
    )
    recommend.add_argument("--dataset", help="only rows of this dataset")
    recommend.add_argument("--k", type=int, help="only rows at this k")
    recommend.add_argument("--threads", type=int, help="only rows at this query thread count")
    recommend.add_argument(
        "--out", type=Path, help="write the policy (YAML) here; needs one dataset, k and thread count"
    )
    recommend.add_argument(
        "--grade",
        action="store_true",
        help="also grade the router's rows (a held-out run): per cell against the best single method, "
        "every method's throughput over the whole workload, and a verdict per target (exit 1 when one "
        "does not hold)",
    )
    recommend.add_argument(
        "--learned",
        type=Path,
        metavar="DIR",
        help="with --grade: the learning run's results folder; adds (b) against the best single "
        "configuration whose recall bound (--recall-z) reached the recall on that draw too",
    )
    recommend.add_argument(
        "--figure",
        type=Path,
        metavar="PNG",
        help="with --grade: draw the router's QPS beside each cell's best single method here",
    )
    recommend.add_argument(
        "--paired",
        action="store_true",
        help="measure each cell's finalists again side by side: built in this process, timed in "
        "alternating rounds on one CPU, and choose (or, with --grade, grade target (b): the router "
        "beside each cell's fastest single configurations) on those paired figures (written beside "
        "DIR as DIR-paired.parquet; builds every configuration: minutes)",
    )
    recommend.add_argument(
        "--paired-rounds",
        type=_count,
        default=PAIRED_ROUNDS,
        metavar="R",
        help="with --paired: rounds per cell, one timed repetition of each configuration a round "
        f"(default {PAIRED_ROUNDS})",
    )
    recommend.add_argument(
        "--paired-limit",
        type=_positive,
        default=PAIRED_LIMIT_S,
        metavar="S",
        help="with --paired: seconds one step may take (a build, a configuration's calibration or "
        f"round); past it the command stops with exit status 2, naming the step (default {PAIRED_LIMIT_S:g}, "
        "the runner's default job limit)",
    )
    recommend.add_argument(
        "--runoff",
        type=Path,
        metavar="FILE",
        help="write the arguments of a run that measures each cell's finalists again (the fastest "
        "configurations within 25%% of the cell's best, at most 3; with --grade, the router and its "
        "pick too) in fresh processes, into DIR-runoff: fanns-bench run @FILE, then recommend that folder",
    )
    recommend.add_argument(
        "--runoff-processes",
        type=_count,
        default=5,
        metavar="P",
        help="fresh processes per job in the runoff (default 5; 3 timed repetitions in each)",
    )
    recommend.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    from fanns_bench.errors import ResultsError
    from fanns_bench.recommend.choose import Limits, choose
    from fanns_bench.recommend.evaluate import admitted_on, grade_lines, row_commits, verdicts
    from fanns_bench.recommend.figure import draw_grades
    from fanns_bench.recommend.policy import write_policy
    from fanns_bench.recommend.rules import merge, policy_of
    from fanns_bench.recommend.text import rule_lines
    from fanns_bench.report.frame import choose_qps, load_frame, threads_label
    from fanns_bench.report.quality import with_qps_bounds

    frame = with_qps_bounds(choose_qps(load_frame(arguments.results_dir), "qps"))
    frame = _selected(frame, arguments)
    limits = Limits(
        None if arguments.memory_gb is None else arguments.memory_gb * 1e9,
        arguments.build_s,
    )
    if arguments.figure is not None and not arguments.grade:
        raise ResultsError("--figure draws the --grade comparison: add --grade")
    if arguments.learned is not None and not arguments.grade:
        raise ResultsError("--learned adds to the --grade comparison: add --grade")
    if arguments.paired and arguments.runoff is not None:
        raise ResultsError("--paired measures the finalists here, --runoff in fresh processes: pick one")
    learning = load_frame(arguments.learned) if arguments.learned is not None else None
    admitted = None if learning is None else admitted_on(learning, arguments.recall, arguments.recall_z)
    margin = (
        f" (lower bound: recall - {arguments.recall_z:g} x its standard error)" if arguments.recall_z else ""
    )
    print(
        f"recommend: {arguments.results_dir}; recall >= {arguments.recall:g}{margin}; "
        f"limits: {limits.describe()}; QPS end to end [slowest-fastest repetition]"
    )
    groups = list(frame.groupby(["dataset", "k", "threads"], sort=True))
    one_combination = {
        "--out": arguments.out,
        "--figure": arguments.figure,
        "--runoff": arguments.runoff,
        "--paired": arguments.paired or None,
    }
    for flag, value in one_combination.items():
        if value is not None and len(groups) != 1:  # each writes one file of one combination
            names = "; ".join(f"{d} k={k} threads={t}" for (d, k, t), _ in groups)
            raise ResultsError(
                f"{flag}: the rows hold {len(groups)} (dataset, k, threads) combinations ({names}); "
                "pick one with --dataset, --k and --threads"
            )
    rules, failed, commits = [], False, ()
    for (dataset, k, threads), rows in groups:
        if arguments.paired and not arguments.grade:
            rows = _paired_choice(rows, arguments, limits)
        rules, commits = merge(choose(rows, arguments.recall, limits, arguments.recall_z)), row_commits(rows)
        title = f"{dataset} · k={k} · {threads_label(int(threads))}"
        print(f"\n{title}")
        lines = rule_lines(rules, arguments.recall) or ["no bucket has a usable row within the limits"]
        print("\n".join(lines))
        drawn, how, spread = rows, "", "repetition"
        if arguments.grade:
            print("\n" + "\n".join(grade_lines(rows, arguments.recall, admitted=admitted)))
            targets = verdicts(rows, arguments.recall)
            if arguments.paired:
                verdict, drawn = _paired(rows, arguments, admitted, _matching(learning, dataset, k, threads))
                targets = [v for v in targets if not v.target.startswith("(b)")] + [verdict]
                how = (
                    f"The router and each cell's contenders: medians of {arguments.paired_rounds} paired "
                    "rounds in one process (bars: slowest to fastest round); the dashed line: "
                    "separate processes."
                )
                spread = "round"
            failed |= any(not v.holds for v in targets)
        if arguments.figure is not None:
            path = draw_grades(
                drawn, arguments.recall, arguments.figure, title, how=how, workload_rows=rows, spread=spread
            )
            print(f"figure: {path}")
        if arguments.runoff is not None:
            print("\n" + _write_runoff(rows, arguments, limits))
    if arguments.out is None:
        return 1 if failed else 0
    if not rules:
        raise ResultsError("--out: no bucket has a usable row within the limits; no policy written")
    limit_values = {"memory_gb": arguments.memory_gb, "build_s": arguments.build_s}
    policy = policy_of(rules, arguments.recall, str(arguments.results_dir), limit_values, commits)
    try:
        header = (
            f"written by fanns-bench recommend --recall {arguments.recall:g} "
            f"--recall-z {arguments.recall_z:g} (README: 'Recommend')"
        )
        write_policy(policy, arguments.out, header=header)
    except OSError as error:
        why = error.strerror or error
        raise ResultsError(f"--out {arguments.out}: cannot write the policy ({why})") from None
    print(f"\npolicy written: {arguments.out}")
    if not any(policy.shapes.values()):
        print(
            "note: these rows do not record filter_shapes (results before issue 21), so the router "
            "cannot tell a query's filter type with this policy; rerun the sweep to record them"
        )
    return 1 if failed else 0


def _matching(frame, dataset, k, threads):
    """The rows of `frame` (or None) of one (dataset, k, threads) combination."""
    if frame is None:
        return None
    return frame[(frame["dataset"] == dataset) & (frame["k"] == k) & (frame["threads"] == threads)]


def _paired(rows, arguments: argparse.Namespace, admitted, learning=None):
    """Measure the paired grade (`paired.py`), write its table, print it (with `learning`, the
    learning draw's rows: what it measured of each hindsight cell's best); (its verdict, the
    rows with the paired figures standing for those of the configurations it measured)."""
    from fanns_bench.recommend import paired
    from fanns_bench.recommend.evaluate import grade_cells

    table, path = _paired_table(rows, arguments, paired.contenders(rows, arguments.recall, admitted))
    grades = grade_cells(rows, arguments.recall)
    lost = tuple(f"{g.filter_type} {g.bucket:g}" for g in grades if g.reachable and not g.reached)
    lines, verdict = paired.paired_lines(
        table,
        arguments.recall,
        learned=admitted is not None,
        lost=lost,
        learning=learning,
        recall_z=arguments.recall_z,
    )
    print(
        "\n" + "\n".join(lines) + f"\npaired table: {path}\n(with --paired, target (b) is graded on the "
        "paired rounds; the (b) line above compares figures of separate processes)"
    )
    return verdict, paired.with_paired_figures(rows, table)


def _paired_choice(rows, arguments: argparse.Namespace, limits):
    """The rows a paired policy chooses from (`paired.with_paired_figures`): each cell's
    finalists measured side by side; prints where their figures come from."""
    from fanns_bench.recommend import paired

    cells = paired.finalist_cells(rows, arguments.recall, limits, arguments.recall_z)
    if not cells:
        print("paired: no cell has two finalists to measure side by side; the rows' own figures")
        return rows
    table, path = _paired_table(rows, arguments, cells)
    print(
        f"paired: {len(cells)} cells' finalists measured side by side in one process, "
        f"{arguments.paired_rounds} alternating rounds: their QPS below is the rounds' median "
        f"[slowest-fastest round]; table: {path}"
    )
    return paired.with_paired_figures(rows, table)


def _paired_table(rows, arguments: argparse.Namespace, cells):
    """Build and time `cells` (`paired.measure`) on the folder's own dataset and workload;
    (the table, the path it was written to)."""
    import sys

    from fanns_bench.recommend import paired

    digest, k = paired.check_one_combination(rows, arguments.results_dir)
    context = paired.run_context(arguments.results_dir, digest)

    def progress(text: str) -> None:
        print(f"paired: {text}", file=sys.stderr, flush=True)

    from fanns_bench.recommend.watchdog import Watchdog

    watchdog = Watchdog(arguments.paired_limit, command="fanns-bench recommend --paired: ")
    with paired.built(cells, context, progress, watchdog) as methods:
        table = paired.measure(cells, context, methods, k, arguments.paired_rounds, progress, watchdog)
    return table, paired.write_table(table, paired.table_path(arguments.results_dir))


def _write_runoff(rows, arguments: argparse.Namespace, limits) -> str:
    """Write the runoff's arguments; the lines saying what they measure and how to run them."""
    from fanns_bench.errors import ResultsError
    from fanns_bench.recommend.choose import CELL_KEYS
    from fanns_bench.recommend.runoff import finalists, runoff_arguments, runoff_dir, write_arguments

    chosen = finalists(rows, arguments.recall, limits, arguments.recall_z, grade=arguments.grade)
    command = runoff_arguments(rows, chosen, arguments.results_dir, arguments.runoff_processes)
    what = "grade" if arguments.grade else "policy"
    header = (
        f"the runoff of {arguments.results_dir} ({what}): written by fanns-bench recommend --runoff\n"
        f"run: fanns-bench run @{arguments.runoff}"
    )
    try:
        write_arguments(command, arguments.runoff, header)
    except OSError as error:
        why = error.strerror or error
        raise ResultsError(f"--runoff {arguments.runoff}: cannot write the arguments ({why})") from None
    cells = chosen.groupby(CELL_KEYS).ngroups
    methods = ", ".join(sorted(set(chosen["method"])))
    return (
        f"runoff: {len(chosen)} rows in {cells} cells ({methods}) to measure "
        f"again in {arguments.runoff_processes} fresh processes each; arguments written: {arguments.runoff}\n"
        f"  fanns-bench run @{arguments.runoff}\n"
        f"  fanns-bench recommend {runoff_dir(arguments.results_dir)} --recall {arguments.recall:g} "
        + ("--grade" if arguments.grade else f"--recall-z {arguments.recall_z:g} --out POLICY")
    )


def _selected(frame, arguments: argparse.Namespace):
    from fanns_bench.errors import ResultsError

    chosen = frame
    if arguments.dataset is not None:
        named = (chosen["dataset"] == arguments.dataset) | (chosen["dataset_name"] == arguments.dataset)
        chosen = chosen[named]
    if arguments.k is not None:
        chosen = chosen[chosen["k"] == arguments.k]
    if arguments.threads is not None:
        chosen = chosen[chosen["threads"] == arguments.threads]
    if chosen.empty:
        raise ResultsError(
            f"{arguments.results_dir}: no rows with dataset={arguments.dataset}, k={arguments.k}, "
            f"threads={arguments.threads} (None: any)"
        )
    return chosen


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected 1 or more")
    return value


def _fraction(text: str) -> float:
    value = _float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a recall in (0, 1]")
    return value


def _positive(text: str) -> float:
    value = _float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive number")
    return value


def _non_negative(text: str) -> float:
    value = _float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number >= 0")
    return value


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number") from None
