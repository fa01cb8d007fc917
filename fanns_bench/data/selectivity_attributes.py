"""Synthetic attributes that set a query's selectivity exactly, as the seed paper's
selectivity study does (Iff et al., arXiv:2507.21989v2, §5.9: "synthetic attributes" on the
medium set, selectivities 0.2 / 0.4 / 0.6 / 0.8, one index and one parameter search per level).

Added beside a dataset's real attributes, one set of columns per `levels` (l = 100 x level):

- `em_<l>`    categorical: "s" on exactly round(level x N) random items, the rest spread over
              `OTHER_VALUES` values of ~(1 - level) / 50 each, so `em_<l> == "s"` is the only
              value of the column whose selectivity is near `level` (an EM filter per level,
              and a label index per level, as the paper builds one per selectivity)
- `r_sel`     ordered: a random permutation of 0..N-1, so a range of w values matches w items
- `emis_sel`  set: holds "s<l>" on exactly round(level x N) random items, drawn per level
              independently, so `"s<l>" in emis_sel` matches the level's fraction
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from fanns_bench.errors import ConfigError

OTHER_VALUES = 50


def level_name(level: float) -> str:
    """0.2 -> "20" (the suffix of `em_20`, the label `s20`)."""
    return f"{round(level * 100):d}"


def selectivity_attribute_kinds(levels: Sequence[float]) -> dict[str, str]:
    """The kinds of the columns `add_selectivity_attributes` appends for `levels`."""
    if not levels:
        return {}
    return {**{f"em_{level_name(x)}": "categorical" for x in levels}, "r_sel": "ordered", "emis_sel": "set"}


def add_selectivity_attributes(table: pa.Table, levels: Sequence[float], seed: int = 0) -> pa.Table:
    """`table` with the `em_<l>`, `r_sel` and `emis_sel` columns for `levels` appended."""
    bad = [level for level in levels if not 0 < level < 1]
    if bad or not levels:
        raise ConfigError(f"selectivity_levels: expected values in (0, 1), got {list(levels)}")
    taken = [
        name
        for name in ("r_sel", "emis_sel", *(f"em_{level_name(x)}" for x in levels))
        if name in table.column_names
    ]
    if taken:
        raise ConfigError(f"selectivity_levels: the dataset already has attributes {taken}")
    count = table.num_rows
    rng = np.random.default_rng(seed)
    sets: list[list[str]] = [[] for _ in range(count)]
    for level in sorted(levels):
        chosen = rng.permutation(count)[: round(level * count)]
        values = np.array([f"o{v:02d}" for v in rng.integers(0, OTHER_VALUES, count)], dtype=object)
        values[chosen] = "s"
        table = table.append_column(f"em_{level_name(level)}", pa.array(values.tolist(), pa.string()))
        for item in rng.permutation(count)[: round(level * count)]:
            sets[item].append(f"s{level_name(level)}")
    table = table.append_column("r_sel", pa.array(rng.permutation(count), pa.int64()))
    return table.append_column("emis_sel", pa.array([sorted(s) for s in sets], pa.list_(pa.string())))
