"""Each compiled method's build parameters are declared once per language: the Python method's
`Param`s and the core class's field list (`_core.<Index>.param_fields()`, from the C++
parameter struct). They must agree on names, types and bounds."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fanns_bench import _core
from fanns_bench.methods.common.compiled import CompiledIndexMethod
from fanns_bench.methods.params import Param
from fanns_bench.methods.registry import builtin_method_names, get_method

COMPILED = sorted(
    name for name in builtin_method_names() if issubclass(get_method(name), CompiledIndexMethod)
)
# the repository root, wherever this file sits below it (tests/ or tests/core/)
ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())
Field = tuple[str, float | None, float | None]


def python_fields(declared: Mapping[str, Param], harness: frozenset[str]) -> dict[str, Field]:
    """The Python method's build parameters that the core declares too: type name and bounds."""
    return {
        name: (p.type.__name__, p.minimum, p.maximum) for name, p in declared.items() if name not in harness
    }


def core_fields(fields: list[tuple[str, str, Any, Any]]) -> dict[str, Field]:
    return {name: (kind, low, high) for name, kind, low, high in fields}


def mismatches(python: dict[str, Field], core: dict[str, Field]) -> list[str]:
    """One line per parameter on which the two declarations differ."""
    lines = [f"{name}: Python only" for name in sorted(python.keys() - core.keys())]
    lines += [f"{name}: core only" for name in sorted(core.keys() - python.keys())]
    for name in sorted(python.keys() & core.keys()):
        if python[name] != core[name]:  # 2 == 2.0, None == None
            lines.append(f"{name}: Python {python[name]} != core {core[name]}")
    return lines


def test_every_compiled_method_is_covered() -> None:
    assert {"digra", "acorn_gamma", "acorn_1_ref", "filtered_vamana", "nhq_kgraph", "caps"} <= set(COMPILED)


@pytest.mark.parametrize("name", COMPILED)
def test_python_params_equal_core_fields(name: str) -> None:
    method = get_method(name)
    core_class = getattr(_core, method.core_class)
    python = python_fields(method.build_parameters, method.harness_parameters)
    assert mismatches(python, core_fields(core_class.param_fields())) == []


def test_a_changed_bound_is_a_mismatch() -> None:
    method = get_method("digra")
    declared = dict(method.build_parameters)
    declared["fanout"] = Param(int, 4, "children per tree node", minimum=2, maximum=1000)
    python = python_fields(declared, method.harness_parameters)
    assert mismatches(python, core_fields(_core.DigraIndex.param_fields())) == [
        "fanout: Python ('int', 2, 1000) != core ('int', 2, 1024)"
    ]
    declared["extra"] = Param(float, 1.0, "not in the core")
    assert "extra: Python only" in mismatches(python_fields(declared, frozenset()), {})


DIGRA = {"M": 8, "ef_construction": 20, "fanout": 3, "leaf_size": 4, "seed": 7, "storage": "float32"}


def test_core_bounds_error_names_parameter_value_and_bound() -> None:
    with pytest.raises(ValueError, match=r"^fanout must be in \[2, 1024\], got 2000$"):
        _core.DigraIndex(4, "l2", **(DIGRA | {"fanout": 2000}))
    with pytest.raises(ValueError, match=r"^ef_construction must be >= 1, got 0$"):
        _core.DigraIndex(4, "l2", **(DIGRA | {"ef_construction": 0}))


def test_core_keywords_are_required_and_known() -> None:
    without_seed = {k: v for k, v in DIGRA.items() if k != "seed"}
    with pytest.raises(TypeError, match="missing keyword argument 'seed'"):
        _core.DigraIndex(4, "l2", **without_seed)
    with pytest.raises(TypeError, match="unexpected keyword argument.*'fanot'"):
        _core.DigraIndex(4, "l2", **DIGRA, fanot=3)
    with pytest.raises(TypeError, match="keyword argument 'M' must be int"):
        _core.DigraIndex(4, "l2", **(DIGRA | {"M": "eight"}))


def test_params_dict_and_file_layout_are_unchanged(tmp_path) -> None:
    """`params` lists metric, storage, then the fields; the file keeps format 1's layout
    (magic, version, metric, storage, int32 M/ef_construction/fanout/leaf_size, uint64 seed)."""
    index = _core.DigraIndex(4, "l2", **DIGRA)
    rng = np.random.default_rng(0)
    index.build(rng.standard_normal((40, 4), dtype=np.float32), np.arange(40, dtype=np.int64), 1)
    assert index.params == {"metric": "l2", **DIGRA}
    assert list(index.params) == ["metric", "storage", "M", "ef_construction", "fanout", "leaf_size", "seed"]
    path = tmp_path / "digra.idx"
    index.save(str(path))
    head = path.read_bytes()[:38]
    assert head[:8] == b"FANNSDGR" and struct.unpack("<I", head[8:12]) == (1,)
    assert struct.unpack("<4iQ", head[14:38]) == (8, 20, 3, 4, 7)
    assert _core.DigraIndex.load(str(path)).params == index.params


def test_nhq_kgraph_reads_format_1(tmp_path) -> None:
    """Format 1 (the struct's raw bytes, written by the core before the field list) still loads; a save
    writes format 2 (the fields one by one), which loads to the same index."""
    old = _core.NhqKGraphIndex.load(str(ROOT / "tests" / "fixtures" / "nhq_kgraph_v1.idx"))
    params = {"K": 4, "L": 6, "iter": 2, "S": 3, "R": 5, "RANGE": 4, "PL": 3, "B": 0.5, "M": 1.0, "seed": 9}
    assert old.params == {"metric": "l2", "attributes": 1, **params}
    neighbors = [[9], [11, 5, 2], [7, 6, 1], [7], [10], [8, 1, 6], [5, 2], [2, 3], [5, 11, 9, 10], [8, 0]]
    assert [old.neighbors(i) for i in range(10)] == neighbors
    path = tmp_path / "kgraph.idx"
    old.save(str(path))
    assert struct.unpack("<I", path.read_bytes()[8:12]) == (2,)
    new = _core.NhqKGraphIndex.load(str(path))
    assert new.params == old.params and [new.neighbors(i) for i in range(10)] == neighbors
