"""DSG (iffp/DSG `fb1865f`): `index_construction` + `query_execution` (files: sorted_ranges.py)."""

from __future__ import annotations

from typing import Any, ClassVar

from fanns_bench.fidelity.data import POSITION
from fanns_bench.fidelity.sorted_ranges import SortedRangeAdapter


class DsgAdapter(SortedRangeAdapter):
    method = "dsg"
    repository = "github.com/iffp/DSG (fb1865f)"
    # the benchmark paper's medium grid
    build: ClassVar[dict[str, Any]] = {
        "attribute": POSITION,
        "M": 24,
        "ef_construction": 200,
        "ef_max": 500,
        "alpha": 1.0,
    }
    build_options: ClassVar[dict[str, str]] = {
        "M": "M",
        "ef_construction": "ef_construction",
        "ef_max": "ef_max",
        "alpha": "alpha",
    }
    index_option = "--index_path"
    ef_option = "--search_ef"


ADAPTER = DsgAdapter()
