"""Compose every experiment as `fanns-bench run` would and write each resolved config as YAML
into a folder, so that a refactor of the config tree can be checked by diffing two folders:

    python scripts/compose_configs.py /tmp/after
    FANNS_BENCH_CONFIGS=/tmp/base/configs python scripts/compose_configs.py /tmp/before
    diff -r /tmp/before /tmp/after

Writes `<experiment>.yaml` for every config of the `experiment` group and `default.yaml` (no
experiment), keys sorted (`--keep-order`: in composition order, to check that too). The config
tree is the one `fanns-bench` finds ($FANNS_BENCH_CONFIGS, else ./configs); paper_medium's dataset
reads $ARXIV_RECORDS, so set it (to anything) for both runs. Exit 0; 2 with one
line naming the experiment when one does not compose.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from fanns_bench.atomic_files import write_text_atomic
from fanns_bench.configs import compose, config_dir, group_options
from fanns_bench.errors import ConfigError

NO_EXPERIMENT = "default"


def composed(experiment: str) -> dict:
    """The resolved config of `experiment` (NO_EXPERIMENT: the root config alone)."""
    try:
        return compose([] if experiment == NO_EXPERIMENT else [f"experiment={experiment}"])
    except ConfigError as error:
        raise ConfigError(f"experiment {experiment!r}: {error}") from None


def write_all(out: Path, keep_order: bool) -> list[Path]:
    """One YAML file per experiment (and the root config) under `out`; the paths written."""
    written = []
    for experiment in [NO_EXPERIMENT, *group_options("experiment")]:
        text = yaml.safe_dump(composed(experiment), sort_keys=not keep_order, allow_unicode=True)
        written.append(write_text_atomic(out / f"{experiment}.yaml", text))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the <experiment>.yaml files")
    parser.add_argument("--keep-order", action="store_true", help="keys in composition order, not sorted")
    args = parser.parse_args(argv)
    try:
        written = write_all(args.out, args.keep_order)
    except ConfigError as error:
        print(f"compose_configs: {error}", file=sys.stderr)
        return 2
    print(f"{len(written)} configs from {config_dir()} written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
