"""The seed paper's claims as checks on a leaderboard: each verdict follows from the numbers."""

from __future__ import annotations

import pandas as pd

from fanns_bench.report.claims import FAILS, HOLDS, UNTESTABLE, Claims, kendall_tau, load_claims


def rows(points: list[tuple[str, str, float, float, float]], k: int = 10, count: int = 10_000) -> list[dict]:
    """(method, filter type, bucket, recall, qps) points as result rows."""
    return [
        {
            "status": "ok", "dataset": "d", "dataset_count": count, "filter_type": f, "selectivity_bucket": b,
            "k": k, "threads": 1, "method": m, "recall": r, "qps": q, "build_seconds": 10.0,
            "index_bytes": 1, "build_params": "{}", "search_params": f'{{"q":{q}}}', "build_peak_rss_bytes": 1,
        }
        for m, f, b, r, q in points
    ]  # fmt: skip


def verdicts(frame: pd.DataFrame) -> dict[str, tuple[str, str]]:
    claims = Claims(frame, load_claims(), registered={"acorn_gamma", "ung", "serf", "caps"})
    return {v.id: (v.verdict, v.evidence) for v in claims.evaluate()}


def test_every_claim_cites_the_paper_and_has_a_known_check():
    spec = load_claims()
    assert spec["paper"] == "Iff et al., arXiv:2507.21989v2"
    from fanns_bench.report.claims import CHECKS

    for claim in spec["claims"]:
        assert claim["source"] and claim["text"] and claim["check"]["kind"] in CHECKS


def test_specialised_methods_beating_acorn_hold_obs3_with_the_ratio():
    frame = pd.DataFrame(
        rows([("acorn_gamma", "EM", 0.01, 0.96, 100.0), ("ung", "EM", 0.01, 0.97, 450.0)])
        + rows([("acorn_gamma", "R", 0.01, 0.99, 200.0), ("serf", "R", 0.01, 0.99, 600.0)])
    )
    verdict, evidence = verdicts(frame)["obs3"]
    assert verdict == HOLDS and "EM@0.01 ung 4.50x" in evidence and "largest 4.50x" in evidence


def test_acorn_faster_than_every_specialised_method_fails_obs3():
    frame = pd.DataFrame(rows([("acorn_gamma", "EM", 0.01, 0.99, 900.0), ("ung", "EM", 0.01, 0.99, 450.0)]))
    assert verdicts(frame)["obs3"][0] == FAILS


def test_methods_not_run_or_not_registered_make_a_claim_untestable():
    frame = pd.DataFrame(rows([("acorn_gamma", "EM", 0.01, 0.99, 900.0)]))
    result = verdicts(frame)
    assert result["fdann_over_ung_emis"][0] == UNTESTABLE
    assert "FDANN (stitched): not yet available" in result["fdann_over_ung_emis"][1]
    assert "UNG: not measured here" in result["fdann_over_ung_emis"][1]
    assert result["large_fail_25"][0] == UNTESTABLE  # no run at 1M items


def test_large_scale_recall_claims_are_checked_on_large_runs():
    frame = pd.DataFrame(
        rows([("ung", "EM", 0.01, 0.18, 50.0), ("caps", "EM", 0.01, 0.22, 80.0)], count=2_735_264)
    )
    assert verdicts(frame)["large_fail_25"][0] == HOLDS


def test_kendall_tau_of_identical_and_reversed_orders():
    a = pd.Series([3.0, 2.0, 1.0], index=["x", "y", "z"])
    assert kendall_tau(a, a) == 1.0
    assert kendall_tau(a, pd.Series([1.0, 2.0, 3.0], index=["x", "y", "z"])) == -1.0


def test_one_method_losing_half_its_qps_at_low_selectivity_holds_obs8_and_names_it():
    steady = [("acorn_gamma", "EM", b, 0.95, 1000.0) for b in (0.2, 0.8)]
    steady += [("ung", "EM", b, 0.95, 2000.0 if b == 0.2 else 1500.0) for b in (0.2, 0.8)]
    steady += [("caps", "EM", b, 0.95, 900.0) for b in (0.2, 0.8)]
    frame = pd.DataFrame(
        rows([*steady, ("nhq_nsw", "EM", 0.2, 0.95, 400.0), ("nhq_nsw", "EM", 0.8, 0.95, 1000.0)])
    )
    claims = Claims(frame, load_claims(), registered={"acorn_gamma", "ung", "caps", "nhq_nsw"})
    result = {v.id: (v.verdict, v.evidence) for v in claims.evaluate()}
    assert result["obs8"][0] == HOLDS and "1 of 4 at <= 0.5x" in result["obs8"][1]
    assert result["nhq_nsw_low_selectivity"] == (
        HOLDS,
        "qps_at_0.9 at the lowest over the highest bucket: nhq_nsw EM 0.40x",
    )


def test_no_method_degrading_at_low_selectivity_fails_obs8():
    frame = pd.DataFrame(
        rows([(m, "EM", b, 0.95, 1000.0) for m in ("acorn_gamma", "ung") for b in (0.2, 0.8)])
    )
    assert verdicts(frame)["obs8"][0] == FAILS
