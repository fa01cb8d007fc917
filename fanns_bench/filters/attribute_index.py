"""Per-dataset attribute indexes: predicate evaluation as lookups, slices and intersections.

Built once per dataset (its build time is recorded like an index build), then every
predicate evaluates without a pass over the table:

- categorical attributes: one posting list (sorted ids) per value;
- list attributes: one posting list per element;
- ordered attributes: the item ids sorted by value (ties by id) and the sorted values, so a
  range is a slice (`position_range`) and an equality a `searchsorted` pair; and each item's
  position in that order, so a conjunction keeps the ids of its other parts that a wide range
  holds without sorting the range's slice.

`evaluate` returns the sorted int64 ids satisfying a predicate, exactly as
`AttributeTable.ids` does (the reference evaluator, which scans the table).
"""

from __future__ import annotations

import time
from functools import reduce
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fanns_bench.errors import WorkloadError
from fanns_bench.filters.evaluate import ORDERED, SET, AttributeTable, scalar_for
from fanns_bench.filters.predicates import (
    And,
    Contains,
    ContainsAll,
    ContainsAny,
    Eq,
    In,
    Not,
    Or,
    Predicate,
    Range,
)
from fanns_bench.filters.visitor import PredicateVisitor

EMPTY = np.empty(0, dtype=np.int64)


class _Postings:
    """Posting lists of one categorical or list attribute, stored as one CSR array."""

    def __init__(self, values: pa.Array, rows: np.ndarray) -> None:
        encoded = (
            pc.dictionary_encode(values).combine_chunks()
            if isinstance(values, pa.ChunkedArray)
            else (pc.dictionary_encode(values))
        )
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        valid = ~np.asarray(pc.is_null(encoded.indices).to_numpy(zero_copy_only=False), dtype=bool)
        codes, rows = codes[valid].astype(np.int64), rows[valid]
        order = np.lexsort((rows, codes))
        codes, rows = codes[order], rows[order]
        first = np.ones(len(rows), dtype=bool)  # a list holding an element twice is one posting
        first[1:] = (codes[1:] != codes[:-1]) | (rows[1:] != rows[:-1])
        codes, rows = codes[first], rows[first]
        self.ids = np.ascontiguousarray(rows, dtype=np.int64)
        self.ids.flags.writeable = False  # lookups hand out views
        counts = np.bincount(codes, minlength=len(encoded.dictionary))
        # value code c's ids are ids[offsets[c]:offsets[c + 1]]; the code past the dictionary's
        # (an unknown value in `spans`) has the empty span at the end
        self.offsets = np.concatenate([[0], np.cumsum(counts), [len(rows)]]).astype(np.int64)
        self.dictionary = encoded.dictionary
        self.code_of = {value: code for code, value in enumerate(encoded.dictionary.to_pylist())}

    def lookup(self, value: object) -> np.ndarray:
        code = self.code_of.get(value)
        if code is None:
            return EMPTY
        return self.ids[self.offsets[code] : self.offsets[code + 1]]

    def spans(self, values: list[object]) -> tuple[np.ndarray, np.ndarray]:
        """Each value's posting list as half-open offsets into `ids` (empty for an unknown value)."""
        unknown = len(self.offsets) - 2
        codes = np.array([self.code_of.get(value, unknown) for value in values], dtype=np.int64)
        return self.offsets[codes], self.offsets[codes + 1]

    def nbytes(self) -> int:
        return int(self.ids.nbytes + self.offsets.nbytes)


