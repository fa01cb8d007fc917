"""What the compiled label-filtered methods (FilteredVamana, StitchedVamana, CAPS) share:
declared parameters resolved at construction, the `label_attribute` list, and persistence of
the label vocabulary beside the compiled index files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fanns_bench.errors import ConfigError
from fanns_bench.methods.common.compiled import CompiledIndexMethod, load_sidecar, save_sidecar
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


class LabelMethod(CompiledIndexMethod):
    """Base of the compiled label-filtered methods (parameters declared once)."""

    deterministic_build = "one_thread"
    nondeterminism = (
        "a parallel build (Vamana insertion, k-means) depends on the order threads reach items "
        "(build param `deterministic` or runner.deterministic_builds: one thread)"
    )

    def __init__(self, metric: str, threads: int = 1, **build_params: Any) -> None:
        super().__init__(metric, threads, **build_params)
        self.label_attributes = attribute_names(self.name, self.build_params["label_attribute"])

    def build_threads_used(self) -> int:
        """1 for a deterministic build (identical for a seed), else `threads`."""
        return 1 if self.build_params["deterministic"] else max(1, int(self.threads))


def save_encodings(directory: Path, encodings: list[LabelEncoding], meta: dict[str, Any]) -> None:
    save_sidecar(directory / "labels.pkl", {"encodings": encodings, "meta": meta})


def load_encodings(method: str, directory: Path) -> tuple[list[LabelEncoding], dict[str, Any]]:
    saved = load_sidecar(method, directory / "labels.pkl", "label vocabulary", ("encodings", "meta"))
    return saved["encodings"], saved["meta"]
