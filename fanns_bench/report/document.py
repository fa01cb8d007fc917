"""The written report: leaderboard, failed/unsupported runs and the published comparison,
as one Markdown document plus a Markdown, LaTeX (and CSV) file per table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fanns_bench.report.files import write_text
from fanns_bench.report.frame import QPS_MEANINGS, machines
from fanns_bench.report.published import (
    comparison_latex,
    comparison_markdown,
    load_published,
    published_comparison,
)
from fanns_bench.report.tables import (
    failures,
    failures_latex,
    failures_markdown,
    leaderboard,
    leaderboard_latex,
    leaderboard_markdown,
)


def write_report(frame: pd.DataFrame, results_dir: Path, out_dir: Path) -> tuple[str, list[Path]]:
    """Write every table into `out_dir`; returns the whole report as Markdown and the paths."""
    board = leaderboard(frame)
    failed = failures(frame)
    comparison = published_comparison(frame, board, load_published())
    sections = {
        "leaderboard": ("Leaderboard", leaderboard_markdown(board), leaderboard_latex(board)),
        "failures": (
            "Failed and unsupported runs",
            failures_markdown(failed),
            failures_latex(failed),
        ),
        "published_comparison": (
            "Published comparison",
            comparison_markdown(comparison),
            comparison_latex(comparison),
        ),
    }
    paths = []
    for stem, (_, markdown, latex) in sections.items():
        paths.append(write_text(out_dir / f"{stem}.md", markdown))
        paths.append(write_text(out_dir / f"{stem}.tex", latex))
    paths.append(write_text(out_dir / "leaderboard.csv", board.to_csv(index=False)))
    parts = [header(frame, results_dir)]
    parts += [f"## {title}\n\n{markdown}" for title, markdown, _ in sections.values()]
    text = "\n".join(parts)
    paths.append(write_text(out_dir / "report.md", text))
    return text, paths


def header(frame: pd.DataFrame, results_dir: Path) -> str:
    """Title, row counts by status, machine and code versions."""
    counts = frame["status"].value_counts().sort_index()
    status = ", ".join(f"{count} {name}" for name, count in counts.items())
    versions = ", ".join(sorted({str(v) for v in frame["fanns_bench_version"].dropna()})) or "?"
    commits = ", ".join(sorted({str(c)[:10] for c in frame["git_commit"].dropna()})) or "?"
    return "\n".join(
        [
            f"# fanns-bench report: {results_dir}",
            "",
            f"- rows: {len(frame)} ({status})",
            f"- machine: {machines(frame)}",
            f"- fanns-bench {versions}, commit {commits}",
            "- recall: recall@k as in the seed paper, sum of hits / sum of min(k, |ground truth|)",
            f"- QPS: {QPS_MEANINGS[frame.attrs.get('qps', 'qps')]}; n_queries / median batch wall time "
            "over the repetitions, at the thread count shown",
            "",
        ]
    )
