"""Plain-text renderers: a table (headers + string rows) as Markdown or LaTeX (booktabs)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

DASH = "—"
"""Shown where a value does not exist (e.g. recall never reached)."""

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    DASH: "--", "≥": r"$\geq$", "≤": r"$\leq$", "≈": r"$\approx$", "·": r"$\cdot$",
    "×": r"$\times$",
}  # fmt: skip
_LATEX_PATTERN = re.compile("|".join(re.escape(c) for c in _LATEX_SPECIAL))


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    """A GitHub-flavoured Markdown table; columns in `right` are right-aligned."""
    rule = ["---:" if i in right else "---" for i in range(len(headers))]
    lines = [headers, rule, *rows]
    return "\n".join("| " + " | ".join(_md_cell(c) for c in line) + " |" for line in lines)


def text_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int], indent: str = "  "
) -> str:
    """A fixed-width plain-text table for a terminal; columns in `right` are right-aligned."""
    lines = [list(map(str, headers)), *[list(map(str, row)) for row in rows]]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    text = []
    for line in lines:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        text.append((indent + "  ".join(cells)).rstrip())
    return "\n".join(text)


def latex_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int], caption: str) -> str:
    """A booktabs `table` environment with `caption`; every cell is escaped."""
    spec = "".join("r" if i in right else "l" for i in range(len(headers)))
    body = [" & ".join(latex_escape(c) for c in row) + r" \\" for row in rows]
    return "\n".join(
        [
            r"\begin{table}[htbp]",
            r"\centering\small",
            rf"\caption{{{latex_escape(caption)}}}",
            rf"\begin{{tabular}}{{{spec}}}",
            r"\toprule",
            " & ".join(latex_escape(h) for h in headers) + r" \\",
            r"\midrule",
            *body,
            r"\bottomrule",
            r"\end{tabular}",
            r"\end{table}",
        ]
    )


def latex_escape(text: str) -> str:
    return _LATEX_PATTERN.sub(lambda m: _LATEX_SPECIAL[m.group()], str(text))


def _md_cell(text: str) -> str:
    return str(text).replace("|", r"\|").replace("\n", " ")


def fmt_number(value: float | None) -> str:
    """Three significant digits, thousands separated from 1000 up; DASH for NaN/None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    value = float(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value != 0 else "0"


def fmt_recall(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    """Three decimals, rounded down, so 0.9996 does not read as a perfect 1.000."""
    return f"{math.floor(float(value) * 1000 + 1e-9) / 1000:.3f}"
