"""The recommendation as text: one line per rule, one indented line per bucket behind it."""

from __future__ import annotations

from fanns_bench.recommend.choose import Candidate, Choice
from fanns_bench.recommend.policy import params_text
from fanns_bench.recommend.rules import Rule


def rule_lines(rules: list[Rule], recall: float) -> list[str]:
    """Per filter type its rules ("EM, selectivity <= 0.0316: exact"), each followed by its
    buckets' figures, runner-up and whether the margin beats the noise."""
    lines: list[str] = []
    for filter_type in dict.fromkeys(r.filter_type for r in rules):
        lines.append(f"{filter_type}:")
        for rule in (r for r in rules if r.filter_type == filter_type):
            lines.append(f"  {range_text(rule)}: {configuration(rule.best)}")
            lines += [f"    {bucket_line(choice, recall)}" for choice in rule.choices]
    choices = [c for r in rules for c in r.choices if c.runner_up is not None and c.reached]
    tied = [c for c in choices if c.tied]
    if choices:
        lines.append(
            f"within the noise (tied with the runner-up): {len(tied)} of {len(choices)} buckets "
            "with a runner-up"
            + (": " + ", ".join(f"{c.filter_type} {c.bucket:g}" for c in tied) if tied else "")
        )
    return lines


def range_text(rule: Rule) -> str:
    low, high = rule.min_selectivity, rule.max_selectivity
    if low <= 0 and high >= 1:
        return "every selectivity"
    if low <= 0:
        return f"selectivity <= {high:.3g}"
    if high >= 1:
        return f"selectivity > {low:.3g}"
    return f"selectivity {low:.3g}-{high:.3g}"


def configuration(candidate: Candidate) -> str:
    """`method build {...} search {...}` (empty parameter sets left out)."""
    parts = [candidate.method]
    if candidate.build:
        parts.append(f"build {params_text(candidate.build)}")
    if candidate.search:
        parts.append(f"search {params_text(candidate.search)}")
    return " ".join(parts)


def figures(candidate: Candidate) -> str:
    return (
        f"{candidate.qps:,.0f} QPS [{candidate.qps_low:,.0f}-{candidate.qps_high:,.0f}], "
        f"recall {candidate.recall:.3f}"
        + (f" (bound {candidate.recall_low:.3f})" if candidate.recall_low < candidate.recall else "")
    )


def bucket_line(choice: Choice, recall: float) -> str:
    """One bucket: the winner's figures, then the runner-up and the verdict on the margin."""
    text = f"bucket {choice.bucket:g}: {figures(choice.best)}"
    if not choice.reached:
        text += f" (no method within the limits reaches recall {recall:g}: the highest recall)"
    elif not choice.margin_kept:
        text += (
            f" (recall bound {choice.best.recall_low:.3f}: none keeps the margin, the fastest at the recall)"
        )
    if choice.reached and choice.runner_up is None:
        text += "; no runner-up reaches the target"
    elif choice.reached and choice.runner_up is not None:
        verdict = (
            f"tied: within the noise ({choice.noise}; {choice.margin:.2f}x)"
            if choice.tied
            else f"{choice.margin:.2f}x, beyond the measured noise"
        )
        text += f"; runner-up {configuration(choice.runner_up)} {figures(choice.runner_up)}: {verdict}"
    if choice.excluded:
        text += f"; over the limits: {', '.join(choice.excluded)}"
    return text
