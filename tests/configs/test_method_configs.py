"""Every shipped grid (method configs, named points and the experiments' per-method grids) names only
declared parameters with values of the declared types."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fanns_bench.methods.params import check_grid
from fanns_bench.methods.registry import get_method

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def shipped_grids() -> list[tuple[str, str, dict]]:
    grids = []
    for path in sorted((CONFIGS / "method").glob("*.yaml")):
        config = yaml.safe_load(path.read_text()) or {}
        grids.append((path.name, config.get("name", path.stem), config))
    for path in sorted((CONFIGS / "point").glob("*/*.yaml")):  # a point serves <group> and <group>_ref
        config = yaml.safe_load(path.read_text()) or {}
        for name in (path.parent.name, f"{path.parent.name}_ref"):
            if name == path.parent.name or (CONFIGS / "method" / f"{name}.yaml").is_file():
                grids.append((f"point/{path.parent.name}/{path.name}:{name}", name, config))
    for path in sorted((CONFIGS / "experiment").glob("*.yaml")):
        methods = (yaml.safe_load(path.read_text()) or {}).get("method") or {}
        for key, config in methods.items():
            config = config or {}
            grids.append((f"{path.name}:{key}", config.get("name", key), config))
    return grids


@pytest.mark.parametrize(
    ("where", "name", "config"), shipped_grids(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_shipped_grids_match_the_declarations(where, name, config):
    cls = get_method(name)
    check_grid(name, "build", cls.build_parameters, config.get("build") or {})
    check_grid(name, "search", cls.search_parameters, config.get("search") or {})
