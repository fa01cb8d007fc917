"""Finding and composing the Hydra config tree."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fanns_bench.errors import ConfigError


def config_dir() -> Path:
    """The config tree: $FANNS_BENCH_CONFIGS, else ./configs, else the checkout's configs/."""
    candidates = [
        os.environ.get("FANNS_BENCH_CONFIGS"),
        Path.cwd() / "configs",
        Path(__file__).resolve().parent.parent / "configs",
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "config.yaml").is_file():
            return Path(candidate).resolve()
    raise ConfigError(
        "no configs/config.yaml found: run from the fanns-bench checkout or set FANNS_BENCH_CONFIGS"
    )


def normalise_overrides(arguments: list[str]) -> list[str]:
    """A bare word is an experiment name (`laptop` -> `experiment=laptop`)."""
    return [a if "=" in a or a.startswith("-") else f"experiment={a}" for a in arguments]


def compose(overrides: list[str]) -> dict[str, Any]:
    """Compose the config (as `fanns-bench run` would) into a plain resolved dict."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
            config = hydra_compose(config_name="config", overrides=normalise_overrides(overrides))
            return OmegaConf.to_container(config, resolve=True)
    except (HydraException, OmegaConfBaseException) as error:
        raise ConfigError(f"config: {error}") from None
