"""Tables from a results frame: the leaderboard and the failed/unsupported runs, as data
frames, Markdown and LaTeX."""

from __future__ import annotations

import math
from functools import reduce

import pandas as pd

from fanns_bench.report.frame import (
    SECTION_KEYS,
    SERIES_KEYS,
    bucket_label,
    excluded_rows,
    threads_label,
)
from fanns_bench.report.pareto import best_at_recall, max_recall_rows, qps_at_recall
from fanns_bench.report.quality import flag, optional, single_thread_note, with_qps_bounds
from fanns_bench.report.render import DASH, fmt_number, fmt_recall, latex_table, markdown_table

LEVELS = (0.9, 0.95)
MB = 1e6
LEADERBOARD_HEADERS = [
    "rank",
    "method",
    "QPS @ recall ≥ 0.9",
    "QPS range",
    "QPS @ recall ≥ 0.95",
    "max recall",
    "answers",
    "build s",
    "index MB",
]
LEADERBOARD_RIGHT = {2, 3, 4, 5, 7, 8}
LEADERBOARD_NOTE = (
    "QPS: best throughput (queries / median batch time) among configs reaching that recall@k "
    "(— = never reached); * = that point is flagged noisy. QPS range: slowest to fastest "
    "repetition of the QPS @ 0.9 point. Rank by QPS @ 0.9; methods whose ranges overlap share "
    "a rank (=1: tied with the leader within the measurement's spread). Answers: share of "
    "returned ids outside the filter (approximate-filter methods) and queries given fewer "
    "than k ids although k items match, for the QPS @ 0.9 config. Build s and index MB (10^6 "
    "bytes) are those of the config behind the QPS @ 0.9 entry, else of the max-recall config."
)
FAILURE_HEADERS = ["dataset", "filter", "method", "status", "build params", "rows", "reason"]


def qps_column(level: float) -> str:
    return f"qps_at_{level:g}"


def leaderboard(frame: pd.DataFrame, recall_column: str = "recall") -> pd.DataFrame:
    """One row per (section, method) with QPS at each recall level, max recall, and the build
    cost and params of the reference config; sections in key order, methods by QPS@0.9."""
    best = [
        qps_at_recall(frame, level, recall_column).rename(columns={"qps_at_recall": qps_column(level)})
        for level in LEVELS
    ]
    top = max_recall_rows(frame, recall_column)
    if top.empty:
        return pd.DataFrame(columns=[*SERIES_KEYS, *map(qps_column, LEVELS), "max_recall"])
    highest = top[SERIES_KEYS + [recall_column]].rename(columns={recall_column: "max_recall"})
    reference = pd.concat([best_at_recall(frame, LEVELS[0], recall_column), top])
    reference = with_qps_bounds(reference.drop_duplicates(SERIES_KEYS, keep="first"))
    reference = reference.assign(
        index_mb=reference["index_bytes"] / MB,
        noisy=flag(reference, "noisy"),
        n_queries=optional(reference, "n_queries"),
        violation_rate=optional(reference, "violation_rate"),
        short_queries=optional(reference, "short_queries"),
        method_threading=optional(reference, "method_threading"),
    )[[*SERIES_KEYS, "build_seconds", "index_mb", "build_params", "search_params", *REFERENCE_EXTRAS]]
    parts = [*best, highest, reference]
    table = reduce(lambda left, right: left.merge(right, on=SERIES_KEYS), parts)
    order = [*SECTION_KEYS, *map(qps_column, LEVELS), "max_recall", "method"]
    ascending = [True] * len(SECTION_KEYS) + [False] * (len(LEVELS) + 1) + [True]
    table = table.sort_values(order, ascending=ascending, na_position="last").reset_index(drop=True)
    ranks = [tie_ranks(rows) for _, rows in table.groupby(SECTION_KEYS, dropna=False, sort=False)]
    return table.assign(rank=pd.concat(ranks) if ranks else pd.Series(dtype=object))


REFERENCE_EXTRAS = [
    "n_queries",
    "qps_low",
    "qps_high",
    "noisy",
    "violation_rate",
    "short_queries",
    "method_threading",
]
"""Columns of the QPS @ 0.9 (else max-recall) point kept in the leaderboard."""


