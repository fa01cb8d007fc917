"""The conformance suite every registered method, built-in or plugin, must pass.

`fanns-bench conformance METHOD` runs it (no test suite needed); `tests/methods/test_conformance.py`
runs it on every registered method. For each filter shape the method supports, on a small seeded
synthetic dataset: returned ids satisfy the predicate, are distinct, are padded with -1 when
fewer than k items match, and recall@10 is at least 0.9 at the method's most generous grid point.
Shapes the method cannot answer must be declared before building (`unsupported_reason`).

The point used is the config's `conformance: {build: {...}, search: {...}}` when given, else
the first build combination and the last (most generous) value of each search parameter. A
library limitation is declared as `conformance: {known_limits: {<filter type>: <reason>}}`:
that shape must still return only matching ids, and the check fails if the limit disappears
(so the declaration is removed).

Every answer is checked as the runner checks it (`runner.measure.checked_ids`: integer ids,
shape (queries, k), ids in range or -1). `run_conformance` runs the suite in a child process
with a timeout per check (the build, then each shape): a hang, a crash or an exception in the
method is a `ConformanceError` (one FAILED line), never a traceback.
"""

from __future__ import annotations

import multiprocessing
import queue as queues
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import yaml

from fanns_bench.data import synthetic
from fanns_bench.data.dataset import Dataset, write_dataset
from fanns_bench.errors import ConfigError, FannsBenchError, MethodError
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
from fanns_bench.groundtruth import compute_ground_truth
from fanns_bench.methods.base import Method, run_search
from fanns_bench.methods.registry import get_method, plugin_config_path
from fanns_bench.metrics import recall_paper
from fanns_bench.runner.measure import checked_ids
from fanns_bench.runner.plan import expand_grid
from fanns_bench.scoring import exact_filtered_top_k

K = 10
MIN_RECALL = 0.9
CHECK_TIMEOUT_S = 600.0  # per check: the build, then each filter shape
DATASET_TIMEOUT_S = 300.0  # at least this long for the child to start and build its dataset
CONFORMANCE_KEYS = {"build", "search", "known_limits"}
DATASET_STAGE = "building the conformance dataset"
SHAPES = ("EM", "R", "EMIS", "EM+R", "none")  # the filter types `shapes` returns


class ConformanceError(MethodError):
    """A method broke the protocol (ids outside the filter, no padding, low recall ...)."""


@dataclass(frozen=True)
class ShapeResult:
    """The outcome for one filter shape: `ok`, `known limit` or `unsupported`."""

    filter_type: str
    status: str
    recall: float | None
    detail: str = ""

    def __str__(self) -> str:
        recall = "" if self.recall is None else f" recall@{K} {self.recall:.3f}"
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.filter_type:<6} {self.status}{recall}{detail}"


# ---- the method's config and test point ------------------------------------------------------
def method_config(name: str) -> dict[str, Any]:
    """The method's config file: the config tree's `method/<name>.yaml`, else the one a plugin
    ships beside its module; `{}` when there is neither."""
    from fanns_bench.configs import config_dir

    candidates = []
    try:
        candidates.append(config_dir() / "method" / f"{name}.yaml")
    except ConfigError:
        pass  # installed without a checkout: plugin configs only
    candidates.append(plugin_config_path(name))
    for path in candidates:
        if path is not None and path.is_file():
            return yaml.safe_load(path.read_text()) or {}
    return {}


