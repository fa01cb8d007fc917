"""Bucket decisions merged into rules: neighbouring buckets of a filter type whose winner is
the same configuration become one selectivity range, and the rules make a `Policy`.

A range ends halfway (geometrically) between its last bucket and the next one, so a query
between two measured buckets goes to the nearer one's choice; the last range covers up to 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fanns_bench.recommend.choose import Candidate, Choice
from fanns_bench.recommend.policy import Policy, Route


@dataclass(frozen=True)
class Rule:
    """Neighbouring buckets of one filter type with the same winning configuration."""

    filter_type: str
    choices: tuple[Choice, ...]  # by increasing bucket
    min_selectivity: float
    max_selectivity: float

    @property
    def best(self) -> Candidate:
        return self.choices[0].best

    @property
    def buckets(self) -> tuple[float, ...]:
        return tuple(c.bucket for c in self.choices)


def merge(choices: list[Choice]) -> list[Rule]:
    """Rules per filter type (filter types sorted), each covering consecutive buckets."""
    rules = []
    for filter_type in sorted({c.filter_type for c in choices}):
        ordered = sorted((c for c in choices if c.filter_type == filter_type), key=lambda c: c.bucket)
        runs: list[list[Choice]] = []
        for choice in ordered:
            if runs and runs[-1][-1].best.key == choice.best.key:
                runs[-1].append(choice)
            else:
                runs.append([choice])
        low = 0.0
        for i, run in enumerate(runs):
            high = math.sqrt(run[-1].bucket * runs[i + 1][0].bucket) if i + 1 < len(runs) else 1.0
            rules.append(Rule(filter_type, tuple(run), low, high))
            low = high
    return rules


def policy_of(
    rules: list[Rule],
    recall: float,
    source: str,
    limits: dict[str, float | None],
    commits: tuple[str, ...] = (),
) -> Policy:
    """The policy that applies `rules`; a filter type's predicate forms are those its rows
    recorded (none where the results predate `filter_shapes`); `commits`: the rows' code."""
    routes: dict[str, list[Route]] = {}
    shapes: dict[str, set[str]] = {}
    for rule in rules:
        best = rule.best
        route = Route(rule.max_selectivity, best.name, best.build, best.search, rule.buckets)
        routes.setdefault(rule.filter_type, []).append(route)
        shapes.setdefault(rule.filter_type, set()).update(s for c in rule.choices for s in c.shapes)
    return Policy(
        {t: tuple(r) for t, r in routes.items()},
        {t: tuple(sorted(s)) for t, s in shapes.items()},
        recall,
        source,
        limits,
        commits,
    )