def tie_ranks(rows: pd.DataFrame) -> pd.Series:
    """Ranks of one section's methods, sorted by QPS @ 0.9 descending: a method whose QPS
    range reaches the range of its group's first method shares that rank ("=1"); methods
    that never reach 0.9 get no rank (DASH)."""
    qps = rows[qps_column(LEVELS[0])]
    ranks, group_start, group_low, sizes = [], 0, math.nan, {}
    for position, (value, high, low) in enumerate(zip(qps, rows["qps_high"], rows["qps_low"], strict=True)):
        if math.isnan(value):
            ranks.append(None)
            continue
        if not ranks or ranks[-1] is None or high < group_low:
            group_start, group_low = position + 1, low
        ranks.append(group_start)
        sizes[group_start] = sizes.get(group_start, 0) + 1
    labels = [DASH if r is None else f"={r}" if sizes[r] > 1 else str(r) for r in ranks]
    return pd.Series(labels, index=rows.index)


def failures(frame: pd.DataFrame) -> pd.DataFrame:
    """Failed/invalid/unsupported runs grouped by (dataset, filter type, method, status, build params,
    reason), with how many rows each group covers."""
    keys = ["dataset", "filter_type", "method", "status", "build_params", "reason"]
    excluded = excluded_rows(frame).fillna({"build_params": "{}"})
    if excluded.empty:
        return pd.DataFrame(columns=[*keys, "rows"])
    grouped = excluded.groupby(keys, dropna=False).size().rename("rows").reset_index()
    grouped = grouped.sort_values(["dataset", "filter_type", "status", "method"], kind="stable")
    columns = ["dataset", "filter_type", "method", "status", "build_params", "rows", "reason"]
    return grouped[columns].reset_index(drop=True)


def section_title(key: tuple) -> str:
    dataset, filter_type, bucket, k, threads = key
    where = f"{dataset} · filter {filter_type} · {bucket_label(bucket)}"
    return f"{where} · k={k} · {threads_label(threads)}"


def leaderboard_sections(table: pd.DataFrame) -> list[tuple[str, list[list[str]], str]]:
    """(section title, formatted rows, note on methods ignoring the thread count) for each
    section of a `leaderboard` table."""
    sections = []
    for key, rows in table.groupby(SECTION_KEYS, dropna=False, sort=False):
        cells = [
            [
                str(row["rank"]),
                str(row["method"]),
                fmt_number(row[qps_column(LEVELS[0])]) + ("*" if row["noisy"] else ""),
                _range(row),
                fmt_number(row[qps_column(LEVELS[1])]),
                fmt_recall(row["max_recall"]),
                answers_cell(row),
                fmt_number(row["build_seconds"]),
                fmt_number(row["index_mb"]),
            ]
            for _, row in rows.iterrows()
        ]
        note = single_thread_note(rows, int(key[-1]))
        sections.append((section_title(key), cells, note))
    return sections


def _range(row: pd.Series) -> str:
    if pd.isna(row[qps_column(LEVELS[0])]):
        return DASH
    return f"{fmt_number(row['qps_low'])}–{fmt_number(row['qps_high'])}"


def answers_cell(row: pd.Series) -> str:
    """Filter violations and short answers of a leaderboard row's reference point."""
    rate, short = row.get("violation_rate"), row.get("short_queries")
    parts = []
    if rate is not None and not pd.isna(rate) and rate > 0:
        parts.append(f"{rate:.2%} outside filter")
    if short is not None and not pd.isna(short) and short > 0:
        of = "" if pd.isna(row.get("n_queries")) else f"/{int(row['n_queries'])}"
        parts.append(f"{int(short)}{of} short")
    if parts:
        return "; ".join(parts)
    known = any(v is not None and not pd.isna(v) for v in (rate, short))
    return "ok" if known else "?"


def leaderboard_markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return "No successful runs: nothing to rank.\n"
    parts = [LEADERBOARD_NOTE, ""]
    for title, cells, note in leaderboard_sections(table):
        table_text = markdown_table(LEADERBOARD_HEADERS, cells, LEADERBOARD_RIGHT)
        parts += [f"### {title}", "", table_text, ""]
        parts += [note, ""] if note else []
    return "\n".join(parts)


