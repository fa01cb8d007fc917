"""`fanns-bench compare`: two small results folders (or frames) built in the test."""

from __future__ import annotations

import pandas as pd
import pytest

from fanns_bench.cli import main
from fanns_bench.report.compare import Tolerances, compare_frames
from fanns_bench.report.frame import label_comparable
from fanns_bench.report.quality import noise_lines, with_qps_bounds
from fanns_bench.report.run_changes import rank_changes, verdict_changes
from fanns_bench.results.row_files import write_row
from tests.report.test_outputs import ROWS, make_row

STRICT = ["--qps-band", "0.9,1.1", "--min-recall-agreement", "1", "--max-rank-changes", "0"]


def folder(path, rows):
    for row in rows:
        write_row(path, row)
    return path


def changed(index: int, **values) -> list[dict]:
    """ROWS with row `index` changed (its key kept)."""
    return [{**row, **values} if i == index else row for i, row in enumerate(ROWS)]


def compare(capsys, a, b, *flags) -> tuple[int, str, str]:
    code = main(["compare", str(a), str(b), *flags])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_identical_folders_are_within_every_tolerance(tmp_path, capsys):
    a, b = folder(tmp_path / "a", ROWS), folder(tmp_path / "b", ROWS)
    code, out, _ = compare(capsys, a, b, *STRICT, "--max-verdict-changes", "0")
    assert code == 0, out
    assert f"rows: {len(ROWS)} matched, 0 only in A, 0 only in B" in out
    assert "wall QPS ratio B/A over 11 points: p5 1.000, median 1.000, p95 1.000" in out
    assert "recall identical on 11/11 (100.0 %) points" in out
    assert "0 rank changes" in out and out.rstrip().endswith("within tolerances")


def test_one_point_with_half_the_qps_fails_the_band(tmp_path, capsys):
    index = 7  # beta, bucket 0.1, 4000 QPS: its best at recall 0.9
    slow = changed(index, qps=2000.0, qps_best=2000.0, batch_seconds=[0.05] * 3)
    a, b = folder(tmp_path / "a", ROWS), folder(tmp_path / "b", slow)
    code, out, _ = compare(capsys, a, b, "--qps-band", "0.9,1.1")
    assert code == 1
    assert "exceeded: wall QPS ratio p5 0.750 is below the band's 0.9" in out
    assert "min 0.500, max 1.000" in out
    assert compare(capsys, a, b)[0] == 0  # no tolerance passed: report only
    code, out, _ = compare(capsys, a, b, "--max-rank-changes", "0")
    assert code == 1 and "alpha above beta in B" not in out
    assert compare(capsys, a, b, "--max-rank-changes", "0", "--recall", "0.95")[0] == 0  # 0.9 left out
    assert (
        "beta above alpha in A (4,000 [4,000-4,000] vs 3,500 [3,500-3,500] QPS [slowest-fastest repetition]), "
        "below in B (2,500 [2,500-2,500] vs 3,500 [3,500-3,500])"  # its next best config
    ) in out


def test_a_recall_change_fails_the_agreement(tmp_path, capsys):
    a, b = folder(tmp_path / "a", ROWS), folder(tmp_path / "b", changed(0, recall=0.81))
    code, out, _ = compare(capsys, a, b, "--min-recall-agreement", "1.0")
    assert code == 1
    assert "recall identical on 10/11 (90.9 %) points (deterministic builds: not recorded)" in out
    assert "exceeded: recall identical on 90.9 % of matched ok points, below 100 %" in out
    assert compare(capsys, a, b, "--min-recall-agreement", "0.9")[0] == 0


