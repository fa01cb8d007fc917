"""What the figures draw: spread and noisy points, readable build bars, thread labels and no
overlapping text (inspected on the matplotlib figures before they are saved)."""

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection

from fanns_bench.report import plots


@pytest.fixture
def drawn(monkeypatch):
    """The figures the plot functions save, by stem, instead of files."""
    figures = {}

    def keep(figure, out_dir, stem):
        figures[stem] = figure
        return []

    monkeypatch.setattr(plots, "save_figure", keep)
    return figures


def frame(methods=("exact", "faiss_hnsw"), threads=1, noisy_qps=None, build_seconds=None):
    rows = []
    for m, method in enumerate(methods):
        for bucket in (0.01, 0.1):
            for recall, qps in ((0.8, 4000.0), (0.92, 2000.0), (0.97, 1000.0)):
                qps = qps * (m + 1)
                rows.append({
                    "key": f"{method}-{bucket}-{recall}", "status": "ok", "reason": None,
                    "dataset": "tiny", "filter_type": "EM", "selectivity_bucket": bucket,
                    "selectivity": bucket, "k": 10, "threads": threads, "method": method,
                    "method_threading": "single" if method == "exact" else "threads",
                    "build_params": json.dumps({"M": 16, "efConstruction": 200}) if m else "{}",
                    "search_params": json.dumps({"ef": qps}), "recall": recall, "qps": qps,
                    "qps_min": qps * 0.8, "qps_best": qps * 1.1, "n_queries": 100,
                    "noisy": m == 0 and qps == noisy_qps, "build_seconds": (build_seconds or {}).get(method, 2.0),
                    "index_bytes": 4_000_000, "build_peak_rss_bytes": 50_000_000, "build_threads": 2,
                    "cpu_model": "Test CPU",
                })  # fmt: skip
    return pd.DataFrame(rows)


def test_recall_qps_draws_each_points_spread_and_noisy_points_hollow(drawn, tmp_path):
    plots.plot_recall_qps(frame(noisy_qps=2000.0), tmp_path)
    ax = drawn["recall_qps__tiny__EM__k10__t1"].axes[0]
    bars = [c for c in ax.collections if isinstance(c, LineCollection)]
    spans = sorted((seg[0][1], seg[1][1]) for c in bars for seg in c.get_segments())
    assert (1600.0, 2200.0) in [tuple(np.round(s, 6)) for s in spans]  # 2000 QPS: min 0.8x, best 1.1x
    hollow = [line for line in ax.lines if line.get_markerfacecolor() == "white"]
    assert len(hollow) == 1 and list(hollow[0].get_ydata()) == [2000.0]


def test_qps_vs_selectivity_draws_the_spread_of_the_best_point(drawn, tmp_path):
    plots.plot_qps_vs_selectivity(frame(), tmp_path)
    ax = drawn["qps_vs_selectivity__tiny__EM__k10__t1"].axes[0]  # recall >= 0.9: the 2000 QPS point
    spans = {tuple(np.round([seg[0][1], seg[1][1]], 6)) for c in ax.collections for seg in c.get_segments()}
    assert (1600.0, 2200.0) in spans and (3200.0, 4400.0) in spans


def boxes(figure):
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    texts = [figure._suptitle] if figure._suptitle else []
    for ax in figure.axes:
        if ax.get_visible():
            texts += [ax.title, ax.xaxis.label, ax.yaxis.label]
    return [(t.get_text(), t.get_window_extent(renderer)) for t in texts if t.get_text()]


@pytest.mark.parametrize("methods", [("exact", "faiss_hnsw"), tuple(f"method_{i}" for i in range(30))])
def test_qps_vs_selectivity_text_does_not_overlap(drawn, tmp_path, methods):
    plots.plot_qps_vs_selectivity(frame(methods), tmp_path)
    placed = boxes(drawn["qps_vs_selectivity__tiny__EM__k10__t1"])
    for i, (text, box) in enumerate(placed):
        for other, other_box in placed[i + 1 :]:
            assert not box.overlaps(other_box), f"{text!r} overlaps {other!r}"


def test_build_figure_has_short_labels_params_beside_and_a_bounded_log_axis(drawn, tmp_path):
    plots.plot_build_resources(frame(build_seconds={"exact": 1e-5, "faiss_hnsw": 50.0}), tmp_path)
    figure = drawn["build__tiny__t1"]
    time_axis, params_axis = figure.axes[0], figure.axes[-1]
    assert [t.get_text() for t in time_axis.get_yticklabels()] == ["exact", "faiss_hnsw"]
    assert [t.get_text() for t in params_axis.texts] == ["defaults", "M=16 efConstruction=200"]
    assert time_axis.get_xlim()[0] >= 50.0 / plots.LOG_SPAN / 2  # not stretched down to 1e-05 s
    assert "1e-05" in [t.get_text().strip() for t in time_axis.texts]  # the tiny value still written
    assert "build threads: 2" in figure.get_suptitle() and "1 query thread" in figure.get_suptitle()
    caption = (tmp_path / "build__tiny__t1.txt").read_text()
    assert "faiss_hnsw: M=16 efConstruction=200" in caption


def test_build_labels_number_a_methods_configs():
    rows = frame(methods=("faiss_hnsw",))
    rows = pd.concat([rows, rows.assign(build_params='{"M": 32}', key=rows["key"] + "b")])
    assert plots._builds(rows)["label"].tolist() == ["faiss_hnsw #1", "faiss_hnsw #2"]


def test_figures_name_query_threads_and_methods_that_ignore_them(drawn, tmp_path):
    plots.plot_recall_qps(frame(threads=2), tmp_path)
    figure = drawn["recall_qps__tiny__EM__k10__t2"]
    assert "2 query threads" in figure.get_suptitle()
    labels = [t.get_text() for t in figure.legends[0].get_texts()]
    assert labels == ["exact (searches with 1 thread)", "faiss_hnsw"]  # exact: threading = single
    caption = (tmp_path / "recall_qps__tiny__EM__k10__t2.txt").read_text()
    assert "exact search with one thread whatever the query thread count" in caption
    plots.plot_recall_qps(frame(threads=1), tmp_path)
    labels = [t.get_text() for t in drawn["recall_qps__tiny__EM__k10__t1"].legends[0].get_texts()]
    assert labels == ["exact", "faiss_hnsw"]
    # results that do not record method_threading (older versions) name no method
    plots.plot_recall_qps(frame(threads=2).drop(columns="method_threading"), tmp_path)
    labels = [t.get_text() for t in drawn["recall_qps__tiny__EM__k10__t2"].legends[0].get_texts()]
    assert labels == ["exact", "faiss_hnsw"]