def leaderboard_latex(table: pd.DataFrame) -> str:
    tables = [
        latex_table(
            LEADERBOARD_HEADERS,
            cells,
            LEADERBOARD_RIGHT,
            " ".join(filter(None, [f"{title}.", note, LEADERBOARD_NOTE])),
        )
        for title, cells, note in leaderboard_sections(table)
    ]
    return "\n\n".join(tables) + "\n"


def _failure_cells(table: pd.DataFrame) -> list[list[str]]:
    return [[str(value) for value in row] for row in table.itertuples(index=False)]


def failures_markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return "No failed, invalid or unsupported runs.\n"
    return markdown_table(FAILURE_HEADERS, _failure_cells(table), {5}) + "\n"


def failures_latex(table: pd.DataFrame) -> str:
    caption = "Failed, invalid and unsupported runs (left out of every figure and ranking)."
    return latex_table(FAILURE_HEADERS, _failure_cells(table), {5}, caption) + "\n"


BUCKET_KEYS = ["dataset", "workload", "filter_type", "selectivity_bucket"]
BUCKET_HEADERS = [
    "dataset",
    "workload",
    "filter",
    "bucket",
    "queries",
    "selectivity min",
    "median",
    "max",
    "shortfall",
    "why",
]
BUCKET_NOTE = (
    "Achieved selectivity of each bucket's queries. Shortfall: queries requested but not found "
    "within the bucket's tolerance, or drawn / given but left out (outside every bucket's "
    "tolerance, matching every item, or matching none); ? = not recorded with these results."
)


def bucket_summary(frame: pd.DataFrame, saved: pd.DataFrame) -> pd.DataFrame:
    """Filter type x bucket of each workload in `frame`: queries, min / median / max achieved
    selectivity and shortfall, from the bucket tables the sweeps saved (`saved`, matched on
    the rows' `workload_digest`; they also list empty buckets), else from the result rows
    (shortfall unknown)."""
    columns = [*BUCKET_KEYS, "n_queries", "selectivity_min", "selectivity_median", "selectivity_max"]
    columns += ["shortfall", "note"]
    digests = frame["workload_digest"] if "workload_digest" in frame else pd.Series(None, index=frame.index)
    parts = []
    if not saved.empty:
        parts.append(saved[saved["workload_digest"].isin(set(digests.dropna()))][columns])
    covered = digests.isin(set(saved["workload_digest"])) if not saved.empty else digests.isna() & False
    rest = frame[~covered]
    if not rest.empty:
        stats = [c for c in columns[4:8] if c in rest]
        from_rows = rest.groupby(BUCKET_KEYS, dropna=False)[stats].first().reset_index()
        parts.append(from_rows.assign(shortfall=None, note="").reindex(columns=columns))
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=columns)
    table = pd.concat(parts, ignore_index=True)
    return table.sort_values(BUCKET_KEYS, kind="stable").reset_index(drop=True)


def _bucket_cells(table: pd.DataFrame) -> list[list[str]]:
    def count(value: object) -> str:
        return "?" if value is None or pd.isna(value) else str(int(value))

    return [
        [
            str(row.dataset),
            str(row.workload),
            str(row.filter_type),
            f"{row.selectivity_bucket:g}",
            count(row.n_queries),
            fmt_number(row.selectivity_min),
            fmt_number(row.selectivity_median),
            fmt_number(row.selectivity_max),
            count(row.shortfall),
            str(row.note or ""),
        ]
        for row in table.itertuples(index=False)
    ]


def buckets_markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return "No workload buckets recorded.\n"
    return (
        BUCKET_NOTE + "\n\n" + markdown_table(BUCKET_HEADERS, _bucket_cells(table), {3, 4, 5, 6, 7, 8}) + "\n"
    )


def buckets_latex(table: pd.DataFrame) -> str:
    caption = f"Workload buckets. {BUCKET_NOTE}"
    return latex_table(BUCKET_HEADERS, _bucket_cells(table), {3, 4, 5, 6, 7, 8}, caption) + "\n"
