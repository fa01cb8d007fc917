"""The router's value table: for a leaf form whose selectivity depends on its value alone (an
equality on a categorical or numeric attribute, an element test on a list attribute), each
value the data holds and the route its count gives, found once when the router is built.

A query of such a form is then routed by one dictionary lookup instead of counting its
posting list or sorted slice per batch (`estimate.batch_counts`): the same count, found at
build time (a most-common-values table, as a query planner keeps). A value the table does
not hold (absent from the data) is counted as before. Numeric attributes get a table only
where their values are plain numbers (integer and floating columns; dates and times are
ticks, which no predicate value equals).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fanns_bench.filters.attribute_index import AttributeIndex
from fanns_bench.filters.evaluate import CATEGORICAL, ORDERED, SET

VALUE_OPS = {"eq": (CATEGORICAL, ORDERED), "contains": (SET,)}
"""Leaf ops whose count is their value's: an equality's posting list (or sorted slice), an
element test's posting list."""


ValueRoutes = dict[object, int]
"""Each value of one attribute -> its route (an index into the router's routes)."""


def table_bytes(routes: ValueRoutes) -> int:
    """Bytes of a table (the dictionary and its keys; the route ids are small ints, shared)."""
    return sys.getsizeof(routes) + sum(sys.getsizeof(key) for key in routes)


def leaf_form(form: str) -> tuple[str, str] | None:
    """(op, attribute) of a leaf form `op(attr)` whose op is in `VALUE_OPS`; else None."""
    op, _, rest = form.partition("(")
    if op not in VALUE_OPS or not rest.endswith(")") or "(" in rest or "," in rest:
        return None
    return op, rest[:-1]


def value_routes(
    attributes: AttributeIndex, op: str, attr: str, route_of: Callable[[np.ndarray], np.ndarray]
) -> ValueRoutes | None:
    """The table of `op(attr)` (`route_of`: selectivities -> routes), or None where the
    attribute's kind does not fit the op or its values are dates or times."""
    kind = attributes.kinds.get(attr)
    if kind not in VALUE_OPS.get(op, ()) or attributes.num_items == 0:
        return None
    if kind == ORDERED:
        column_type = attributes.table.column(attr).type
        if not (pa.types.is_integer(column_type) or pa.types.is_floating(column_type)):
            return None  # dates and times: their values are not the column's numbers
        numbers, counts = np.unique(attributes.sorted_values(attr), return_counts=True)
        values = numbers.tolist()
    else:
        column = attributes.table.flat(attr)[0] if kind == SET else attributes.table.column(attr)
        values = pc.unique(column).drop_null().to_pylist()
        _, starts, stops = attributes.posting_spans(attr, values)
        counts = stops - starts
    routes = route_of(np.asarray(counts, dtype=np.float64) / attributes.num_items)
    return dict(zip(values, routes.tolist(), strict=True))
