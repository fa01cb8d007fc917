"""Pareto frontiers, QPS at recall and method styles, on hand-made points."""

import math
from collections import Counter

import pandas as pd

from fanns_bench.report.pareto import (
    best_at_recall,
    max_recall_rows,
    pareto_frontier,
    pareto_frontiers,
    qps_at_recall,
)
from fanns_bench.report.styles import COLORS, method_styles, registered_slots


def points(rows, method="alpha", bucket=0.1, status="ok"):
    """Rows (recall, qps, search_params) of one curve, with the group columns filled in."""
    return pd.DataFrame(
        [
            {
                "dataset": "tiny",
                "filter_type": "EM",
                "selectivity_bucket": bucket,
                "k": 10,
                "threads": 1,
                "method": method,
                "status": status,
                "recall": recall,
                "qps": qps,
                "build_params": '{"M": 16}',
                "search_params": search,
            }  # fmt: skip
            for recall, qps, search in rows
        ]
    )


CURVE = points(
    [
        (0.5, 1000.0, "a"),
        (0.6, 700.0, "b"),  # dominated by (0.7, 800)
        (0.7, 800.0, "c"),
        (0.7, 800.0, "c2"),  # exact duplicate of c: one of the two is kept
        (0.9, 300.0, "d"),
        (0.9, 250.0, "e"),  # same recall, slower
        (0.8, 100.0, "f"),  # dominated by (0.9, 300)
        (0.95, 100.0, "g"),
    ]
)


def test_frontier_keeps_exactly_the_non_dominated_points_by_increasing_recall():
    frontier = pareto_frontier(CURVE)
    assert list(zip(frontier["recall"], frontier["qps"], strict=True)) == [
        (0.5, 1000.0),
        (0.7, 800.0),
        (0.9, 300.0),
        (0.95, 100.0),
    ]
    assert list(frontier["search_params"]) == ["a", "c", "d", "g"]


def test_frontier_ignores_failed_rows_and_missing_measurements():
    failed = points([(0.99, 9999.0, "x")], status="failed")
    unmeasured = points([(float("nan"), 5000.0, "y"), (0.99, 0.0, "z")])
    frontier = pareto_frontier(pd.concat([CURVE, failed, unmeasured]))
    assert list(frontier["search_params"]) == ["a", "c", "d", "g"]


def test_frontiers_are_per_method_and_bucket_and_keep_params():
    other = points([(0.6, 2000.0, "p"), (0.99, 50.0, "q")], method="beta")
    rare = points([(0.4, 100.0, "r"), (0.3, 50.0, "s")], bucket=0.01)
    frontiers = pareto_frontiers(pd.concat([CURVE, other, rare]))
    got = {
        (m, b): list(s) for (m, b), s in frontiers.groupby(["method", "selectivity_bucket"])["search_params"]
    }
    assert got == {
        ("alpha", 0.01): ["r"],
        ("alpha", 0.1): ["a", "c", "d", "g"],
        ("beta", 0.1): ["p", "q"],
    }
    assert set(frontiers["build_params"]) == {'{"M": 16}'}


def test_qps_at_recall_is_the_best_qps_reaching_it_and_nan_when_unreached():
    other = points([(0.6, 2000.0, "p"), (0.85, 900.0, "q")], method="beta")
    frame = pd.concat([CURVE, other])
    at_09 = qps_at_recall(frame, 0.9).set_index("method")["qps_at_recall"]
    assert at_09["alpha"] == 300.0
    assert math.isnan(at_09["beta"])
    at_05 = qps_at_recall(frame, 0.5).set_index("method")["qps_at_recall"]
    assert at_05.to_dict() == {"alpha": 1000.0, "beta": 2000.0}


def test_qps_at_recall_counts_a_recall_equal_to_the_level():
    frame = points([(19 / 20, 123.0, "x"), (0.9499, 999.0, "y")])
    assert qps_at_recall(frame, 0.95)["qps_at_recall"].tolist() == [123.0]


def test_best_at_recall_and_max_recall_rows_name_their_configs():
    assert best_at_recall(CURVE, 0.9)["search_params"].tolist() == ["d"]
    assert best_at_recall(CURVE, 0.99).empty
    assert max_recall_rows(CURVE)["search_params"].tolist() == ["g"]


def test_method_styles_are_distinct_and_deterministic():
    names = [f"method_{i}" for i in range(10)]
    styles = method_styles(names)
    assert len({(s.color, s.marker) for s in styles.values()}) == 10
    assert method_styles(reversed(names)) == styles
    many = method_styles(f"m{i}" for i in range(40))
    assert len({(s.color, s.marker) for s in many.values()}) == 40


def test_registered_methods_get_collision_free_styles():
    registered = registered_slots()
    assert len(registered) >= 28 and len(set(registered.values())) == len(registered)
    styles = method_styles(registered)
    colors = Counter(s.color for s in styles.values())
    assert max(colors.values()) == math.ceil(len(styles) / len(COLORS))  # colours spread evenly
    for color in colors:
        same = [s for s in styles.values() if s.color == color]
        assert len({s.marker for s in same}) == len(same)  # one colour: told apart by marker


def test_a_method_keeps_its_style_whatever_else_is_drawn():
    alone = method_styles(["exact", "faiss_hnsw"])
    crowd = method_styles([*registered_slots(), "my_plugin", "zz_other", "faiss_hnsw"])
    assert alone["exact"] == crowd["exact"] and alone["faiss_hnsw"] == crowd["faiss_hnsw"]
    assert crowd["my_plugin"] not in {crowd[name] for name in registered_slots()}


def test_styles_read_the_registry_s_entry_point_group():
    """`registered_slots` reads entry points itself (no registry import): same group, same
    built-in distribution as the registry, so the same names as `method_names()`."""
    from fanns_bench.methods import registry
    from fanns_bench.report import styles

    assert (styles.GROUP, styles.HARNESS) == (registry.GROUP, registry.HARNESS)
    assert set(registered_slots()) == set(registry.method_names())
