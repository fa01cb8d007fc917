"""Stability benchmark (issue 16): run one experiment twice into two fresh results folders and
compare them with `fanns-bench compare`, optionally with local CPU hogs during the second run.

Without hogs it checks the quiet-machine targets (point wall-QPS ratio B/A within [0.9, 1.1] from
the 5th to the 95th percentile, recall identical on every deterministic point, no leaderboard rank
change outside ties, no paper-claim verdict change); with `--hogs N` (N busy-loop processes on
this machine, stopped at the end) the loaded targets (CPU-time QPS ratio within [0.85, 1.15],
recall identical on every deterministic point, at least 90 % of the points whose wall QPS moved
by more than 20 % flagged noisy). The compare output also counts the points flagged by the
machine's drift between a job's rounds, and those outside the machine probe's band (recorded only), in
each run and among the points that moved. Exits with the compare command's status (0 within the targets,
1 outside, 2 bad input), or 2 when a run fails to start.

`--alternate` takes the two runs method by method, A then B (`method=[m]` into each folder,
the runner resuming there), and with `runner.processes` P > 1 process by process within each
method (`runner.stop_after_process=n` for n = 1..P: A's n-th process of the method's jobs, then
B's), so both sample the host over the same minutes: on a VM whose host speeds up or slows down
by 4-20 % between back-to-back runs, the sequential pair measures the host; the alternating
pair measures the harness. (A job's processes differ by ~8 % among themselves as well, but that
is each process's own draw: A's and B's n-th processes a minute apart correlated by 0.19, README
"Methodology"; only more processes average it.) Each run's
rows are the same as a whole run's (the same config, keys and methodology), except that a
job's processes follow each other (with the other run's between them) instead of spreading
over the whole sweep.

Usage: python scripts/bench_stability.py [--experiment paper_fig23_em_scaled | --quick]
       [--alternate] [--hogs N] [--hog-limit-s 3600] [--out DIR] [hydra overrides ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path

from fanns_bench.cpu_hogs import cpu_hogs
from fanns_bench.errors import ConfigError
from fanns_bench.runner import exit_codes

DEFAULT_EXPERIMENT = "paper_fig23_em_scaled"
QUICK_EXPERIMENT = "smoke"
QUIET_TARGETS = ["--qps-band", "0.9,1.1", "--min-recall-agreement", "1", "--max-rank-changes", "0",
                 "--max-verdict-changes", "0"]  # fmt: skip
LOADED_TARGETS = ["--cpu-qps-band", "0.85,1.15", "--min-recall-agreement", "1", "--min-noisy-flagged", "0.9"]
RUN_OK = (exit_codes.OK, exit_codes.FAILURES)  # FAILURES: its rows are still compared (status changes)


def fanns_bench(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "fanns_bench.cli", *arguments]


def run_experiment(experiment: str, results: Path, overrides: list[str]) -> int:
    """One `fanns-bench run` into `results`; its exit status."""
    command = fanns_bench("run", f"experiment={experiment}", f"paths.results={results}", *overrides)
    print(f"$ fanns-bench {' '.join(command[3:])}", flush=True)
    start = time.monotonic()
    status = subprocess.call(command)
    print(f"run into {results}: exit {status}, {time.monotonic() - start:.0f} s", flush=True)
    return status


def alternation(experiment: str, overrides: list[str]) -> list[list[str]]:
    """The parts `--alternate` takes A then B: each method the experiment runs with these
    overrides, in its order, and within it each of its `runner.processes` processes."""
    from fanns_bench.configs import compose

    config = compose([f"experiment={experiment}", *overrides])
    processes = int((config.get("runner") or {}).get("processes") or 1)
    steps = [[f"runner.stop_after_process={n}"] for n in range(1, processes + 1)] if processes > 1 else [[]]
    return [[f"method=[{m}]", *step] for m in config["method"] for step in steps]


def main() -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--experiment", default=DEFAULT_EXPERIMENT, help=f"default {DEFAULT_EXPERIMENT}")
    parser.add_argument("--quick", action="store_true", help=f"the {QUICK_EXPERIMENT} experiment (seconds)")
    parser.add_argument(
        "--alternate",
        action="store_true",
        help="the two runs method by method (and process by process), A then B",
    )
    parser.add_argument("--hogs", type=int, default=0, help="CPU hog processes during the second run")
    parser.add_argument("--hog-limit-s", type=float, default=3600.0, help="hard limit of each hog (s)")
    parser.add_argument("--out", type=Path, help="default results/stability/<experiment>-<UTC time>")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for both runs")
    args = parser.parse_args()
    if args.hogs < 0 or args.hog_limit_s <= 0:
        parser.error("--hogs must be >= 0 and --hog-limit-s > 0")
    experiment = QUICK_EXPERIMENT if args.quick else args.experiment
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or Path("results") / "stability" / f"{experiment}-{stamp}"
    if out.exists() and any(out.iterdir()):
        parser.error(f"--out {out}: not empty; the two runs need fresh folders")
    first, second = out / "a", out / "b"
    try:  # the runs' extra overrides: one whole run, or one per method and process (--alternate)
        parts = alternation(experiment, args.overrides) if args.alternate else [[]]
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for part in parts:
        for folder, name in ((first, "first"), (second, "second")):
            load = (
                cpu_hogs(args.hogs, args.hog_limit_s) if args.hogs and folder is second else nullcontext([])
            )
            with load as hogs:
                if hogs:
                    pids = ", ".join(str(h.pid) for h in hogs)
                    print(f"{len(hogs)} CPU hog(s) running (pids {pids})", flush=True)
                status = run_experiment(experiment, folder, [*args.overrides, *part])
            if hogs:
                print(f"{len(hogs)} CPU hog(s) stopped", flush=True)
            if status not in RUN_OK:
                print(f"error: the {name} run of {experiment} failed; see its output above", file=sys.stderr)
                return 2
    targets = LOADED_TARGETS if args.hogs else QUIET_TARGETS
    command = fanns_bench("compare", str(first), str(second), *targets)
    print(f"$ fanns-bench {' '.join(command[3:])}", flush=True)
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main())
