"""Our versions of the seed paper's figures: pooling over buckets, panels, files, rankings."""

from __future__ import annotations

import pandas as pd
import pytest

from fanns_bench.report.claims import load_claims
from fanns_bench.report.paper_figures import draw_paper_figures, figure_numbers, pool_buckets, ranking


def row(method: str, filter_type: str, bucket: float, recall: float, qps: float, **extra) -> dict:
    base = {
        "status": "ok", "experiment": "paper_fig23_em_scaled", "dataset": "d", "dataset_name": "d",
        "dataset_count": 10_000, "dimension": 384, "filter_type": filter_type, "selectivity_bucket": bucket,
        "selectivity": bucket, "n_queries": 100, "k": 10, "threads": 1, "method": method, "recall": recall,
        "qps": qps, "qps_given_filter": qps * 2, "build_seconds": 3.0, "index_bytes": 2_000_000,
        "build_peak_rss_bytes": 5_000_000, "search_peak_rss_bytes": 6_000_000, "build_params": "{}",
        "search_params": '{"ef": 10}', "cpu_model": "test cpu",
    }  # fmt: skip
    return {**base, **extra}


def test_pooled_point_times_every_query_once_and_weights_recall_by_queries():
    rows = pd.DataFrame(
        [
            row("ung", "EM", 0.01, 1.0, 1000.0, n_queries=100),  # 0.1 s
            row("ung", "EM", 0.1, 0.5, 100.0, n_queries=300),  # 3 s
        ]
    )
    pooled, left_out = pool_buckets(rows)
    assert left_out == []
    (point,) = pooled.itertuples()
    assert point.qps == pytest.approx(400 / 3.1)
    assert point.recall == pytest.approx((100 * 1.0 + 300 * 0.5) / 400)
    assert point.qps_given_filter == pytest.approx(400 / 1.55)


def test_a_configuration_missing_a_bucket_is_left_out_and_named():
    rows = pd.DataFrame(
        [
            row("ung", "EM", 0.01, 1.0, 1000.0),
            row("ung", "EM", 0.1, 0.9, 500.0),
            row("caps", "EM", 0.01, 1.0, 800.0),
            row("caps", "EM", 0.1, 0.9, 400.0, status="failed"),
        ]
    )
    pooled, left_out = pool_buckets(rows)
    assert list(pooled["method"]) == ["ung"]
    assert left_out == ["caps {}: ok in 1 of 2 buckets"]


def test_ranking_orders_methods_by_best_qps_at_recall():
    points = pd.DataFrame(
        [row("a", "EM", 0.1, 0.96, 100.0), row("b", "EM", 0.1, 0.99, 300.0), row("c", "EM", 0.1, 0.5, 9e9)]
    )
    assert ranking(points) == "b 300, a 100"
    assert ranking(points, 0.999) == "no method reaches recall 0.999"


def test_figure_numbers_read_single_ranges_and_lists():
    assert figure_numbers("§5.6, Fig. 23") == {23}
    assert figure_numbers("§5.8, Observation 7, Figs. 27-29") == {27, 28, 29}
    assert figure_numbers("Figs. 31/33/35") == {31, 33, 35}
    assert figure_numbers("27-29") == {27, 28, 29}


def test_fig23_and_24_are_drawn_with_a_panel_per_filter_type(tmp_path):
    frame = pd.DataFrame(
        [
            row(
                method,
                filter_type,
                bucket,
                recall,
                qps,
                search_params=f'{{"ef": {recall}}}',
                experiment=f"paper_fig23_{filter_type.lower()}_scaled",
            )
            for method in ("acorn_gamma_ref", "ung")
            for filter_type in ("EM", "EMIS")
            for bucket in (0.01, 0.1)
            for recall, qps in ((0.9, 2000.0), (0.99, 500.0 if method == "ung" else 100.0))
        ]
    )
    drawn = {figure.figure: figure for figure in draw_paper_figures(frame, load_claims(), tmp_path)}
    assert set(drawn) == {"23", "24"}
    assert [panel for panel, _ in drawn["23"].rankings] == ["EM (all queries)", "EMIS (all queries)"]
    assert drawn["23"].rankings[0][1] == "ung 500, acorn_gamma_ref 100"
    assert (tmp_path / "paper_fig__23__d.png").stat().st_size > 0
    caption = (tmp_path / "paper_fig__23__d.txt").read_text()
    assert "SeRF: not measured here" in caption and "lower bound" in caption


def test_k_and_selectivity_studies_get_one_figure_per_filter_type(tmp_path):
    frame = pd.DataFrame(
        [row("ung", t, 0.1, 0.99, 100.0, experiment="paper_k_scaled", k=k) for t in ("EM", "R") for k in (10, 20, 40)]
        + [row("ung", "EM", b, 0.99, 100.0, experiment="paper_selectivity_scaled") for b in (0.2, 0.4)]
    )  # fmt: skip
    drawn = draw_paper_figures(frame, load_claims(), tmp_path)
    numbers = sorted(figure.figure for figure in drawn)
    assert numbers == ["27", "28", "30", "31"]
    k_panels = [panel for panel, _ in next(f for f in drawn if f.figure == "27").rankings]
    assert k_panels == ["EM · k = 20", "EM · k = 40"]  # the paper's k values only: k = 10 is Fig. 23
    selectivity = next(f for f in drawn if f.figure == "31")
    assert [p for p, _ in selectivity.rankings] == [
        "selectivity 0.2 (achieved 0.2)",
        "selectivity 0.4 (achieved 0.4)",
    ]
    assert selectivity.paths[0].stat().st_size > 0
    resources = next(f for f in drawn if f.figure == "30")
    assert [p for p, _ in resources.rankings] == [
        "selectivity 0.2 (achieved 0.2) build time",
        "selectivity 0.4 (achieved 0.4) build time",
    ]


def test_report_compare_paper_draws_the_figures_and_lists_their_claims(tmp_path):
    from fanns_bench.report import report_results
    from fanns_bench.results.row_files import write_row
    from tests.report.test_outputs import make_row

    results = tmp_path / "results"
    for method, qps in (("acorn_gamma_ref", 100.0), ("ung", 500.0)):
        for bucket in (0.01, 0.1):
            for recall in (0.9, 0.99):
                row = make_row(method, bucket, recall, qps * (2 if recall < 0.95 else 1), {})
                write_row(
                    results, {**row, "experiment": "paper_fig23_em_scaled", "qps_given_filter": qps * 3}
                )
    text, _ = report_results(results, tmp_path / "tables", compare="paper")
    assert "## The paper's figures, ours" in text
    assert "### Fig. 23 (tiny): `figures/paper/paper_fig__23__tiny.png`" in text
    assert "- EM (all queries): ung 500, acorn_gamma_ref 100" in text
    assert 'paper, §5.6, Fig. 23: "ACORN, the only method supporting all three filter types' in text
    assert "### Fig. 24 (tiny)" in text and "Fig. 18, 19, 22: the pilot study" in text
    assert (results / "figures" / "paper" / "paper_fig__24__tiny.png").stat().st_size > 0
