"""`fanns-bench datasets describe`: a built dataset's attributes, their kinds and selectivities.

For each attribute: its kind (what a workload template may do with it: `eq` on categorical
and ordered, `range` on ordered, `contains` on set), the share of nulls, the number of
distinct values (labels, for a set), and then the selectivities a filter would have: the
most common values (labels) with the fraction of items that match, or for an ordered
attribute its quantiles (a range from the 10 % to the 20 % quantile keeps about 10 %).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fanns_bench.data.dataset import Dataset
from fanns_bench.filters.evaluate import CATEGORICAL, ORDERED, SET
from fanns_bench.workloads.templates import value_counts

TOP_VALUES = 5
SHOWN_CHARS = 40  # longer values are cut
QUANTILES = (0.0, 0.01, 0.1, 0.5, 0.9, 0.99, 1.0)
TEMPLATE_OF = {CATEGORICAL: "eq", ORDERED: "range", SET: "contains"}


def describe(dataset: Dataset, top: int = TOP_VALUES) -> list[str]:
    """The lines `fanns-bench datasets describe` prints."""
    table = dataset.attributes
    lines = [
        f"dataset {dataset.name!r}: {dataset.count:,} vectors x {dataset.dimension} ({dataset.metric}), "
        f"{dataset.queries.shape[0]:,} queries; builder {dataset.manifest.get('builder')}; {dataset.path}",
        f"{'attribute':<28} {'kind':<12} {'nulls':>6} {'distinct':>9}  selectivities",
    ]
    for name, kind in table.kinds.items():
        column = table.column(name)
        nulls = column.null_count / max(1, len(column))
        if kind == ORDERED:
            distinct = len(pc.unique(column.drop_null()))
            spread = _quantiles(column)
        else:
            values, counts = value_counts(table, name)
            distinct = len(values)
            spread = _top_values(values, counts, table.num_rows, top)
        lines.append(f"{name:<28} {kind:<12} {nulls:>6.1%} {distinct:>9,}  {spread}")
    lines.append("")
    lines.append("workload filters on these attributes (fanns-bench run ... 'workload.filters=[...]'):")
    for name, kind in table.kinds.items():
        lines.append(f"  {{type: {name}, template: {TEMPLATE_OF[kind]}, attribute: {name}}}")
    return lines


def _top_values(values: np.ndarray, counts: np.ndarray, rows: int, top: int) -> str:
    if not len(values):
        return "no values"
    order = np.argsort(-counts, kind="stable")[:top]
    shown = ", ".join(f"{_show(values[i])} {counts[i] / rows:.3g}" for i in order)
    rest = len(values) - len(order)
    least = counts.min() / rows
    return f"{shown}" + (f" ... ({rest:,} more; rarest {least:.2g})" if rest else "")


def _quantiles(column: pa.Array) -> str:
    """Quantiles of an ordered column (actual values: the lower neighbour of each quantile)."""
    present = column.drop_null()
    if not len(present):
        return "no values"
    numbers = present
    if pa.types.is_temporal(present.type):
        width = pa.int32() if pa.types.is_date32(present.type) else pa.int64()
        numbers = present.cast(width)
    quantiles = pc.quantile(numbers, q=list(QUANTILES), interpolation="lower").cast(numbers.type)
    shown = [_show(value) for value in quantiles.cast(present.type).to_pylist()]
    labels = ["min", "1%", "10%", "50%", "90%", "99%", "max"]
    return ", ".join(f"{label} {value}" for label, value in zip(labels, shown, strict=True))


def _show(value: Any) -> str:
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str) and len(value) > SHOWN_CHARS:
        half = (SHOWN_CHARS - 3) // 2  # both ends: long values often share a prefix (URLs)
        return repr(value[:half] + "..." + value[-half:])
    return repr(value)
