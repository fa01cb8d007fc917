"""Finding and composing the Hydra config tree.

Composition rules on top of Hydra's own (both `fanns-bench run` and `validate` apply them):
- a bare word is an experiment name (`fanns-bench run laptop`); `~`, `+`, `++` keep Hydra's meaning;
- every group choice (`experiment=`, `method=`, `dataset=`, `workload=`, `runner=`) must name an
  existing config, else a `ConfigError` lists the valid ones;
- the methods run are exactly those chosen for the `method` group (plus any added with `+method.x`):
  an experiment's per-method grids apply to the chosen methods and never add methods of their own;
- method configs shipped by plugins (`<name>.yaml` beside the method's module) are options of the
  `method` group like the files in `configs/method/`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fanns_bench.errors import ConfigError

GROUPS = ("experiment", "dataset", "workload", "method", "runner")
PLURAL = {"dataset": "datasets", "workload": "workloads", "method": "methods", "experiment": "experiments"}
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


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
    """A bare word is an experiment name (`laptop` -> `experiment=laptop`); Hydra syntax passes."""
    return [f"experiment={a}" if "=" not in a and NAME.match(a) else a for a in arguments]


def group_options(group: str) -> list[str]:
    """The config names one may choose for `group` (plugin method configs included)."""
    names = {path.stem for path in (config_dir() / group).glob("*.yaml")}
    if group == "method":
        from fanns_bench.methods.registry import plugin_configs

        names |= set(plugin_configs())
    return sorted(names)


def register_plugin_configs() -> None:
    """Offer each plugin's shipped method config to Hydra as `method=<name>`.

    A file in the config tree's `method/` folder of the same name takes precedence.
    """
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    from fanns_bench.methods.registry import plugin_configs

    local = {path.stem for path in (config_dir() / "method").glob("*.yaml")}
    store = ConfigStore.instance()
    for name, path in plugin_configs().items():
        if name in local:
            continue
        try:
            node = OmegaConf.load(path)
        except Exception as error:  # noqa: BLE001 - one broken plugin config must not stop the rest
            raise ConfigError(f"method {name!r}: cannot read its config {path}: {error}") from None
        if "name" not in node:
            node.name = name
        store.store(group="method", name=name, node=node, package=f"method.{name}", provider="fanns_bench")


def check_choices(overrides: list[str]) -> None:
    """Every group choice in `overrides` names an existing config, else `ConfigError`."""
    for group, option in _choices(overrides):
        options = group_options(group)
        if group == "method" and option not in options:
            _explain_missing_method_config(option)
        if option not in options:
            raise ConfigError(
                f"unknown {group} {option!r}; available {PLURAL.get(group, group)}: {', '.join(options)}"
            )


def _explain_missing_method_config(name: str) -> None:
    """A registered method without a config: its import error, or where the config belongs."""
    from fanns_bench.methods.registry import RENAMED, get_method, method_names

    if name in RENAMED:
        raise ConfigError(f"method {name!r} is now {RENAMED[name]!r}; use the new name")
    if name in method_names():
        get_method(name)  # raises MethodError naming the import failure of a broken plugin
        raise ConfigError(
            f"method {name!r} is registered but has no config: add configs/method/{name}.yaml, "
            f"or ship {name}.yaml beside the module that defines the method"
        )


def _choices(overrides: list[str]) -> Iterator[tuple[str, str]]:
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as error:
        raise ConfigError(f"cannot parse the overrides: {error}") from None
    for override in parsed:
        group = override.key_or_group
        if group not in GROUPS or override.is_delete() or override.value() is None:
            continue
        if override.is_sweep_override():
            values: list[Any] = list(override.sweep_string_iterator())
        else:
            value = override.value()
            values = value if isinstance(value, list) else [value]
        for value in values:
            for option in value if isinstance(value, list) else [value]:
                yield group, str(option)


def selected_methods(loader: Any, overrides: list[str]) -> set[str]:
    """Keys of `method.*` the run should keep: the `method` group's choices after every
    override (Hydra's defaults list), plus keys an override adds with `+`/`++`."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.types import RunMode

    defaults = loader.compute_defaults_list("config", overrides, RunMode.RUN).defaults
    keys = {
        default.package.partition(".")[2]
        for default in defaults
        if default.config_path and default.config_path.startswith("method/") and default.package
    }
    for override in OverridesParser.create().parse_overrides(overrides):
        parts = override.key_or_group.split(".")
        if parts[0] == "method" and len(parts) > 1 and (override.is_add() or override.is_force_add()):
            keys.add(parts[1])
    return keys


def keep_selected_methods(config: dict[str, Any], selected: set[str]) -> dict[str, Any]:
    """`config` whose `method` holds only the `selected` keys (an experiment's grids for
    other methods dropped)."""
    methods = config.get("method") or {}
    return {**config, "method": {key: value for key, value in methods.items() if key in selected}}


def prepare_overrides(arguments: list[str]) -> list[str]:
    """Normalised, checked overrides, with plugin method configs registered."""
    overrides = normalise_overrides(arguments)
    register_plugin_configs()
    check_choices([o for o in overrides if not o.startswith("-")])  # not --multirun and the like
    return overrides


def compose(arguments: list[str]) -> dict[str, Any]:
    """Compose the config (as `fanns-bench run` would) into a plain resolved dict."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    overrides = prepare_overrides(arguments)
    try:
        with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
            config = hydra_compose(config_name="config", overrides=overrides)
            plain = OmegaConf.to_container(config, resolve=True)
            selected = selected_methods(GlobalHydra.instance().config_loader(), overrides)
            return keep_selected_methods(plain, selected)
    except (HydraException, OmegaConfBaseException) as error:
        raise ConfigError(f"config: {error}") from None