class _Sorted:
    """Item ids of one ordered attribute sorted by value (nulls left out), ties by id."""

    def __init__(self, column: pa.Array) -> None:
        valid = ~np.asarray(pc.is_null(column).to_numpy(zero_copy_only=False), dtype=bool)
        values = _numeric(column)
        ids = np.flatnonzero(valid).astype(np.int64)
        order = np.lexsort((ids, values[valid]))
        self.order = np.ascontiguousarray(ids[order])
        self.values = np.ascontiguousarray(values[valid][order])
        self.type = column.type
        self.rank = np.full(len(values), -1, dtype=np.int64)  # item id -> its position in `order`
        self.rank[self.order] = np.arange(len(self.order), dtype=np.int64)
        # the Python type whose values `key` returns as they are (ints on an integer column...)
        self.plain = (
            int if pa.types.is_integer(self.type) else float if pa.types.is_floating(self.type) else None
        )

    def bounds(self, low: object, high: object) -> tuple[int, int]:
        start = 0 if low is None else int(np.searchsorted(self.values, self.key(low), side="left"))
        stop = (
            len(self.values) if high is None else int(np.searchsorted(self.values, self.key(high), "right"))
        )
        return start, max(start, stop)

    def bounds_many(self, lows: list[object], highs: list[object]) -> tuple[np.ndarray, np.ndarray]:
        """`bounds` of each (low, high) pair, as two arrays (one search per side for them all;
        one pair, a single query's batch, by `bounds`, without the arrays' set-up: half the
        cost)."""
        if len(lows) == 1:
            start, stop = self.bounds(lows[0], highs[0])
            return np.array([start], dtype=np.int64), np.array([stop], dtype=np.int64)
        starts = self._sides(lows, "left", 0)
        return starts, np.maximum(starts, self._sides(highs, "right", len(self.values)))

    def _sides(self, values: list[object], side: Literal["left", "right"], open_end: int) -> np.ndarray:
        out = np.full(len(values), open_end, dtype=np.int64)
        given = [i for i, value in enumerate(values) if value is not None]
        if given:
            keys = [values[i] for i in given]
            if not all(type(key) is self.plain for key in keys):
                keys = [self.key(key) for key in keys]
            array = np.asarray(keys)
            if array.dtype == self.values.dtype:  # numbers of the column's type: one search
                out[given] = np.searchsorted(self.values, array, side=side)
            else:  # anything else exactly as `bounds` compares it, one by one
                out[given] = [np.searchsorted(self.values, key, side=side) for key in keys]
        return out

    def key(self, value: object) -> object:
        """`value` as a number comparable with `values` (Arrow's cast rules, numbers fast)."""
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if numeric and pa.types.is_floating(self.type):
            return float(value)
        if numeric and pa.types.is_integer(self.type) and float(value).is_integer():
            return int(value)
        return _numeric(pa.array([scalar_for(value, self.type).as_py()], type=self.type))[0]

    def nbytes(self) -> int:
        return int(self.order.nbytes + self.values.nbytes + self.rank.nbytes)


