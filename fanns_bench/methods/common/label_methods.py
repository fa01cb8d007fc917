"""What the compiled label-filtered methods (FilteredVamana, StitchedVamana, CAPS) share:
declared parameters resolved at construction, the `label_attribute` list, and persistence of
the label vocabulary beside the compiled index files."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, ClassVar

from fanns_bench.errors import ConfigError, MethodError
from fanns_bench.methods.base import Method
from fanns_bench.methods.common.labels import LabelEncoding
from fanns_bench.methods.params import Param

LABEL_ATTRIBUTE = Param(
    str,
    "",
    "attribute(s) whose values become labels, comma-separated (e.g. 'category' or 'category,tags')",
)
SEED = Param(int, 0, "seed of the build's random choices", minimum=0)
DETERMINISTIC = Param(bool, False, "single-threaded build, identical for a seed")


def attribute_names(method: str, value: str) -> list[str]:
    """`label_attribute` as a list of names; an empty value is a `ConfigError`."""
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise ConfigError(
            f"{method} needs the build parameter 'label_attribute': the attribute(s) whose values "
            "become labels, e.g. 'category' or 'category,tags'"
        )
    return names


class LabelMethod(Method):
    """Base of the compiled label-filtered methods (parameters declared once)."""

    requires: ClassVar[tuple[str, ...]] = ("fanns_bench._core",)
    threading = "threads"

    def __init__(self, metric: str, threads: int = 1, **build_params: Any) -> None:
        super().__init__(metric, threads, **build_params)
        if metric not in ("ip", "l2"):
            raise MethodError(f"{self.name}: metric must be 'ip' or 'l2', got {metric!r}")
        self.label_attributes = attribute_names(self.name, self.build_params["label_attribute"])
        self._stats: dict[str, float] = {}

    def build_threads_used(self) -> int:
        """1 for a deterministic build (identical for a seed), else `threads`."""
        return 1 if self.build_params["deterministic"] else max(1, int(self.threads))

    def stats(self) -> dict[str, float]:
        """`distance_computations`: mean per query of the last `search`."""
        return dict(self._stats)

    def check_queries(self, queries: Any, dim: int) -> None:
        if queries.ndim != 2 or queries.shape[1] != dim:
            raise MethodError(f"{self.name}: queries must have shape (n, {dim}), got {queries.shape}")


def save_encodings(directory: Path, encodings: list[LabelEncoding], meta: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "labels.pkl", "wb") as handle:
        pickle.dump({"encodings": encodings, "meta": meta}, handle)


def load_encodings(method: str, directory: Path) -> tuple[list[LabelEncoding], dict[str, Any]]:
    path = directory / "labels.pkl"
    try:
        with open(path, "rb") as handle:
            saved = pickle.load(handle)
        return saved["encodings"], saved["meta"]
    except (OSError, pickle.UnpicklingError, KeyError, EOFError) as error:
        raise MethodError(f"{method}: cannot read the label vocabulary {path}: {error}") from None
