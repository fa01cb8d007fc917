"""The report's table of the seed paper's claims: verdict, robustness, evidence, the form's
history, and the data and hardware they were measured on."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from fanns_bench.report.claims import FAILS, HOLDS, UNTESTABLE, Verdict, load_claims, roster_note
from fanns_bench.report.frame import machines
from fanns_bench.report.quality import flag
from fanns_bench.report.render import latex_table, markdown_table

CLAIM_HEADERS = ["claim", "source", "verdict", "robustness", "on our data", "form history"]
ROBUSTNESS_NOTE = (
    "Robustness: the claim re-checked on {n} seeded bootstrap resamples (seed {seed}) of each query "
    "set's queries (recall), of each point's timed repetitions (QPS) and, where rows carry "
    "build_repeat, of the repeated builds; 'unstable' gives how the resamples split."
)


def claims_section(
    frame: pd.DataFrame, verdicts: list[Verdict], dataset_roots: list[Path], resamples: int = 5, seed: int = 0
) -> tuple[str, str]:
    """(Markdown, LaTeX) of the claims table with its summary, data, hardware and robustness note."""
    rows = [[v.claim, v.source, v.verdict, v.robustness, v.evidence, v.history] for v in verdicts]
    counts = [f"{sum(v.verdict == name for v in verdicts)} {name}" for name in (HOLDS, FAILS, UNTESTABLE)]
    summary = ", ".join(counts)
    intro = (
        f"{summary}. Data: ours is {measured_on(frame, dataset_roots)}; the paper's medium runs used "
        "100,000 x 4096 arXiv abstracts embedded with Stella, its large runs 2,735,264 x 4096. "
        f"Hardware: ours is {machines(frame)}; the paper's medium runs used an Intel Core i7-1165G7, "
        "its large runs 2x Xeon Gold 6154, so only orderings and ratios are compared, never absolute "
        f"QPS. Roster ranked (the paper's methods, one variant each): "
        f"{roster_note(load_claims(), set(frame['method']))}. "
        f"{ROBUSTNESS_NOTE.format(n=resamples, seed=seed)}{noisy_note(frame)}"
    )
    markdown = f"{intro}\n\n" + markdown_table(CLAIM_HEADERS, rows, set())
    caption = f"The seed paper's claims checked on our results. {intro}"
    latex = latex_table(CLAIM_HEADERS, rows, set(), caption)
    return markdown, latex


def measured_on(frame: pd.DataFrame, dataset_roots: list[Path]) -> str:
    """Each dataset of `frame`: items x dimension (from the rows), embedding model and source
    (from the dataset's manifest under one of `dataset_roots`, when found)."""
    parts = []
    name_column = "dataset_name" if "dataset_name" in frame else "dataset"
    for name, rows in frame.groupby(name_column, sort=True):
        text = f"{name} ({int(rows['dataset_count'].max()):,} x {int(rows['dimension'].max())}"
        manifest = _manifest(str(name), dataset_roots)
        model = manifest.get("embedding_model")
        source = manifest.get("source")
        source = source.get("file") if isinstance(source, dict) else source
        text += f", {model}" if model else ", model not recorded"
        text += f", from {source})" if source else ", source not recorded)"
        parts.append(text)
    return "; ".join(parts) or "no rows"


def _manifest(name: str, roots: list[Path]) -> dict:
    for root in roots:
        for candidate in (f"{name}.built/manifest.json", f"{name}/manifest.json", f"{name}/sample.json"):
            path = Path(root) / candidate
            if path.is_file():
                try:
                    return json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
    return {}


def noisy_note(frame: pd.DataFrame) -> str:
    """How many ok points carry the `noisy` flag (issue 16), when the rows record it."""
    if "noisy" not in frame:
        return ""
    ok = frame[frame["status"] == "ok"]
    flagged = int(flag(ok, "noisy").sum())
    return f" {flagged} of {len(ok)} ok points are flagged noisy (their repetitions disagree)."
