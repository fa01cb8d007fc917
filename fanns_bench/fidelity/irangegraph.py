"""iRangeGraph (iffp/iRangeGraph `dcfa050`): `index_construction` + `query_execution`
(files: sorted_ranges.py; the search program takes M again as its edge limit)."""

from __future__ import annotations

from typing import Any, ClassVar

from fanns_bench.fidelity.data import POSITION
from fanns_bench.fidelity.sorted_ranges import SortedRangeAdapter


class IRangeGraphAdapter(SortedRangeAdapter):
    method = "irangegraph"
    repository = "github.com/iffp/iRangeGraph (dcfa050)"
    # the benchmark paper's medium grid
    build: ClassVar[dict[str, Any]] = {"attribute": POSITION, "M": 32, "ef_construction": 200}
    build_options: ClassVar[dict[str, str]] = {"M": "M", "ef_construction": "ef_construction"}
    search_build_options = ("M",)
    index_option = "--index_file"
    ef_option = "--ef_search"


ADAPTER = IRangeGraphAdapter()
