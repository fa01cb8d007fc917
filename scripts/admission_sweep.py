"""Can any policy of the kind `recommend` learns pass targets (a) and (b) on a held-out draw?

A policy admits, per cell, the single configurations whose recall bound on the learning draw
(`recall - z x its standard error`, `choose.recall_lower_bound`) reaches a threshold, and
picks the fastest of them. For every threshold in a sweep and each z, this prints how that
pick fares on the held-out draw: the cells where it misses the recall (target (a)) and those
where it is slower than `1 - band` times the cell's fastest single configuration reaching the
recall there (target (b), the best known only in hindsight). It also prints the cells whose
best on one draw misses the recall on the other. Single-process figures of the two folders'
rows (the runoff's and the paired grade's are steadier): the sweep's shape, not a grade.
Usage: python scripts/admission_sweep.py LEARNING_DIR HELD_OUT_DIR [--recall 0.9] [--band 0.1]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from fanns_bench.recommend.choose import CELL_KEYS, is_router, recall_lower_bound
from fanns_bench.report.frame import load_frame, ok_points

CONFIG = [*CELL_KEYS, "k", "threads", "method", "build_params", "search_params"]


def single_rows(folder: Path, z: float) -> pd.DataFrame:
    """The folder's usable single-method rows: configuration, recall, its bound at `z`, QPS."""
    points = ok_points(load_frame(folder))
    points = points[~is_router(points)]
    return points[CONFIG].assign(
        recall=points["recall"].astype(float), bound=recall_lower_bound(points, z), qps=points["qps"]
    )


def sweep(both: pd.DataFrame, threshold: float, recall: float, band: float) -> tuple[list[str], list[str]]:
    """(cells where the pick misses the recall held out, cells where it is slower than the band)."""
    missed, slower = [], []
    for (filter_type, bucket), cell in both.groupby(CELL_KEYS, sort=True):
        reaching = cell[cell["recall_held"] >= recall]
        if reaching.empty:
            continue
        name = f"{filter_type} {bucket:g}"
        admitted = cell[cell["bound_learn"] >= threshold]
        if admitted.empty:
            missed.append(name)
            continue
        pick = admitted.loc[admitted["qps_learn"].idxmax()]
        if pick["recall_held"] < recall:
            missed.append(name)
        elif pick["qps_held"] < (1 - band) * reaching["qps_held"].max():
            slower.append(f"{name} {pick['qps_held'] / reaching['qps_held'].max():.2f}x")
    return missed, slower


def unstable(both: pd.DataFrame, recall: float, first: str, other: str) -> list[str]:
    """Cells whose fastest configuration reaching `recall` on draw `first` misses it on `other`."""
    cells = []
    for (filter_type, bucket), cell in both.groupby(CELL_KEYS, sort=True):
        reaching = cell[cell[f"recall_{first}"] >= recall]
        if len(reaching):
            best = reaching.loc[reaching[f"qps_{first}"].idxmax()]
            if best[f"recall_{other}"] < recall:
                cells.append(
                    f"{filter_type} {bucket:g} {best['method']} "
                    f"({best[f'recall_{first}']:.3f} -> {best[f'recall_{other}']:.3f})"
                )
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("learning", type=Path)
    parser.add_argument("held_out", type=Path)
    parser.add_argument("--recall", type=float, default=0.9)
    parser.add_argument("--band", type=float, default=0.1)
    args = parser.parse_args()
    for z in (0.0, 1.0):
        both = single_rows(args.learning, z).merge(
            single_rows(args.held_out, z), on=CONFIG, suffixes=("_learn", "_held")
        )
        if z == 0:
            cells = both.groupby(CELL_KEYS).ngroups
            print(f"{cells} cells, {len(both)} configurations measured on both draws")
            for first, other in (("held", "learn"), ("learn", "held")):
                found = unstable(both, args.recall, first, other)
                print(f"best on the {first} draw below {args.recall:g} on the {other}: {len(found)}: {found}")
        for threshold in np.round(np.arange(args.recall - 0.15, args.recall + 0.051, 0.01), 3):
            missed, slower = sweep(both, threshold, args.recall, args.band)
            print(
                f"z {z:g}, bound >= {threshold:.2f}: (a) misses {len(missed)} {missed}; "
                f"(b) slower {len(slower)} {slower}"
            )


if __name__ == "__main__":
    main()