class AttributeIndex(PredicateVisitor[np.ndarray]):
    """Posting lists and sorted permutations over every attribute of a dataset."""

    target = "the attribute index"

    def __init__(self, table: AttributeTable) -> None:
        start = time.perf_counter()
        self.table = table
        self.num_items = table.num_rows
        self.kinds = dict(table.kinds)
        self._postings: dict[str, _Postings] = {}
        self._sorted: dict[str, _Sorted] = {}
        for name, kind in self.kinds.items():
            column = table.column(name)
            if kind == SET:
                flat, parents = table.flat(name)
                self._postings[name] = _Postings(flat, parents)
            elif kind == ORDERED:
                self._sorted[name] = _Sorted(column)
            else:
                self._postings[name] = _Postings(column, np.arange(len(column), dtype=np.int64))
        self.build_seconds = time.perf_counter() - start

    def nbytes(self) -> int:
        """Bytes held by the posting lists and sorted permutations."""
        return sum(p.nbytes() for p in self._postings.values()) + sum(
            s.nbytes() for s in self._sorted.values()
        )

    # ---- the public queries -------------------------------------------------------------
    def evaluate(self, predicate: Predicate | None) -> np.ndarray:
        """Sorted int64 ids of the items satisfying `predicate` (all items for `None`)."""
        self.table.check(predicate)
        return self.visit(predicate)

    def sorted_order(self, attr: str) -> np.ndarray:
        """Item ids of ordered attribute `attr` sorted by value, ties by id (null items left out)."""
        return self._ordered(attr).order

    def sorted_values(self, attr: str) -> np.ndarray:
        """The values of `attr` in `sorted_order(attr)` (numeric; dates and times as int64)."""
        return self._ordered(attr).values

    def position_range(self, attr: str, low: object = None, high: object = None) -> tuple[int, int]:
        """Half-open positions [start, stop) in `sorted_order(attr)` of `low <= value <= high`.

        `None` leaves a side open; an empty range gives start == stop.
        """
        return self._ordered(attr).bounds(low, high)

    def position_ranges(
        self, attr: str, lows: list[object], highs: list[object]
    ) -> tuple[np.ndarray, np.ndarray]:
        """`position_range` of many (low, high) pairs on `attr` at once: (starts, stops)."""
        return self._ordered(attr).bounds_many(lows, highs)

    def posting_spans(self, attr: str, values: list[object]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The posting lists of `values` on a categorical or list attribute `attr`, at once:
        (ids, starts, stops), value i's sorted ids being `ids[starts[i]:stops[i]]` (a view)."""
        postings = self._postings[attr]
        if not (_textual(postings.dictionary.type) and all(type(value) is str for value in values)):
            values = [self._categorical_key(attr, value) for value in values]
        starts, stops = postings.spans(values)
        return postings.ids, starts, stops

    def _ordered(self, attr: str) -> _Sorted:
        if attr not in self._sorted:
            raise WorkloadError(
                f"attribute {attr!r} is not an ordered attribute; ordered: {sorted(self._sorted)}"
            )
        return self._sorted[attr]

    # ---- the visitor ----------------------------------------------------------------------
    def visit_none(self) -> np.ndarray:
        return np.arange(self.num_items, dtype=np.int64)

    def visit_eq(self, predicate: Eq) -> np.ndarray:
        return self._equal(predicate.attr, predicate.value)

    def visit_in(self, predicate: In) -> np.ndarray:
        return _union([self._equal(predicate.attr, v) for v in predicate.values])

    def visit_range(self, predicate: Range) -> np.ndarray:
        start, stop = self.position_range(predicate.attr, predicate.low, predicate.high)
        return np.sort(self.sorted_order(predicate.attr)[start:stop])

    def visit_contains(self, predicate: Contains) -> np.ndarray:
        return self._element(predicate.attr, predicate.value)

    def visit_contains_all(self, predicate: ContainsAll) -> np.ndarray:
        if not predicate.values:
            return self.visit_none()
        return _intersection([self._element(predicate.attr, v) for v in predicate.values])

    def visit_contains_any(self, predicate: ContainsAny) -> np.ndarray:
        return _union([self._element(predicate.attr, v) for v in predicate.values])

    def visit_and(self, predicate: And) -> np.ndarray:
        ranges = [c for c in predicate.children if isinstance(c, Range)]
        rest = [c for c in predicate.children if not isinstance(c, Range)]
        if not ranges or not rest:
            return _intersection([self.visit(c) for c in predicate.children])
        ids = _intersection([self.visit(c) for c in rest])
        for child in ranges:  # each range keeps the ids it holds
            start, stop = self.position_range(child.attr, child.low, child.high)
            if (stop - start) * 4 < len(ids):  # a narrow range: its few ids, sorted, intersected
                ids = _intersection([ids, np.sort(self.sorted_order(child.attr)[start:stop])])
            else:  # a wide one: the ids whose position in its order falls inside (no sort)
                rank = self._ordered(child.attr).rank[ids]
                ids = ids[(rank >= start) & (rank < stop)]
        return ids

    def visit_or(self, predicate: Or) -> np.ndarray:
        return _union([self.visit(c) for c in predicate.children])

    def visit_not(self, predicate: Not) -> np.ndarray:
        keep = np.ones(self.num_items, dtype=bool)
        keep[self.visit(predicate.child)] = False
        return np.flatnonzero(keep).astype(np.int64)

    def _equal(self, attr: str, value: object) -> np.ndarray:
        if attr in self._sorted:
            return self.visit_range(Range(attr, value, value))
        return self._postings[attr].lookup(self._categorical_key(attr, value))

    def _element(self, attr: str, value: object) -> np.ndarray:
        return self._postings[attr].lookup(self._categorical_key(attr, value))

    def _categorical_key(self, attr: str, value: object) -> object:
        dictionary_type = self._postings[attr].dictionary.type
        if type(value) is str and (
            pa.types.is_string(dictionary_type) or pa.types.is_large_string(dictionary_type)
        ):
            return value  # what the cast below gives a string, without an Arrow scalar (~us each)
        return scalar_for(value, dictionary_type).as_py()


def _textual(arrow_type: pa.DataType) -> bool:
    """Whether a str value cast to `arrow_type` is that str (string or large string)."""
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def _numeric(column: pa.Array) -> np.ndarray:
    """An ordered column as numpy numbers (temporal types as int64 ticks; nulls as 0)."""
    if pa.types.is_temporal(column.type):
        width = pa.int32() if pa.types.is_date32(column.type) else pa.int64()
        column = column.view(width) if not isinstance(column, pa.ChunkedArray) else column.cast(width)
    return np.asarray(pc.fill_null(column, 0).to_numpy(zero_copy_only=False))


def _intersection(parts: list[np.ndarray]) -> np.ndarray:
    parts = sorted(parts, key=len)
    return reduce(lambda a, b: a[in_sorted(a, b)], parts[1:], parts[0]) if parts else EMPTY


def _union(parts: list[np.ndarray]) -> np.ndarray:
    parts = [p for p in parts if len(p)]
    if not parts:
        return EMPTY
    return parts[0] if len(parts) == 1 else np.unique(np.concatenate(parts))


def in_sorted(candidates: np.ndarray, sorted_ids: np.ndarray) -> np.ndarray:
    """Which of `candidates` are in the sorted array `sorted_ids` (a binary search each)."""
    if not len(sorted_ids) or not len(candidates):
        return np.zeros(len(candidates), dtype=bool)
    positions = np.searchsorted(sorted_ids, candidates)
    positions[positions == len(sorted_ids)] = 0
    return sorted_ids[positions] == candidates
