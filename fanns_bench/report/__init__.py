"""Reporting: Pareto frontiers, figures and tables, read from a results directory alone.

The entry points import their modules when called: the runner reads `report.frame` and
friends, and importing this package must not pull in matplotlib for it (every job process
would pay for it)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["plot_results", "report_results"]


def plot_results(results_dir: Path, out_dir: Path | None = None, qps: str = "qps") -> list[Path]:
    """Every figure (PNG + PDF + caption) for `results_dir`, into `out_dir`
    (default `<results_dir>/figures`); returns the paths written. `qps`: which throughput
    (`qps` end to end, or `qps_given_filter`). The seed paper's figures are drawn once, by
    `report_results(..., compare="paper")`, which also ranks their panels."""
    from fanns_bench.report.frame import choose_qps, load_frame
    from fanns_bench.report.plots import (
        plot_build_resources,
        plot_qps_vs_selectivity,
        plot_recall_qps,
        write_excluded_list,
    )
    from fanns_bench.report.styles import method_styles
    from fanns_bench.runner.progress import steps

    out_dir = Path(out_dir) if out_dir is not None else Path(results_dir) / "figures"
    figures = {
        "recall vs QPS": plot_recall_qps,
        "QPS vs selectivity": plot_qps_vs_selectivity,
        "build resources": plot_build_resources,
    }
    paths: list[Path] = []
    for step in steps("plot", ["loading rows", *figures]):
        if step == "loading rows":
            frame = choose_qps(load_frame(results_dir), qps)
            styles = method_styles(frame["method"])
        else:
            paths += figures[step](frame, out_dir, styles)
    paths.append(write_excluded_list(frame, out_dir))
    return paths


def report_results(
    results_dir: Path, out_dir: Path | None = None, qps: str = "qps", compare: str | None = None
) -> tuple[str, list[Path]]:
    """The Markdown report for `results_dir` and the table files (Markdown, LaTeX, CSV) written
    into `out_dir` (default `<results_dir>/tables`); `compare="paper"` adds the seed paper's
    claims checked on these results."""
    from fanns_bench.report.document import write_report
    from fanns_bench.report.frame import choose_qps, load_frame

    frame = choose_qps(load_frame(results_dir), qps)
    out_dir = Path(out_dir) if out_dir is not None else Path(results_dir) / "tables"
    return write_report(frame, Path(results_dir), out_dir, compare)