def test_folders_before_the_noise_columns_say_not_recorded(tmp_path, capsys):
    a, b = folder(tmp_path / "a", ROWS), folder(tmp_path / "b", ROWS)
    code, out, _ = compare(capsys, a, b)
    assert code == 0
    assert "CPU QPS ratio B/A: not recorded in A and B" in out
    assert "run A: noisy points: not recorded (these results predate the noise check)" in out
    assert "run B: machine load: not recorded" in out
    assert "noisy flags not recorded" in out
    assert "paper claims: not compared (no rows of the paper's experiments in A and B)" in out
    code, out, _ = compare(capsys, a, b, "--cpu-qps-band", "0.85,1.15", "--min-noisy-flagged", "0.9")
    assert code == 1  # a tolerance that cannot be checked is not met
    assert "exceeded: CPU QPS band 0.85-1.15: cannot be checked (not recorded in A and B)" in out
    assert "exceeded: noisy flags: cannot be checked (not recorded)" in out


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    a = folder(tmp_path / "a", ROWS)
    code, out, err = compare(capsys, a, tmp_path / "missing")
    assert code == 2 and err.count("\n") == 1 and "missing: no such results directory" in err
    (tmp_path / "empty").mkdir()
    code, _, err = compare(capsys, tmp_path / "empty", a)
    assert code == 2 and "no result rows" in err
    other = [{**row, "key": row["key"] + "-other"} for row in ROWS]
    code, _, err = compare(capsys, a, folder(tmp_path / "other", other))
    assert code == 2 and err.count("\n") == 1 and "no row key in both" in err
    for flag, value in (
        ("--qps-band", "1.1,0.9"),
        ("--percentiles", "5,101"),
        ("--min-recall-agreement", "2"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(["compare", str(a), str(a), flag, value])
        assert exit_info.value.code == 2
        assert f"argument {flag}: '{value}': expected" in capsys.readouterr().err


def frames(**columns_b) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ten ok points of one method, with the new measurement columns, in run A and run B."""
    rows = [make_row("alpha", 0.1, 0.9 + i / 100, 1000.0 + i, {"M": 16}) for i in range(10)]
    a = pd.DataFrame(rows).assign(qps_cpu=1000.0, deterministic=True, noisy=False, noisy_reason=None,
                                  load_avg=1.0)  # fmt: skip
    return a, a.assign(**columns_b)


def test_cpu_qps_ratios_are_checked_against_their_band():
    a, b = frames(qps_cpu=[1000.0] * 9 + [500.0])
    tolerances = Tolerances(cpu_qps_band=(0.85, 1.15), percentiles=(0.0, 100.0))
    result = compare_frames(a, b, tolerances)
    assert "CPU QPS ratio B/A over 10 points: p0 0.500, median 1.000, p100 1.000" in "\n".join(result.lines)
    assert result.exceeded == ["CPU QPS ratio p0 0.500 is below the band's 0.85"]
    assert compare_frames(a, a, tolerances).exceeded == []


def test_recall_agreement_counts_deterministic_points_only_when_recorded():
    a, _ = frames()
    a = a.assign(deterministic=[True] * 8 + [False] * 2)
    b = a.assign(recall=list(a["recall"][:8]) + [0.5, 0.5])  # the two non-deterministic points moved
    tolerances = Tolerances(min_recall_agreement=1.0)
    result = compare_frames(a, b, tolerances)
    assert result.exceeded == []
    assert "deterministic builds 8/8 (100.0 %), not deterministic builds 0/2 (0.0 %)" in "\n".join(
        result.lines
    )
    b.loc[0, "recall"] = 0.5
    assert compare_frames(a, b, tolerances).exceeded == [
        "recall identical on 87.5 % of deterministic points, below 100 %"
    ]


def test_the_share_of_moved_points_flagged_noisy_is_checked():
    a, b = frames(qps=[1000.0 + i for i in range(6)] + [3000.0] * 4, noisy=[False] * 7 + [True] * 3,
                  noisy_reason=[None] * 7 + ["spread 40 % > 20 %"] * 3, load_avg=4.0)  # fmt: skip
    result = compare_frames(a, b, Tolerances(min_noisy_flagged=0.9))
    text = "\n".join(result.lines)
    assert "wall QPS moved by more than 20 % on 4 of 10 points; flagged noisy in A or B: 3/4 (75.0 %)" in text
    assert "run A: noisy points: 0 of 10 ok points; a noisy point's QPS may not repeat" in text
    assert "run B: noisy points: 3 of 10 ok points (3 × spread … % > 20 %); a noisy point's QPS" in text
    assert (
        "run B: machine load (1-min load average during a point): median 4, max 4 on 2 CPUs; 10 points"
        in text
    )
    assert [f"run B: {line}" for line in noise_lines(b)] == [
        line
        for line in result.lines
        if line.startswith("run B: noisy points") or line.startswith("run B: machine load")
    ]  # the words of the run summary and the report
    assert result.exceeded == ["75.0 % of the points that moved were flagged noisy, below 90 %"]
    assert compare_frames(a, b, Tolerances(min_noisy_flagged=0.75)).exceeded == []


def test_drift_and_probe_flags_are_counted_per_run_and_among_the_moved_points():
    a, b = frames(qps=[1000.0 + i for i in range(6)] + [3000.0] * 4, drift=[0.02] * 7 + [0.3] * 3,
                  probe_ratio=[1.0] * 9 + [0.5])  # fmt: skip
    text = "\n".join(compare_frames(a, b, Tolerances()).lines)
    assert "run A: drift between rounds and machine probe not recorded" in text
    assert (
        "run B: drift between rounds median 2.0%, max 30.0%, 3/10 (30.0 %) ok points above 10%; "
        "probe vs run start median 1.00x (0.50-1.00), 1 outside [0.6, 1.67]"
    ) in text
    assert (
        "  of those, flagged by drift between rounds 3/4 (75.0 %), outside the machine probe's band 1/4 (25.0 %)"
        " (recorded, not a noisy reason)" in text
    )
    steady = "\n".join(compare_frames(a, a.assign(drift=0.02, probe_ratio=1.0), Tolerances()).lines)
    assert (
        "0/10 (0.0 %) ok points above 10%; probe vs run start median 1.00x (1.00-1.00), 0 outside" in steady
    )


def ranked(alpha: tuple[float, float, float], beta: tuple[float, float, float]) -> pd.DataFrame:
    """Two methods' single points (qps, qps_min, qps_best) at recall 0.95."""
    rows = [make_row(m, 0.1, 0.95, q[0], {}) for m, q in (("alpha", alpha), ("beta", beta))]
    return pd.DataFrame(rows).assign(qps_min=[alpha[1], beta[1]], qps_best=[alpha[2], beta[2]])


def test_a_reversed_order_is_a_rank_change_unless_the_intervals_overlap():
    a = ranked((3000.0, 2900.0, 3100.0), (2500.0, 2400.0, 2600.0))
    reversed_ = ranked((2000.0, 1900.0, 2100.0), (2500.0, 2400.0, 2600.0))
    sections, changes = rank_changes(a, reversed_, 0.9)
    assert sections == 1 and len(changes) == 1
    assert changes[0].startswith(
        "tiny · filter EM · selectivity 0.1 · k=10 · 1 query thread: alpha above beta in A"
    )
    tied = ranked((2000.0, 1900.0, 2100.0), (2500.0, 2000.0, 2600.0))  # beta's slowest run overlaps
    assert rank_changes(a, tied, 0.9) == (1, [])
    unreached = ranked((3000.0, 2900.0, 3100.0), (2500.0, 2400.0, 2600.0)).assign(recall=[0.95, 0.5])
    assert rank_changes(a, unreached, 0.9)[1] == [
        "tiny · filter EM · selectivity 0.1 · k=10 · 1 query thread: beta reaches recall 0.9 in run A only"
    ]


def test_intervals_come_from_the_repetitions_when_qps_min_is_not_recorded():
    rows = pd.DataFrame([make_row("alpha", 0.1, 0.95, 1000.0, {})]).assign(batch_seconds=[[0.08, 0.1, 0.125]])
    rows = rows.drop(columns=["qps_best"])
    interval = with_qps_bounds(rows)
    assert interval[["qps_low", "qps_high"]].iloc[0].tolist() == [800.0, 1250.0]


def paper_rows(ung_qps: float) -> pd.DataFrame:
    """UNG against ACORN on the paper's EM experiment: Obs. 3 holds when UNG is faster."""
    rows = [
        {**make_row(m, 0.1, 0.97, q, {}), "experiment": "paper_fig23_em_scaled", "qps_given_filter": q}
        for m, q in (("acorn_gamma", 1000.0), ("ung", ung_qps))
    ]
    return label_comparable(pd.DataFrame(rows))


def test_a_flipped_paper_verdict_is_reported_and_counted():
    faster, slower = (
        paper_rows(5000.0),
        paper_rows(500.0),
    )  # 5x: inside "up to 10x"'s band; 0.5x: ACORN faster
    compared, changes = verdict_changes(faster, slower)
    assert compared > 0
    assert any(
        change.startswith("obs3 (§5.6, Observation 3, Fig. 23): holds -> does not hold") for change in changes
    )
    assert verdict_changes(faster, faster) == (compared, [])
    result = compare_frames(faster, slower, Tolerances(max_verdict_changes=0))
    assert any("paper-claim verdict change(s), more than 0" in problem for problem in result.exceeded)


def test_folders_are_compared_with_the_recall_weights_the_report_uses(tmp_path, monkeypatch):
    """compare_dirs attaches each folder's recall weights (from its kept workload tables)
    before judging the claims, as `report --compare paper` does."""
    import fanns_bench.report.compare as compare_module

    a, b = folder(tmp_path / "a", ROWS), folder(tmp_path / "b", ROWS)
    seen = []
    monkeypatch.setattr(
        compare_module,
        "attach_recall_weights",
        lambda frame, d: seen.append(d) or frame.assign(recall_weight=1.0),
    )
    received = []
    monkeypatch.setattr(compare_module, "compare_frames", lambda x, y, *rest: received.append((x, y)))
    compare_module.compare_dirs(a, b, Tolerances())
    assert seen == [a, b]
    assert all("recall_weight" in frame for frame in received[0])


def test_compare_help_quotes_the_tolerances_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    defaults = Tolerances()
    assert "--percentiles LOW,HIGH default {:g},{:g}".format(*defaults.percentiles) in text
    assert f"|B/A - 1| > this ({defaults.moved:g})" in text
    assert "levels (default " + ",".join(f"{r:g}" for r in defaults.recalls) + ")" in text


def test_the_ratio_spread_is_split_into_run_method_and_point_parts():
    rows = [make_row(m, 0.1, 0.95, 1000.0 + i, {"M": i}) for m in ("alpha", "beta") for i in range(5)]
    a = pd.DataFrame(rows)
    scale = {"alpha": 0.9, "beta": 1.0}  # alpha 10 % slower in B, beta unchanged
    b = a.assign(qps=[q * scale[m] for q, m in zip(a["qps"], a["method"], strict=True)])
    b.loc[4, "qps"] *= 0.5  # one alpha point halves on top
    text = "\n".join(compare_frames(a, b, Tolerances(percentiles=(0.0, 100.0))).lines)
    assert (
        "  spread of the wall QPS ratio: whole run 0.950 (median); method medians 0.900-1.000 over "
        "2 methods; points / their method's median p0 0.500, p100 1.000"
    ) in text
    steady = "\n".join(compare_frames(a, a, Tolerances()).lines)
    assert "whole run 1.000 (median); method medians 1.000-1.000 over 2 methods; points / their " in steady
