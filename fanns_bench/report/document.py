"""The written report: workload buckets, leaderboard, failed/unsupported runs and (with
`--compare paper`) the seed paper's claims checked on our results, as one Markdown document
plus a Markdown, LaTeX (and CSV) file per table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fanns_bench.data.dataset_facts import dataset_text
from fanns_bench.report.answers import answers_markdown, noise_markdown, tracebacks_markdown
from fanns_bench.report.claims import Verdict, compare_with_paper, load_claims
from fanns_bench.report.claims_table import claims_section
from fanns_bench.report.files import write_text
from fanns_bench.report.frame import QPS_MEANINGS, machines
from fanns_bench.report.paper_figures import (
    DrawnFigure,
    attach_recall_weights,
    draw_paper_figures,
    figure_numbers,
)
from fanns_bench.report.tables import (
    bucket_summary,
    buckets_latex,
    buckets_markdown,
    failures,
    failures_latex,
    failures_markdown,
    leaderboard,
    leaderboard_latex,
    leaderboard_markdown,
)
from fanns_bench.results.bucket_files import load_buckets
from fanns_bench.results.recompute import dataset_records


def write_report(
    frame: pd.DataFrame, results_dir: Path, out_dir: Path, compare: str | None = None
) -> tuple[str, list[Path]]:
    """Write every table into `out_dir`; returns the whole report as Markdown and the paths.
    `compare="paper"` adds the seed paper's claims, each checked on these results."""
    board = leaderboard(frame)
    failed = failures(frame)
    buckets = bucket_summary(frame, load_buckets(results_dir))
    sections = {
        "buckets": ("Workload buckets", buckets_markdown(buckets), buckets_latex(buckets)),
        "noise": ("Measurement noise and machine load", noise_markdown(frame), ""),
        "leaderboard": ("Leaderboard", leaderboard_markdown(board), leaderboard_latex(board)),
        "answers": (
            "Answer quality: invalid rows, filter violations, short answers",
            answers_markdown(frame),
            "",
        ),
        "failures": (
            "Failed, invalid and unsupported runs",
            failures_markdown(failed) + "\n" + tracebacks_markdown(frame, Path(results_dir)),
            failures_latex(failed),
        ),
    }
    if compare == "paper":
        frame = attach_recall_weights(frame, results_dir)
        verdicts = compare_with_paper(frame)
        roots = [Path.cwd() / "datasets", Path(results_dir).resolve().parent.parent / "datasets"]
        markdown, latex = claims_section(frame, verdicts, roots)
        sections["paper_claims"] = (
            "The seed paper's claims on our data (Iff et al., arXiv:2507.21989v2)",
            markdown,
            latex,
        )
        spec = load_claims()
        drawn = draw_paper_figures(frame, spec, results_dir / "figures" / "paper")
        figures = figures_markdown(drawn, verdicts, spec, results_dir)
        sections["paper_figures"] = ("The paper's figures, ours", figures, "")
    paths = []
    for stem, (_, markdown, latex) in sections.items():
        paths.append(write_text(out_dir / f"{stem}.md", markdown))
        if latex:
            paths.append(write_text(out_dir / f"{stem}.tex", latex))
    paths.append(write_text(out_dir / "leaderboard.csv", board.to_csv(index=False)))
    parts = [header(frame, results_dir)]
    parts += [f"## {title}\n\n{markdown}" for title, markdown, _ in sections.values()]
    text = "\n".join(parts)
    paths.append(write_text(out_dir / "report.md", text))
    return text, paths


def header(frame: pd.DataFrame, results_dir: Path) -> str:
    """Title, row counts by status, dataset(s), machine and code versions."""
    counts = frame["status"].value_counts().sort_index()
    status = ", ".join(f"{count} {name}" for name, count in counts.items())
    versions = ", ".join(sorted({str(v) for v in frame["fanns_bench_version"].dropna()})) or "?"
    commits = ", ".join(sorted({str(c)[:10] for c in frame["git_commit"].dropna()})) or "?"
    return "\n".join(
        [
            f"# fanns-bench report: {results_dir}",
            "",
            f"- rows: {len(frame)} ({status})",
            *[f"- dataset: {line}" for line in dataset_lines(frame, results_dir)],
            f"- machine: {machines(frame)}",
            f"- fanns-bench {versions}, commit {commits}",
            "- recall: recall@k as in the seed paper, sum of hits / sum of min(k, |ground truth|)",
            f"- QPS: {QPS_MEANINGS[frame.attrs.get('qps', 'qps')]}; n_queries / median batch wall time "
            "over the repetitions, at the thread count shown",
            "",
        ]
    )


def dataset_lines(frame: pd.DataFrame, results_dir: Path) -> list[str]:
    """One line per dataset of `frame`: the facts the run recorded beside its ground truth
    (items, model, dimension, archives), else what the rows hold (name, items, dimension)."""
    recorded = {r.get("content_hash"): r["facts"] for r in dataset_records(results_dir) if r.get("facts")}
    columns = [c for c in ("dataset", "dataset_hash", "dataset_count", "dimension") if c in frame]
    if "dataset" not in columns:
        return []
    lines = []
    for values in frame[columns].drop_duplicates().to_dict("records"):  # plain Python values
        facts = recorded.get(values.get("dataset_hash"))
        if facts is None:  # a run before the facts were recorded: what its rows say
            given = {"name": "dataset", "items": "dataset_count", "dimension": "dimension"}
            facts = {fact: values[c] for fact, c in given.items() if c in values and not pd.isna(values[c])}
        lines.append(dataset_text(facts))
    return list(dict.fromkeys(lines))


def figures_markdown(drawn: list[DrawnFigure], verdicts: list[Verdict], spec: dict, results_dir: Path) -> str:
    """Per paper figure: our figure's file, each panel's ranking (QPS at recall 0.95, or build
    time), the paper's claims about that figure with their verdicts, and what was left out."""
    if not drawn:
        lines = ["No rows of the paper's experiments (`paper_fig23_*`, `paper_fig25_*`, `paper_medium`, "
                 "`paper_k*`, `paper_selectivity*`) here, so none of its figures is drawn."]  # fmt: skip
    else:
        lines = [
            "Paths are relative to the results directory. Rankings: best QPS at recall@k >= 0.95 per "
            "method (pooled over the selectivity buckets where the paper pools its query set); the "
            "paper prints no numbers for these figures, so its claims about them are the comparison.",
        ]
    for figure in drawn:
        png = next((p for p in figure.paths if p.suffix == ".png"), figure.paths[0])
        lines += ["", f"### Fig. {figure.figure} ({figure.dataset}): `{png.relative_to(results_dir)}`", ""]
        lines += [f"- {panel}: {order}" for panel, order in figure.rankings]
        numbers = figure_numbers(figure.figure)
        about = [v for v in verdicts if numbers & figure_numbers(v.source)]
        lines += [f'- paper, {v.source}: "{v.claim}" -> **{v.verdict}** ({v.evidence})' for v in about]
        lines += [f"- left out: {item}" for item in figure.left_out]
    not_drawn = spec.get("figures_not_drawn", [])
    if not_drawn:
        lines += ["", "Not drawn:"] + [f"- Fig. {item['figure']}: {item['why']}" for item in not_drawn]
    return "\n".join(lines) + "\n"
