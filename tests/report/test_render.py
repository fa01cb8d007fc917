"""Number formatting and the Markdown / LaTeX table renderers."""

import math

from fanns_bench.report.render import (
    DASH,
    fmt_number,
    fmt_recall,
    latex_escape,
    latex_table,
    markdown_table,
)


def test_numbers_have_three_significant_digits_and_a_dash_when_missing():
    assert [fmt_number(v) for v in (12345.6, 999.4, 12.34, 0.01234, 0.0)] == [
        "12,346", "999", "12.3", "0.0123", "0",
    ]  # fmt: skip
    assert fmt_number(math.nan) == DASH and fmt_number(None) == DASH


def test_recall_is_rounded_down_so_it_never_reads_as_reached():
    assert [fmt_recall(v) for v in (0.9996, 0.95, 0.7, 1.0)] == ["0.999", "0.950", "0.700", "1.000"]
    assert fmt_recall(math.nan) == DASH


def test_markdown_escapes_pipes_and_aligns_numbers_right():
    text = markdown_table(["method", "QPS"], [["a|b", "1,000"]], right={1})
    assert text == "| method | QPS |\n| --- | ---: |\n| a\\|b | 1,000 |"


def test_latex_escapes_special_characters():
    assert latex_escape("EM+R_1 & 50% ≥ {x}") == r"EM+R\_1 \& 50\% $\geq$ \{x\}"
    table = latex_table(["a", "b"], [["x_y", DASH]], right={1}, caption="k=10 · 1 thread")
    assert r"\begin{tabular}{lr}" in table
    assert r"x\_y & -- \\" in table
    assert r"\caption{k=10 $\cdot$ 1 thread}" in table