def method_point(name: str, config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(build params, search params) the suite uses for method `name`."""
    pinned = config.get("conformance") or {}
    build = pinned.get("build") or expand_grid(config.get("build"), name)[0]
    search = pinned.get("search") or {
        key: (values[-1] if isinstance(values, list) else values)
        for key, values in (config.get("search") or {}).items()
    }
    return build, search


# ---- data ------------------------------------------------------------------------------------
def conformance_dataset(path: Path) -> Dataset:
    """3000 x 32 clustered vectors with a categorical, an ordered and a set attribute (seed 7)."""
    return synthetic.build(
        path,
        "conformance",
        count=3000,
        queries=40,
        dimension=32,
        latent_dimension=8,
        clusters=12,
        categories=10,
        tags=30,
        seed=7,
    )


def shapes(dataset: Dataset) -> dict[str, list[Predicate | None]]:
    """Predicates per filter shape; EMIS includes a tag rarer than most."""
    table = dataset.attributes
    categories = table.column("category").to_pylist()
    common = max(set(categories), key=categories.count)
    scores = np.sort(table.column("score").to_numpy())
    tags = [t for row in table.column("tags").to_pylist() for t in row]
    tag = max(set(tags), key=tags.count)
    rare_tag = min(set(tags), key=tags.count)
    return {
        "EM": [Eq("category", common)] * 20,
        "R": [Range("score", int(scores[300]), int(scores[900]))] * 20,
        "EMIS": [Contains("tags", tag)] * 10 + [Contains("tags", rare_tag)] * 10,
        "EM+R": [And((Eq("category", common), Range("score", 0, int(scores[2000]))))] * 20,
        "none": [None] * 20,
    }


# ---- the protocol calls ----------------------------------------------------------------------
def search(
    method: Method,
    dataset: Dataset,
    queries: np.ndarray,
    predicates: Sequence[Predicate | None],
    k: int,
    **params,
) -> np.ndarray:
    """Ids for `queries` under `predicates`, through the harness's calls: a fresh `FilterBatch`,
    `prepare_filters`, then `search` with the search parameters checked and completed; checked
    as the runner checks them (`checked_ids`)."""
    ids = run_search(method, queries, predicates, dataset.attribute_index, k, **params)
    return checked_ids(method, ids, len(queries), k, dataset.count)


# ---- the suite -------------------------------------------------------------------------------
def check_declared_without_building(cls: type[Method], build_params: dict[str, Any], kinds: dict) -> None:
    """`unsupported_reason` answers for every shape before `build`: `None` or a non-empty reason."""
    method = cls(metric="ip", threads=1, **build_params)
    for predicate in [Eq("category", "c00"), Range("score", 1, 2), Contains("tags", "t000"), None]:
        reason = method.unsupported_reason(predicate, kinds)
        if not (reason is None or (isinstance(reason, str) and reason)):
            raise ConformanceError(f"{cls.name}: unsupported_reason({predicate}) returned {reason!r}")


def check_method(
    name: str,
    dataset: Dataset,
    progress: Callable[[ShapeResult], None] | None = None,
    stage: Callable[[str], None] = lambda what: None,
) -> list[ShapeResult]:
    """Run the suite on registered method `name`; raises `ConformanceError` at the first
    violation. `stage` is told each check as it starts (`build`, `search EM`, ...)."""
    cls = get_method(name)
    config = method_config(name)
    build_params, search_params = method_point(name, config)
    kinds = dataset.attributes.kinds
    check_declared_without_building(cls, build_params, kinds)
    known_limits = (config.get("conformance") or {}).get("known_limits") or {}
    method = cls(metric=dataset.metric, threads=1, **build_params)
    results = []
    try:
        stage("build")
        _calling(f"{name}: build", method.build, dataset)
        for filter_type, predicates in shapes(dataset).items():
            reason = method.unsupported_reason(predicates[0], kinds)
            if reason is not None:
                result = ShapeResult(filter_type, "unsupported", None, reason)
            else:
                stage(f"search {filter_type}")
                result = _calling(
                    f"{name} {filter_type}",
                    _check_shape,
                    name,
                    method,
                    dataset,
                    filter_type,
                    predicates,
                    search_params,
                )
                result = _against_known_limit(name, result, known_limits.get(filter_type))
            results.append(result)
            if progress:
                progress(result)
    finally:
        method.close()
    if all(r.status == "unsupported" for r in results):
        raise ConformanceError(f"{name} supports none of the shapes {[r.filter_type for r in results]}")
    return results


def _calling(where: str, function: Callable, *args: Any) -> Any:
    """`function(*args)`; an exception other than `ConformanceError` becomes one, naming
    `where` (a method that raises fails the suite with one line)."""
    try:
        return function(*args)
    except ConformanceError:
        raise
    except Exception as error:
        raise ConformanceError(_one_line(where, error)) from error


def _one_line(where: str, error: Exception) -> str:
    """`WHERE: message` for the harness's own errors, `WHERE: Type: message` for others."""
    if isinstance(error, ConformanceError):
        return str(error)
    if isinstance(error, FannsBenchError):
        return f"{where}: {error}"
    return f"{where}: {type(error).__name__}: {error}"


def _check_shape(
    name: str,
    method: Method,
    dataset: Dataset,
    filter_type: str,
    predicates: list[Predicate | None],
    search_params: dict[str, Any],
) -> ShapeResult:
    queries = np.ascontiguousarray(dataset.queries[: len(predicates)])
    match_ids = [dataset.attributes.ids(p) for p in predicates]
    ids = search(method, dataset, queries, predicates, K, **search_params)
    for row, allowed in zip(ids, match_ids, strict=True):
        returned = row[row >= 0]
        if not np.isin(returned, allowed).all():
            raise ConformanceError(f"{name} {filter_type}: returned an id outside the filter")
        if len(set(returned.tolist())) != len(returned):
            raise ConformanceError(f"{name} {filter_type}: returned an id twice")
        if len(allowed) < K and not (row[len(allowed) :] == -1).all():
            raise ConformanceError(f"{name} {filter_type}: fewer than k matches but not padded with -1")
    truth = compute_ground_truth(queries, dataset.vectors, match_ids, K, dataset.metric)
    return ShapeResult(filter_type, "ok", recall_paper(ids, truth, K))


def _against_known_limit(name: str, result: ShapeResult, limit: str | None) -> ShapeResult:
    if limit is not None:
        if result.recall >= MIN_RECALL:
            raise ConformanceError(
                f"{name} {result.filter_type}: recall@{K} {result.recall:.3f} reaches {MIN_RECALL}; "
                "drop its known limit from the config"
            )
        return ShapeResult(result.filter_type, "known limit", result.recall, limit)
    if result.recall < MIN_RECALL:
        raise ConformanceError(f"{name} {result.filter_type}: recall@{K} {result.recall:.3f} < {MIN_RECALL}")
    return result


def run_conformance(
    name: str,
    progress: Callable[[ShapeResult], None] | None = None,
    timeout_s: float = CHECK_TIMEOUT_S,
) -> list[ShapeResult]:
    """`check_method` on a freshly built conformance dataset, in a child process that must
    finish each check (building the dataset and the index, then each shape) within
    `timeout_s`; a hang, a crash or an exception is a `ConformanceError`."""
    from fanns_bench.runner.isolation import kill_group

    cls = get_method(name)
    missing = cls.missing_dependencies()
    if missing:
        hint = f" (pip install 'fanns-bench[{cls.extra}]')" if cls.extra else ""
        raise MethodError(f"method {name!r} is not installed: missing {', '.join(missing)}{hint}")
    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    born = time.time()
    scratch = tempfile.TemporaryDirectory(prefix="fanns-conformance-")  # removed here: a killed child cannot
    child = context.Process(
        target=_child, args=(name, messages, Path(scratch.name)), name=f"conformance-{name}", daemon=True
    )
    child.start()
    results: list[ShapeResult] = []
    current = [DATASET_STAGE]
    try:
        while True:
            allowed = max(timeout_s, DATASET_TIMEOUT_S) if current[0] == DATASET_STAGE else timeout_s
            kind, payload = _next_message(name, child, messages, allowed, current[0])
            if kind == "done":
                return results
            if kind == "error":
                raise ConformanceError(payload)
            if kind == "stage":
                current[0] = payload
                continue
            results.append(payload)
            if progress:
                progress(payload)
    finally:
        if child.is_alive():
            child.kill()
        kill_group(child.pid, born)
        child.join(5)
        scratch.cleanup()


def _next_message(name: str, child: Any, messages: Any, timeout_s: float, stage: str) -> tuple[str, Any]:
    """The child's next message, or `ConformanceError` when it hangs or dies during `stage`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            return messages.get(timeout=0.2)
        except queues.Empty:
            if not child.is_alive():
                try:
                    return messages.get(timeout=1)
                except queues.Empty:
                    raise ConformanceError(
                        f"{name}: the check process died (exit status {child.exitcode}) during {stage}"
                    ) from None
    raise ConformanceError(f"{name}: no answer within {timeout_s:g} s during {stage}: the check hangs")


def _child(name: str, messages: Any, scratch: Path) -> None:
    """The child process: the suite, each result sent as it comes, then `done` (or `error`)."""
    from fanns_bench.runner.job import lead_own_session

    lead_own_session()  # what the method starts stays in this group, taken down with it
    try:
        dataset = conformance_dataset(scratch / "data")
        check_method(
            name,
            dataset,
            lambda result: messages.put(("result", result)),
            lambda what: messages.put(("stage", what)),
        )
        messages.put(("done", None))
    except Exception as error:  # noqa: BLE001 - every failure is reported as one line
        messages.put(("error", _one_line(name, error)))


# ---- checks shared by the per-method tests ---------------------------------------------------
COLORS = ["red", "green", "blue", 'O\'Brien "quoted"']
RARE = Eq("color", "rare")  # 4 items: fewer than k

PREDICATES: dict[str, Predicate | None] = {
    "eq": Eq("color", COLORS[3]),
    "in": In("color", ("red", "blue")),
    "range": Range("year", 10, 19),
    "contains": Contains("tags", "t3"),
    "contains_any": ContainsAny("tags", ("t1", "t2")),
    "contains_all": ContainsAll("tags", ("t1", "t2")),
    "and_or_not": And((Or((Eq("color", "red"), Eq("flag", True))), Not(Contains("tags", "t0")))),
    "none": None,
}


def predicates(*names: str) -> dict[str, Predicate | None]:
    """The named entries of `PREDICATES`."""
    return {name: PREDICATES[name] for name in names}


def small_dataset(path: Path, *, nullable_license: bool = False) -> Dataset:
    """3000 x 32 unit vectors (metric ip), 30 queries; `color` (categorical, values `COLORS`,
    `"rare"` on 4 items), `year` (0..99), `tags` (3 of t0..t19), `flag` (~30% true), and with
    `nullable_license` a string column `license` of "mit", "gpl" or null."""
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = rng.standard_normal((30, 32)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    color = np.array(COLORS)[rng.integers(0, len(COLORS), 3000)]
    color[rng.choice(3000, 4, replace=False)] = "rare"
    license_ = (
        pa.array(["mit", "gpl", None]).take(pa.array(rng.integers(0, 3, 3000))) if nullable_license else None
    )
    columns = {
        "color": color,
        "year": rng.integers(0, 100, 3000),
        "tags": [[f"t{j}" for j in rng.choice(20, 3, replace=False)] for _ in range(3000)],
        "flag": rng.random(3000) < 0.3,
    }
    if license_ is not None:
        columns["license"] = license_
    return write_dataset(
        path,
        name="small",
        vectors=vectors,
        queries=queries,
        attributes=pa.table(columns),
        metric="ip",
        builder="test",
    )


def run(method: Method, dataset: Dataset, predicate, k: int = 10, **params) -> tuple[np.ndarray, list]:
    """Search every query of `dataset` under one predicate; return the ids and the exact top-k."""
    queries = np.asarray(dataset.queries)
    ids = dataset.attributes.ids(predicate)
    found = search(method, dataset, queries, [predicate] * len(queries), k, **params)
    truth = [exact_filtered_top_k(q, dataset.vectors, ids, k, "ip")[0] for q in queries]
    return found, truth


def recall(found: np.ndarray, truth: Sequence[np.ndarray]) -> float:
    """Share of the true neighbours found (padding ignored)."""
    hits = sum(
        len(set(row[row >= 0].tolist()) & set(t.tolist())) for row, t in zip(found, truth, strict=True)
    )
    return hits / sum(len(t) for t in truth)


def batch_recall(dataset: Dataset, found: np.ndarray, match_ids: Sequence[np.ndarray], k: int) -> float:
    """Recall@k of a batch whose queries each have their own filter (`match_ids` per row)."""
    truth = [
        exact_filtered_top_k(query, dataset.vectors, ids, k, dataset.metric)[0]
        for query, ids in zip(dataset.queries, match_ids, strict=True)
    ]
    return recall(found, truth)


def check_satisfies_with_recall(method, dataset: Dataset, predicate, minimum: float = 0.9, **params) -> None:
    """Every returned id matches `predicate`; recall@10 is at least `minimum`."""
    found, truth = run(method, dataset, predicate, **params)
    allowed = set(dataset.attributes.ids(predicate).tolist())
    _require(set(found[found >= 0].tolist()) <= allowed, f"{method.name}: an id outside {predicate}")
    reached = recall(found, truth)
    _require(reached >= minimum, f"{method.name} {predicate}: recall {reached:.3f} < {minimum}")


def check_rare_padded(method, dataset: Dataset, *, all_found: bool = True, **params) -> None:
    """`RARE` (4 matches): the rows hold only those items (with `all_found`, all 4 first), then -1."""
    found, _ = run(method, dataset, RARE, **params)
    rare = sorted(dataset.attributes.ids(RARE).tolist())
    if all_found:
        _require(all(sorted(row[:4].tolist()) == rare for row in found), f"{method.name}: missed a rare item")
    else:
        _require(set(found[found >= 0].tolist()) <= set(rare), f"{method.name}: an id outside {RARE}")
    _require((found[:, 4:] == -1).all(), f"{method.name}: fewer than k matches but not padded with -1")


def check_no_match_is_all_padding(method, dataset: Dataset, **params) -> None:
    """A value no item has gives rows of -1 only."""
    found, _ = run(method, dataset, Eq("color", "purple"), **params)
    _require((found == -1).all(), f"{method.name}: ids returned for a filter nothing matches")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConformanceError(message)


def unreachable_items(
    method: Method, dataset: Dataset, predicate: Predicate | None = None, k: int = 10, **params: Any
) -> list[int]:
    """Items that a search for their own vector does not return (the method is built on
    `dataset`). Each item matching `predicate` (default None: every item, an all-pass filter)
    is queried with its own vector under that predicate; an item among the exact top-k of
    its own vector that is not returned cannot be reached by the method's search (a graph
    node without usable in-links)."""
    vectors = np.ascontiguousarray(dataset.vectors, dtype=np.float32)
    ids = dataset.attributes.ids(predicate) if predicate is not None else np.arange(dataset.count)
    queries = vectors[ids]
    found = run_search(method, queries, [predicate] * len(ids), dataset.attribute_index, k, **params)
    missing = []
    for row, item, query in zip(found, ids, queries, strict=True):
        if item in row:
            continue
        if item in exact_filtered_top_k(query, vectors, ids, k, dataset.metric)[0]:
            missing.append(int(item))
    return missing
