"""The router: the sub-methods a policy names, built once each, and every query sent to the
one its filter type and selectivity choose (README.md beside this file)."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from fanns_bench.errors import ConfigError, MethodError
from fanns_bench.filters.predicates import Predicate, Range
from fanns_bench.filters.shape import form_key, shape
from fanns_bench.methods.base import ANY_FILTER, FilterBatch, Method
from fanns_bench.methods.params import Param
from fanns_bench.methods.registry import get_method
from fanns_bench.methods.router.values import ValueRoutes, leaf_form, table_bytes, value_routes
from fanns_bench.recommend.policy import Route, read_policy
from fanns_bench.runner.threads import capped_threads

if TYPE_CHECKING:
    from fanns_bench.data.dataset import Dataset
    from fanns_bench.filters.attribute_index import AttributeIndex

FormRoutes = tuple[int | None, ValueRoutes | None, str]
"""How a form's route is found: its filter type's only route, else its value table (None:
counted); and its filter type."""

ANSWERED = "queries "
"""Prefix of the `stats()` counters: `queries <method> {build} {search}` -> queries answered."""


class RoutedPart(NamedTuple):
    """The queries of a batch (`rows`) that one route (`route_id`, an index into
    `Router.routes`) answers, with its method's filter input (a named tuple: made per batch
    inside the timed pass, cheaper to make than a frozen dataclass)."""

    route: Route
    rows: np.ndarray
    prepared: Any
    route_id: int


class RoutedFilters(NamedTuple):
    """The router's filter input: the batch split by route; `whole`: one part answering
    every query, in batch order (its method searches the batch as it is)."""

    parts: tuple[RoutedPart, ...]
    whole: bool = False


class Router(Method):
    """Applies a policy from `fanns-bench recommend --out` per query.

    `prepare_filters` (timed in `qps`) finds each distinct predicate's route: looked up where
    it does not depend on a count (a one-route filter type; an equality's or element test's
    value in the table built with the router), else from its filter type (its form) and its
    selectivity counted on the attribute index; it hands each route's queries to its method's
    own `prepare_filters`; `search` runs each method on its queries with the route's search
    parameters. Index bytes and build time are the sums over the methods built (one per
    distinct method and build parameters) and the value tables.
    """

    name = "router"
    build_parameters = {
        "policy": Param(str, "", "the policy file (YAML) written by fanns-bench recommend --out"),
    }
    capabilities = ANY_FILTER
    deterministic_build = "never"
    nondeterminism = (
        "as deterministic as the methods its policy names: deterministic() asks each built one, "
        "so its rows record the answer for the policy it ran"
    )
    description = "per query, the method a recommend policy names for its filter type and selectivity"
    # 1: a batch of one route is handed to its method's search with no per-batch lookups or
    # counters (the answers are the same; its QPS is not: a resumed folder measures it again);
    # 2: a range cell routed on its ranges' item counts (no selectivities divided out)
    revision = 2

    def __init__(self, metric: str, threads: int = 1, **build_params: Any) -> None:
        super().__init__(metric, threads, **build_params)
        path = Path(self.build_params["policy"])
        if not self.build_params["policy"]:
            raise ConfigError(
                "router: build parameter 'policy' is required (a file from fanns-bench recommend --out)"
            )
        if not path.exists():
            raise ConfigError(
                f"router: policy file {path} does not exist; write it with "
                f"fanns-bench recommend RESULTS_DIR --out {path}"
            )
        self.policy = read_policy(path)
        self._filter_types = self.policy.filter_type_of()
        self._classes = {route.method: get_method(route.method) for route in self.policy.builds()}
        self._search = {
            route.label: self._classes[route.method].search_params(route.search)
            for routes in self.policy.routes.values()
            for route in routes
        }
        self._methods: dict[tuple[str, str], Method] = {}
        self._threads_for: Callable[[type[Method]], int] | None = None  # the runner's rule
        self._answered: tuple[tuple[int, int], ...] = ()  # the last search's (route id, queries)
        self._entries: dict[int, tuple[Callable[..., Any], dict[str, Any]]] = {}  # route id -> search
        self._everyone: dict[int, np.ndarray] = {}  # batch size -> its rows (read-only)
        self._reasons: dict[str, str | None] = {}
        # every distinct route (by label, as the counters name them) and, per filter type, its
        # routes' max_selectivity bounds and their indexes in `routes`
        labels = {r.label: r for routes in self.policy.routes.values() for r in routes}
        self.routes: list[Route] = list(labels.values())
        index = {label: i for i, label in enumerate(labels)}
        self._bounds = {
            filter_type: (
                np.array([r.max_selectivity for r in routes], dtype=np.float64),
                np.array([index[r.label] for r in routes], dtype=np.int64),
            )
            for filter_type, routes in self.policy.routes.items()
        }
        self._bound_lists = {t: bounds.tolist() for t, (bounds, _) in self._bounds.items()}
        self._form_types: dict[object, str | None] = {}  # form_key -> its filter type
        # a filter type with one route: that route, whatever the selectivity (nothing to count)
        self._constant = {t: int(ids[0]) for t, (_, ids) in self._bounds.items() if len(ids) == 1}
        # (op, attr) of a leaf form -> each value's route (`values.py`), found at build on
        # `_indexed` (the dataset's attribute index); batches on another index are counted
        self.value_tables: dict[tuple[str, str], ValueRoutes] = {}
        self._indexed: AttributeIndex | None = None
        self._forms: dict[object, FormRoutes] = {}  # form_key -> how its route is found
        self._count_limits: dict[tuple[str, int], list[int]] = {}  # (filter type, items) -> counts

    # --- building: every method the policy names, once ------------------------------------
    def set_build_threads(self, threads_for: Callable[[type[Method]], int]) -> None:
        """Each method is built on the threads the runner builds it on alone (`threads_for`;
        `runner.deterministic_builds`: a `one_thread` method on one), not the router's own:
        else an ACORN graph built alone on one thread is built on every core here (insertion in
        thread order: another graph than the one the single method's row measured)."""
        self._threads_for = threads_for

    def _method(self, route: Route) -> Method:
        if route.build_key not in self._methods:
            method_cls = self._classes[route.method]
            threads = self.threads if self._threads_for is None else self._threads_for(method_cls)
            self._methods[route.build_key] = method_cls(self.metric, threads, **route.build)
        return self._methods[route.build_key]

    def members(self) -> dict[tuple[str, str], Method]:
        """The methods it holds, by `Route.build_key` (method, build parameters as text)."""
        return {route.build_key: self._method(route) for route in self.policy.builds()}

    def prepare_environment(self, dataset: Dataset | None = None) -> None:
        for route in self.policy.builds():
            self._method(route).prepare_environment(dataset)

    def build(self, dataset: Dataset) -> None:
        """Each method built as the runner builds it alone: on its threads, with the BLAS and
        OpenMP pools capped to them."""
        for route in self.policy.builds():
            method = self._method(route)
            with capped_threads(method.threads):
                method.build(dataset)
        self._build_values(dataset.attribute_index)

    def _build_values(self, attributes: AttributeIndex) -> None:
        """Each value's route for every leaf form of a filter type with several routes whose
        count is its value's (`values.py`)."""
        self.value_tables, self._forms, self._indexed = {}, {}, attributes
        for filter_type, shapes in self.policy.shapes.items():
            if filter_type in self._constant:
                continue
            for form in filter(None, map(leaf_form, shapes)):
                table = value_routes(attributes, *form, lambda s, t=filter_type: self._route_of(t, s))
                if table is not None:
                    self.value_tables[form] = table

    def memory_bytes(self) -> int:
        """The built methods' figures and the value tables'."""
        tables = sum(map(table_bytes, self.value_tables.values()))
        return sum(method.memory_bytes() for method in self._methods.values()) + tables

    def set_query_threads(self, threads: int) -> None:
        self.threads = threads
        for method in self._methods.values():
            method.set_query_threads(threads)

    def build_threads_used(self) -> int:
        return max((m.build_threads_used() for m in self._methods.values()), default=self.threads)

    def deterministic(self) -> bool:
        return bool(self._methods) and all(m.deterministic() for m in self._methods.values())

    def close(self) -> None:
        with ExitStack() as stack:  # every method is closed even when one raises
            for method in self._methods.values():
                stack.callback(method.close)

    # --- what it answers --------------------------------------------------------------------
    def unsupported_reason(self, predicate: Predicate | None, kinds: dict[str, str]) -> str | None:
        """None when the policy has the predicate's filter type and every route of that type
        answers it; asked per predicate form (the answer is the same for one form)."""
        form = shape(predicate)
        if form not in self._reasons:
            self._reasons[form] = self._reason(predicate, form, kinds)
        return self._reasons[form]

    def _reason(self, predicate: Predicate | None, form: str, kinds: dict[str, str]) -> str | None:
        filter_type = self._filter_types.get(form)
        if filter_type is None:
            covered = ", ".join(sorted(self._filter_types)) or "none"
            return f"the policy has no filter type of predicate form {form!r} (it covers: {covered})"
        for route in self.policy.routes[filter_type]:
            asked = self._classes[route.method](self.metric, 1, **route.build)
            reason = asked.unsupported_reason(predicate, kinds)
            if reason:
                return f"{filter_type} route {route.label}: {reason}"
        return None

    # --- per batch ----------------------------------------------------------------------------
    def _filter_type(self, predicate: Predicate | None, filters: FilterBatch, key: object = None) -> str:
        """The filter type of a predicate's form, looked up by its `form_key` (no string built;
        `key`: the predicate's, where the caller has it)."""
        key = form_key(predicate) if key is None else key
        filter_type = self._form_types.get(key, False)
        if filter_type is False:
            filter_type = self._form_types[key] = self._filter_types.get(shape(predicate))
        if filter_type is None:
            raise MethodError(f"router: {self.unsupported_reason(predicate, filters.attributes.kinds)}")
        return filter_type

    def route(self, predicate: Predicate | None, filters: FilterBatch) -> Route:
        """The route of one predicate: its filter type by form, its selectivity counted."""
        return self.policy.route(self._filter_type(predicate, filters), filters.selectivity(predicate))

    def route_ids(self, filters: FilterBatch) -> np.ndarray:
        """Per distinct predicate of the batch, its route (an index into `self.routes`): looked
        up where it does not depend on a count (`_known_routes`), else the filter types by
        form, every selectivity counted in one pass per form (`FilterBatch.selectivities`), one
        search of each filter type's range bounds. The same routes as `route` per predicate."""
        routes = self._routes(filters)
        return np.full(len(filters.distinct), routes, dtype=np.int64) if isinstance(routes, int) else routes

    def _routes(self, filters: FilterBatch) -> int | np.ndarray:
        """`route_ids`, or the one route of every predicate where that is found without a
        route per predicate (a one-form batch whose selectivities share one range): looked up
        where no count is needed, else counted. A batch of one leaf form (a cell: one filter
        type, no grouping) is looked up once for its form; a range cell is routed on its
        ranges' item counts (`_count_routes`: no selectivity divided out)."""
        form = filters.leaf_form()
        if form is None:
            known = self._known_routes(filters, None)
            return self._counted_route_ids(filters) if known is None else known
        entry = self._form_routes(form, filters.distinct[0], filters)
        known = self._looked_up(entry, filters)
        if known is not None:
            return known
        filter_type = entry[2]
        if form[0] == Range.op and filters.num_items:
            starts, stops = filters.range_table(form[1])
            return self._count_routes(filter_type, stops - starts, filters.num_items)
        return self._one_type_routes(filter_type, filters.selectivities())

    def _known_routes(self, filters: FilterBatch, form: tuple[str, str] | None) -> int | np.ndarray | None:
        """Each distinct predicate's route without counting (or the one route of them all):
        its filter type's only route, or its value's route in the value table (on the index
        the table was built on); None when some predicate needs its count (a range, a
        compound, a value the table lacks). A batch of one leaf form (`form`, the batch's
        `leaf_form()`; None: several forms) is looked up once for its form."""
        if form is not None:
            return self._looked_up(self._form_routes(form, filters.distinct[0], filters), filters)
        use_values = filters.attributes is self._indexed
        known = []
        for predicate in filters.distinct:
            constant, values, _ = self._form_routes(form_key(predicate), predicate, filters)
            if constant is not None:
                known.append(constant)
                continue
            route = values.get(predicate.value) if values is not None and use_values else None
            if route is None:
                return None
            known.append(route)
        return np.array(known, dtype=np.int64)

    def _looked_up(self, entry: FormRoutes, filters: FilterBatch) -> int | np.ndarray | None:
        """A cell's routes from its form's `entry` (`_form_routes`) without counting: its
        filter type's only route, or its values' routes from the value table (one route: that
        route's index); None when they need a count (no table, a batch on another index, a
        value the table lacks)."""
        constant, values, _ = entry
        if constant is not None or values is None or filters.attributes is not self._indexed:
            return constant
        routes = [values.get(predicate.value) for predicate in filters.distinct]  # type: ignore[union-attr]
        if None in routes:
            return None
        return routes[0] if routes.count(routes[0]) == len(routes) else np.array(routes, dtype=np.int64)

    def _form_routes(self, key: object, predicate: Predicate | None, filters: FilterBatch) -> FormRoutes:
        """(the route of a one-route filter type, the value table, the filter type) of the
        form `key` (the `form_key` of `predicate`), found once per form."""
        entry = self._forms.get(key)
        if entry is None:
            filter_type = self._filter_type(predicate, filters, key)
            attr = getattr(predicate, "attr", None)
            values = self.value_tables.get((predicate.op, attr)) if attr else None  # type: ignore[union-attr]
            entry = self._forms[key] = (self._constant.get(filter_type), values, filter_type)
        return entry

    def _counted_route_ids(self, filters: FilterBatch) -> int | np.ndarray:
        """`_routes` of a batch of several leaf forms, or of compounds, by counting every
        distinct predicate."""
        distinct = filters.distinct
        keys = list(map(form_key, distinct))
        if keys and keys.count(keys[0]) == len(keys):  # one compound form: one filter type
            filter_type = self._filter_type(distinct[0], filters, keys[0])
            return self._one_type_routes(filter_type, filters.selectivities())
        types = [self._filter_type(p, filters, key) for p, key in zip(distinct, keys, strict=True)]
        selectivity = filters.selectivities()
        if types and types.count(types[0]) == len(types):  # forms of one filter type: no grouping
            return self._route_of(types[0], selectivity)
        by_type: dict[str, list[int]] = {}
        for i, filter_type in enumerate(types):
            by_type.setdefault(filter_type, []).append(i)
        ids = np.empty(len(types), dtype=np.int64)
        for filter_type, sets in by_type.items():
            ids[sets] = self._route_of(filter_type, selectivity[sets])
        return ids

    def _one_type_routes(self, filter_type: str, selectivity: np.ndarray) -> int | np.ndarray:
        """`_route_of`, or its one route when the least and the greatest selectivity fall in
        one range (a cell's usual case: two reductions, no route per predicate)."""
        one = self._one_range(filter_type, selectivity, self._bound_lists[filter_type])
        return self._route_of(filter_type, selectivity) if one is None else one

    def _count_routes(self, filter_type: str, counts: np.ndarray, items: int) -> int | np.ndarray:
        """`_one_type_routes` of the selectivities `counts / items`, compared as counts: each
        range's bound as the greatest count whose share of `items` is at most it
        (`count_limit`), found once per filter type and item count."""
        limits = self._count_limits.get((filter_type, items))
        if limits is None:
            bounds = self._bound_lists[filter_type]
            limits = self._count_limits[filter_type, items] = [count_limit(b, items) for b in bounds]
        one = self._one_range(filter_type, counts, limits)
        return self._route_of(filter_type, counts / items) if one is None else one

    def _one_range(self, filter_type: str, values: np.ndarray, limits: list) -> int | None:
        """The route of the range of `filter_type` holding the least and the greatest of
        `values` (compared with `limits`, its ranges' upper bounds in their units), or None when
        they fall in two ranges or there are none."""
        if not len(values):
            return None
        last = len(limits) - 1
        high = min(bisect_left(limits, np.maximum.reduce(values).item()), last)
        if high and high != min(bisect_left(limits, np.minimum.reduce(values).item()), last):
            return None
        return int(self._bounds[filter_type][1][high])  # (the first range holds the greatest: all of them)

    def _route_of(self, filter_type: str, selectivity: np.ndarray) -> np.ndarray:
        """The route (an index into `self.routes`) of each selectivity of one filter type: the
        first range whose bound it is at most, or the last above them all."""
        bounds, route_ids = self._bounds[filter_type]
        first_within = np.searchsorted(bounds, selectivity, side="left")  # s <= max_selectivity
        return route_ids[np.minimum(first_within, len(bounds) - 1)]

    def prepare_filters(self, filters: FilterBatch) -> RoutedFilters:
        of_set = self._routes(filters)
        if isinstance(of_set, int):
            return self._whole(of_set, filters)
        if len(of_set) and bool((of_set == of_set[0]).all()):
            return self._whole(int(of_set[0]), filters)
        used = np.unique(of_set)
        of_query = of_set[filters.set_of_query]
        order = np.argsort(of_query, kind="stable")  # the queries grouped by route, in batch order
        ends = np.cumsum(np.bincount(of_query, minlength=len(self.routes)))
        parts = []
        for route_id in used.tolist():
            rows = order[ends[route_id - 1] if route_id else 0 : ends[route_id]]
            route = self.routes[route_id]
            prepared = self._method(route).prepare_filters(filters.subset(rows))
            parts.append(RoutedPart(route, rows, prepared, route_id))
        return RoutedFilters(tuple(parts))

    def _whole(self, route_id: int, filters: FilterBatch) -> RoutedFilters:
        """The whole batch to one route: its filters as they are (no subset, no scatter)."""
        n = len(filters)
        everyone = self._everyone.get(n)
        if everyone is None:
            everyone = self._everyone[n] = np.arange(n, dtype=np.int64)
            everyone.flags.writeable = False
        route = self.routes[route_id]
        prepared = self._method(route).prepare_filters(filters)
        return RoutedFilters((RoutedPart(route, everyone, prepared, route_id),), True)

    def _entry(self, route_id: int) -> tuple[Callable[..., Any], dict[str, Any]]:
        """A route's method's `search` and its search parameters, looked up once per route."""
        entry = self._entries.get(route_id)
        if entry is None:
            route = self.routes[route_id]
            entry = self._entries[route_id] = (self._method(route).search, self._search[route.label])
        return entry

    def search(self, queries: np.ndarray, filters: RoutedFilters, k: int) -> np.ndarray:
        if filters.whole and len(filters.parts[0].rows) == len(queries):  # one route: the batch as it is
            part = filters.parts[0]
            self._answered = ((part.route_id, len(queries)),)  # (not the parts: they hold the input)
            method_search, params = self._entry(part.route_id)
            ids = method_search(queries, part.prepared, k, **params)
            if getattr(ids, "shape", None) == (len(queries), k):
                return ids
            return self._scatter(len(queries), k, [(part.rows, ids)])
        self._answered = tuple((part.route_id, len(part.rows)) for part in filters.parts)
        answers = []
        for part in filters.parts:
            method_search, params = self._entry(part.route_id)
            answers.append((part.rows, method_search(queries[part.rows], part.prepared, k, **params)))
        return self._scatter(len(queries), k, answers)

    @staticmethod
    def _scatter(n: int, k: int, answers: list[tuple[np.ndarray, Any]]) -> np.ndarray:
        """Each part's ids at its rows of an (n, k) answer, -1 where a part gave fewer."""
        out = np.full((n, k), -1, dtype=np.int64)
        for rows, ids in answers:
            ids = np.asarray(ids)
            out[rows, : min(k, ids.shape[1])] = ids[:, :k]
        return out

    def stats(self) -> dict[str, float]:
        """Queries each route's method answered in the last search."""
        answered: dict[str, int] = {}
        for route_id, count in self._answered:
            label = self.routes[route_id].label
            answered[label] = answered.get(label, 0) + count
        return {f"{ANSWERED}{label}": float(count) for label, count in sorted(answered.items())}


def count_limit(bound: float, items: int) -> int:
    """The greatest count c in [-1, items] with c / items <= bound (IEEE division, as a
    selectivity is divided out): a count is within the bound exactly when it is at most this."""
    count = min(items, max(-1, math.floor(bound * items)))
    while count < items and (count + 1) / items <= bound:
        count += 1
    while count >= 0 and count / items > bound:
        count -= 1
    return count
