"""Rows can be re-checked from the results directory alone, and rows that are not comparable
are never pooled in reports."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq

from fanns_bench.cli import main
from fanns_bench.report.frame import label_comparable, load_frame
from fanns_bench.results.row_files import ROWS_DIR
from fanns_bench.runner.run import run_sweep
from tests.sweeps import sweep_config

HNSW = {"faiss_hnsw": {"build": {"M": [8]}, "search": {"efSearch": [8]}}}


def test_recompute_passes_on_a_run_and_catches_a_tampered_recall(tmp_path, capsys):
    run_sweep(sweep_config(tmp_path, HNSW))
    results = tmp_path / "results"
    assert (results / "workloads").is_dir()  # the run kept its ground truth beside the rows
    assert main(["report", str(results), "--recompute"]) == 0
    assert "0 difference(s)" in capsys.readouterr().out
    frame = load_frame(results)
    assert (frame.ids.map(len) == frame.n_queries * frame.k).all()
    row_file = sorted((results / ROWS_DIR).glob("*.parquet"))[0]
    table = pq.read_table(row_file).to_pandas()
    table["recall"] = table["recall"] - 0.25
    table.to_parquet(row_file, index=False)
    assert main(["report", str(results), "--recompute"]) == 1
    assert "from its ids" in capsys.readouterr().out


def test_rows_of_other_data_or_methodology_get_their_own_dataset_label():
    frame = pd.DataFrame(
        {
            "dataset": ["arxiv", "arxiv", "arxiv", "other"],
            "dataset_hash": ["aaaaaa11", "aaaaaa11", "bbbbbb22", "cccccc33"],
            "workload_digest": ["w1w1w1w1", "w1w1w1w1", "w1w1w1w1", "w9"],
            "methodology_version": [2, 2, 2, 2],
        }
    )
    labels = label_comparable(frame)["dataset"].tolist()
    assert labels[0] == labels[1] == "arxiv [aaaaaa/w1w1w1/m2]"
    assert labels[2] == "arxiv [bbbbbb/w1w1w1/m2]"
    assert labels[3] == "other"  # one variant only: the plain name
