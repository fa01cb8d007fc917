"""`across_builds`: one line per measurement point with the spread over its repeated builds."""

import pandas as pd

from fanns_bench.report.frame import POINT_KEYS, across_builds


def _row(**values):
    base = dict.fromkeys(POINT_KEYS, "x") | {"selectivity_bucket": 0.1, "k": 10, "threads": 1}
    return base | values


def test_rows_differing_only_in_build_repeat_are_one_point():
    frame = pd.DataFrame(
        [
            _row(build_repeat=0, deterministic=True, recall=0.90, qps=100.0),
            _row(build_repeat=1, deterministic=True, recall=0.92, qps=300.0),
            _row(build_repeat=2, deterministic=True, recall=0.91, qps=200.0),
            _row(search_params="y", build_repeat=0, deterministic=False, recall=0.5, qps=10.0),
        ]
    )
    spread = across_builds(frame).set_index("search_params")
    assert spread.loc["x", "builds"] == 3 and bool(spread.loc["x", "deterministic"])
    assert (spread.loc["x", "recall_min"], spread.loc["x", "recall_max"]) == (0.90, 0.92)
    assert spread.loc["x", "qps_median"] == 200.0
    assert spread.loc["y", "builds"] == 1 and not spread.loc["y", "deterministic"]


def test_older_rows_without_the_columns_are_single_builds():
    frame = pd.DataFrame([_row(recall=0.9, qps=1.0), _row(recall=0.8, qps=2.0, method="m2")])
    spread = across_builds(frame)
    assert list(spread.builds) == [1, 1] and not spread.deterministic.any()
