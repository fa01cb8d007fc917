"""usearch partitioned by attribute value: one index per value, the query searches its own.

For every partitioned attribute, items are grouped by value (for list attributes, by
each element, so an item sits in several groups). A group of at least
`min_index_size` items gets its own usearch HNSW index; a smaller one keeps only its
ids and is searched exactly (usearch's exact search over its vectors). A query with
`eq` searches one group; `in` / `contains_any` search several and merge by distance.
Compound predicates (`and`, `or`, `not`), `range` and `contains_all` have no group to
search: the method declares them unsupported.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.errors import ConfigError, MethodError
from fanns_bench.filters.evaluate import CATEGORICAL, ORDERED, SET
from fanns_bench.filters.predicates import ContainsAny, In, Predicate
from fanns_bench.methods.base import FilterBatch, Method
from fanns_bench.methods.common.values import plain_column, plain_value, value_types
from fanns_bench.methods.params import Param
from fanns_bench.methods.usearch.common import METRICS, add_rows, as_batch, new_index

SUPPORTED = {"eq": (CATEGORICAL, ORDERED), "in": (CATEGORICAL, ORDERED)}
SUPPORTED |= {"contains": (SET,), "contains_any": (SET,)}


class UsearchPartition(Method):
    """One usearch index per attribute value (per element for list attributes)."""

    name = "usearch_partition"
    deterministic_build = "one_thread"
    nondeterminism = (
        "usearch's parallel add links nodes in thread-scheduling order (levels: fixed-seed generator)"
    )
    capabilities = frozenset({"eq", "in", "contains", "contains_any"})
    requires = ("usearch",)
    extra = "usearch"
    threading = "threads"
    description = "usearch, one index per attribute value (partitioning); eq/in/contains(_any)"

    build_parameters = {
        "connectivity": Param(int, 32, "graph degree (M)", minimum=2),
        "expansion_add": Param(int, 100, "candidate list size while inserting", minimum=1),
        "min_index_size": Param(int, 1024, "groups smaller than this are searched exactly", minimum=1),
        "attributes": Param(str, "", "comma-separated attributes to partition ('' = every one)"),
    }
    search_parameters = {"ef": Param(int, 64, "expansion_search (raised to k)", minimum=1)}

    def __init__(self, metric: str, threads: int = 1, **build_params: Any) -> None:
        super().__init__(metric, threads, **build_params)
        self._groups: dict[str, dict[Any, np.ndarray]] = {}
        self._indexes: dict[tuple[str, Any], Any] = {}

    @property
    def partitioned(self) -> list[str] | None:
        """The attributes named by the build parameter `attributes` (`None`: all)."""
        names = [a.strip() for a in self.build_params["attributes"].split(",") if a.strip()]
        return names or None

    def unsupported_reason(self, predicate: Predicate | None, kinds: dict[str, str]) -> str | None:
        if predicate is None:
            return f"{self.name} has one index per attribute value and none over all items"
        op = predicate.op
        if op not in SUPPORTED:
            return (
                f"{self.name} answers a single eq/in (categorical or ordered attribute) or "
                f"contains/contains_any (list attribute) predicate, not {op!r}"
            )
        kind = kinds.get(predicate.attr)
        if kind not in SUPPORTED[op]:
            return f"{self.name} cannot answer {op!r} on attribute {predicate.attr!r} of kind {kind!r}"
        partitioned = self.partitioned
        if partitioned is not None and predicate.attr not in partitioned:
            return f"{self.name} partitions {list(partitioned)}, not {predicate.attr!r}"
        return None

    def build(self, dataset: Dataset) -> None:
        attributes = self.partitioned or list(dataset.attributes.kinds)
        unknown = set(attributes) - set(dataset.attributes.kinds)
        if unknown:
            raise ConfigError(
                f"{self.name}: build param attributes names unknown attributes {sorted(unknown)}"
            )
        self._vectors, self._types = dataset.vectors, value_types(dataset.attributes)
        self._kinds = dict(dataset.attributes.kinds)
        for attr in attributes:
            self._groups[attr] = _groups(plain_column(dataset.attributes, attr))
            for value, ids in self._groups[attr].items():
                if len(ids) >= self.build_params["min_index_size"]:
                    self._indexes[attr, value] = self._new_index(dataset, ids)

    def _new_index(self, dataset: Dataset, ids: np.ndarray) -> Any:
        params = self.build_params
        index = new_index(self.metric, dataset.dimension, params["connectivity"], params["expansion_add"])
        add_rows(index, dataset.vectors, ids, self.threads)
        return index

    def prepare_filters(self, filters: FilterBatch) -> dict[tuple[str, Any], list[int]]:
        """The groups each query searches: group key -> query rows."""
        keys = [self._group_keys(predicate) for predicate in filters.distinct]
        by_group: dict[tuple[str, Any], list[int]] = {}
        for row, set_index in enumerate(filters.set_of_query):
            for key in keys[set_index]:
                by_group.setdefault(key, []).append(row)
        return by_group

    def search(
        self, queries: np.ndarray, filters: dict[tuple[str, Any], list[int]], k: int, ef: int
    ) -> np.ndarray:
        # Each group answers all its queries in one call.
        by_group = filters
        candidates: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in queries]
        for key, rows in by_group.items():
            for row, found in zip(rows, self._search_group(key, queries[rows], k, ef), strict=True):
                candidates[row].append(found)
        out = np.full((len(queries), k), -1, dtype=np.int64)
        for row, parts in enumerate(candidates):
            best = _merge(parts, k)
            out[row, : len(best)] = best
        return out

    def _group_keys(self, predicate: Predicate | None) -> list[tuple[str, Any]]:
        reason = self.unsupported_reason(predicate, self._kinds)
        if reason:
            raise MethodError(reason)
        if predicate.attr not in self._groups:
            raise MethodError(
                f"{self.name}: attribute {predicate.attr!r} was not partitioned at build time "
                f"(build param attributes={self.build_params['attributes']!r})"
            )
        values = predicate.values if isinstance(predicate, In | ContainsAny) else (predicate.value,)
        keys = {(predicate.attr, plain_value(v, self._types[predicate.attr])) for v in values}
        return [key for key in keys if key[1] in self._groups[predicate.attr]]

    def _search_group(
        self, key: tuple[str, Any], block: np.ndarray, k: int, ef: int
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """(ids, distances) of each query's nearest items in one group, nearest first."""
        ids = self._groups[key[0]][key[1]]
        if key in self._indexes:
            index = self._indexes[key]
            index.expansion_search = max(ef, k)
            matches = index.search(block, min(k, len(ids)), threads=self.threads)
        else:
            from usearch.index import search

            vectors = np.asarray(self._vectors[ids], dtype=np.float32)
            count = min(k, len(ids))
            matches = search(vectors, block, count, METRICS[self.metric], exact=True, threads=self.threads)
        keys, distances, counts = as_batch(matches, len(block))
        if key not in self._indexes:
            keys = ids[keys]  # exact search returns positions in the group
        return [(keys[i, : counts[i]], distances[i, : counts[i]]) for i in range(len(block))]

    def memory_bytes(self) -> int:
        """Serialized size of the per-value indexes plus the id lists of every group."""
        indexes = sum(int(index.serialized_length) for index in self._indexes.values())
        ids = sum(ids.nbytes for groups in self._groups.values() for ids in groups.values())
        return indexes + ids

    def stats(self) -> dict[str, float]:
        return {"indexes": float(len(self._indexes))}


def _groups(column: list[Any]) -> dict[Any, np.ndarray]:
    """Sorted int64 ids per value (per element for list values); nulls belong to no group."""
    members: dict[Any, list[int]] = {}
    for row, value in enumerate(column):
        for element in value if isinstance(value, list) else (value,):
            if element is not None:
                members.setdefault(element, []).append(row)
    return {value: np.unique(np.asarray(rows, dtype=np.int64)) for value, rows in members.items()}


def _merge(parts: list[tuple[np.ndarray, np.ndarray]], k: int) -> np.ndarray:
    """The k nearest distinct ids over several groups' results (lower distance is nearer)."""
    if not parts:
        return np.empty(0, dtype=np.int64)
    if len(parts) == 1:
        return parts[0][0][:k]
    ids = np.concatenate([p[0] for p in parts])
    distances = np.concatenate([p[1] for p in parts])
    order = np.argsort(distances, kind="stable")
    _, first = np.unique(ids[order], return_index=True)
    return ids[order][np.sort(first)][:k]
