"""The closing summary of `fanns-bench run`: every number labelled, per filter type and
bucket, with noise, load, statuses, short answers and violations beside it."""

import numpy as np
import pandas as pd
import pytest

from fanns_bench.runner.run import SweepOutcome
from fanns_bench.runner.run_summary import print_summary, qps_table


def row(method, filter_type, bucket, recall, qps, status="ok", **extra):
    return {
        "key": f"{method}-{filter_type}-{bucket}-{recall}-{qps}-{status}", "status": status,
        "reason": None if status == "ok" else f"{status} because", "method": method,
        "filter_type": filter_type, "selectivity_bucket": bucket, "k": 10, "threads": 1,
        "recall": recall, "qps": qps, "n_queries": 100, "cpu_count": 2, **extra,
    }  # fmt: skip


ROWS = [
    row("exact", "EM", 0.01, 1.0, 268_000.0),
    row("exact", "EMIS+R", 0.01, 1.0, 18_273.0),
    row("exact", "none", 1.0, 1.0, 5_000.0),
    row("usearch_partition", "EM", 0.01, 0.95, 217_038.0),
    row("usearch_partition", "EM", 0.01, 0.80, 400_000.0),
    row("usearch_partition", "EM", 0.1, 0.70, 500_000.0),  # nobody reaches 0.9 at s=0.1
    row("exact", "EM", 0.1, 0.85, 100.0),
]


def summary(capsys, rows, tmp_path) -> str:
    print_summary(SweepOutcome(tmp_path, pd.DataFrame(rows), [], 1))
    return capsys.readouterr().out


def section(text: str, title: str) -> str:
    """The lines of `text` from `title` to the next blank line or next section."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("  ")), len(lines))
    return "\n".join(lines[start:end])


def test_each_filter_type_has_its_own_cells_and_no_median_across_them(capsys, tmp_path):
    text = summary(capsys, ROWS, tmp_path)
    em = section(text, "filter EM (")
    assert "268,000 (1.000)" in em and "217,038 (0.950)" in em
    assert "18,273" in section(text, "filter EMIS+R (") and "18,273" not in em
    assert "143,136" not in text  # median of exact's EM and EMIS+R QPS: never printed


def test_max_recall_is_per_bucket_and_a_column_stays_when_nobody_reaches_the_target(capsys, tmp_path):
    em = section(summary(capsys, ROWS, tmp_path), "filter EM (")
    header, exact, usearch = em.splitlines()[1:4]
    assert header.split() == ["method", "s=0.01", "s=0.1"]
    assert exact.split()[-2:] == ["-", "(0.850)"]  # its recall 1.0 at s=0.01 does not count
    assert usearch.split()[-2:] == ["-", "(0.700)"]


def test_unfiltered_queries_are_named_and_every_number_is_labelled(capsys, tmp_path):
    text = summary(capsys, ROWS, tmp_path)
    assert "unfiltered queries (1 method):" in text and "s=1" not in text
    assert "  method     unfiltered" in section(text, "unfiltered queries")
    assert "QPS end to end" in text and "best config reaching recall@10 >= 0.9" in text
    assert "highest recall@10 any config reached in that bucket" in text


def test_noise_and_load_are_not_recorded_without_the_columns(capsys, tmp_path):
    text = summary(capsys, ROWS, tmp_path)
    assert "noisy points: not recorded" in text and "machine load: not recorded" in text
    assert "short answers" in text and section(text, "  method ").count("not recorded") == 6


def test_noisy_points_load_statuses_short_answers_and_violations_are_counted(capsys, tmp_path):
    noise = {"load_avg": 1.0, "noisy": False, "noisy_reason": None, "short_queries": 0,
             "violation_rate": 0.0}  # fmt: skip
    rows = [{**r, **noise} for r in ROWS]
    rows[0].update(noisy=True, noisy_reason="spread 35% above 20%; load 3.5 above 2 CPUs", load_avg=3.5)
    rows[3].update(noisy=True, noisy_reason="spread 41% above 20%", short_queries=12)
    rows[4].update(violation_rate=0.0213)
    rows.append(row("nhq", "EM", 0.01, 0.5, 10.0, status="invalid", violation_rate=0.3, short_queries=0))
    rows.append(row("dsg", "EM", 0.01, np.nan, np.nan, status="failed"))
    (tmp_path / "errors").mkdir()
    (tmp_path / "errors" / f"{rows[-1]['key']}.txt").write_text("Traceback\nValueError: x\n")
    text = summary(capsys, rows, tmp_path)
    assert "noisy points: 2 of 7 ok points (2 × spread …% above 20%; 1 × load … above 2 CPUs)" in text
    assert "median 1, max 3.5 on 2 CPUs; 1 point ran with the load above" in text
    assert "268,000* (1.000)" in section(text, "filter EM (")
    table = section(text, "  method ")
    assert table.splitlines()[0].split() == ["method", "ok", "failed", "invalid", "unsupported",
                                             "noisy", "short", "answers", "ids", "outside", "filter"]  # fmt: skip
    assert "  nhq  " in table and table.split("nhq")[1].split()[:6] == ["0", "0", "1", "0", "-", "0"]
    assert table.split("usearch_partition")[1].split()[-5:] == ["12", "of", "300", "queries", "2.13%"]
    assert table.split("nhq")[1].splitlines()[0].split()[-1] == "30.00%"
    assert "failed: dsg on EM (1 point): failed because; traceback: " in text
    assert str(tmp_path / "errors") in text
    assert "invalid: nhq on EM (1 point): invalid because" in text


@pytest.mark.parametrize("target, cell", [(0.9, "217,038"), (0.99, "-")])
def test_qps_table_cell_follows_the_target(target, cell):
    table = qps_table(pd.DataFrame([r for r in ROWS if r["method"] == "usearch_partition"]), target)
    assert table.loc[0, "s=0.01"].split()[0] == cell


def test_a_bucket_without_queries_keeps_its_column(capsys, tmp_path):
    buckets = pd.DataFrame({"filter_type": ["EM", "EM", "EM"], "selectivity_bucket": [0.001, 0.01, 0.1],
                            "n_queries": [0, 20, 20], "note": ["", "", ""]})  # fmt: skip
    print_summary(SweepOutcome(tmp_path, pd.DataFrame(ROWS), [], 1, buckets))
    em = section(capsys.readouterr().out, "filter EM (")
    assert em.splitlines()[1].split() == ["method", "s=0.001", "s=0.01", "s=0.1"]
    assert em.splitlines()[2].split()[1:3] == ["no", "queries"]
