"""The `fanns-bench fidelity` subcommand: arguments and printing."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(commands: argparse._SubParsersAction) -> None:
    fidelity = commands.add_parser(
        "fidelity",
        help="run a paper method and the authors' program (built by you) on the same files: "
        "side-by-side recall and QPS (docs/fidelity.md)",
    )
    fidelity.add_argument(
        "method",
        help="ung, serf, dsg, irangegraph, acorn_gamma_ref, acorn_1_ref, nhq_nsw, nhq_kgraph, caps, "
        "filtered_vamana or stitched_vamana",
    )
    fidelity.add_argument(
        "--reference", type=Path, required=True, help="the authors' build folder (or one of its programs)"
    )
    fidelity.add_argument(
        "--data",
        default="arxiv_sample",
        help="arxiv_sample (the shipped sample, default), arxiv_astroph_sample (the previous "
        "astro-ph sample) or synthetic (seeded)",
    )
    fidelity.add_argument(
        "--selectivities",
        type=_fractions,
        default=[0.01, 0.1, 0.5],
        metavar="S[,S...]",
        help="default 0.01,0.1,0.5",
    )
    fidelity.add_argument("--queries", type=int, default=1000, help="queries per selectivity (default 1000)")
    fidelity.add_argument(
        "--builds",
        type=int,
        default=1,
        help="builds per side (default 1): ours with seeds 0..N-1, theirs seeded where their "
        "program takes a seed, run N times where it is randomised; the table shows mean [min-max]",
    )
    fidelity.add_argument(
        "--qps-processes",
        type=int,
        default=3,
        metavar="N",
        help="QPS timings per side (default 3), each in a fresh process, alternating ours and "
        "theirs; the table shows the median [min-max] and the ratio of the medians (each of "
        "theirs runs their program(s) again, which may rebuild their index; ours builds with "
        "seed 0 each time); recall still comes from the builds",
    )
    fidelity.add_argument(
        "--out", type=Path, default=Path("results/fidelity"), help="where files and tables go"
    )
    fidelity.set_defaults(handler=run)


def run(arguments: argparse.Namespace) -> int:
    from fanns_bench.fidelity.compare import markdown_table, run_fidelity

    out = arguments.out / f"{arguments.method}-{arguments.data}"
    rows = run_fidelity(
        arguments.method,
        arguments.reference,
        data=arguments.data,
        selectivities=arguments.selectivities,
        out=out,
        queries=arguments.queries,
        builds=arguments.builds,
        qps_processes=arguments.qps_processes,
    )
    print(markdown_table(rows), end="")
    print(
        f"written: {out / 'fidelity.md'}, {out / 'fidelity.csv'}, {out / 'fidelity-builds.csv'}, "
        f"{out / 'fidelity-qps.csv'} "
        f"(inputs under {out / 'exchange'})"
    )
    return 0


def _fractions(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected comma-separated fractions, e.g. 0.01,0.1,0.5"
        ) from None
    if not values or any(not 0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: every selectivity must lie in (0, 1]")
    return values
