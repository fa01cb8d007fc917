"""The seed paper's claims as checks on a leaderboard: each verdict follows from the numbers.

Every claim kind has a case where it holds, one where it must not hold and one where it is
not testable here; the audit's defects (issue 17) each have the case that used to pass."""

from __future__ import annotations

import pandas as pd
import pytest

from fanns_bench.report.claims import CHECKS, FAILS, HOLDS, UNTESTABLE, Claims, kendall_tau, load_claims


def rows(
    points: list[tuple[str, str, float, float, float]], k: int = 10, count: int = 10_000, **extra
) -> list[dict]:
    """(method, filter type, bucket, recall, qps) points as result rows."""
    return [
        {
            "status": "ok", "dataset": "d", "dataset_count": count, "filter_type": f, "selectivity_bucket": b,
            "k": k, "threads": 1, "method": m, "recall": r, "qps": q, "build_seconds": 10.0,
            "index_bytes": 1, "build_params": "{}", "search_params": f'{{"q":{q}}}', "build_peak_rss_bytes": 1,
            **extra,
        }
        for m, f, b, r, q in points
    ]  # fmt: skip


def check(frame: pd.DataFrame | list[dict], claim_id: str, spec: dict | None = None) -> tuple[str, str]:
    """One shipped claim evaluated on `frame`: (verdict, evidence)."""
    spec = spec or load_claims()
    claim = next(c for c in spec["claims"] if c["id"] == claim_id)
    (verdict,) = Claims(pd.DataFrame(frame), spec).evaluate([claim])
    return verdict.verdict, verdict.evidence


def test_every_claim_cites_the_paper_has_a_known_check_and_a_history():
    spec = load_claims()
    assert spec["paper"] == "Iff et al., arXiv:2507.21989v2"
    for claim in spec["claims"]:
        assert claim["source"] and claim["text"] and claim["check"]["kind"] in CHECKS
        assert claim["history"] and all({"date", "change", "why"} <= set(h) for h in claim["history"])
    obs8 = next(c for c in spec["claims"] if c["id"] == "obs8")
    assert any("1b03b55" in h["why"] and "0.5x" in h["change"] for h in obs8["history"])


def test_up_to_factors_are_bands_of_the_same_order_of_magnitude():
    checks = {c["id"]: c["check"] for c in load_claims()["claims"]}
    for claim_id, factor in (("obs3", 10), ("obs4", 16)):
        low, high = checks[claim_id]["band"]
        assert checks[claim_id]["paper_factor"] == factor
        assert low == pytest.approx(factor / 10**0.5, rel=1e-2) and high == pytest.approx(
            factor * 10**0.5, rel=1e-2
        )


# specialised_over (Obs. 3) ---------------------------------------------------------------


def test_obs3_holds_when_specialised_methods_win_everywhere_by_a_factor_in_the_band():
    frame = rows([("acorn_gamma", "EM", 0.01, 0.96, 100.0), ("ung", "EM", 0.01, 0.97, 450.0)])
    frame += rows([("acorn_gamma", "R", 0.01, 0.99, 200.0), ("serf", "R", 0.01, 0.99, 600.0)])
    verdict, evidence = check(frame, "obs3")
    assert verdict == HOLDS and "EM@0.01 ung 4.50x" in evidence and "largest 4.50x (in the band" in evidence


@pytest.mark.parametrize(
    ("specialised_qps", "why"),
    [(450.0 / 4.5 * 1.01, "1.01x: 'up to 10x' is not a 1% edge"), (100.0 * 300, "300x: another regime")],
)
def test_obs3_does_not_hold_with_a_largest_factor_outside_the_band(specialised_qps, why):
    frame = rows([("acorn_gamma", "EM", 0.01, 0.96, 100.0), ("ung", "EM", 0.01, 0.97, specialised_qps)])
    verdict, evidence = check(frame, "obs3")
    assert verdict == FAILS, why
    assert "outside the band 3.16..31.6x" in evidence


def test_obs3_does_not_hold_when_acorn_is_faster():
    frame = rows([("acorn_gamma", "EM", 0.01, 0.99, 900.0), ("ung", "EM", 0.01, 0.99, 450.0)])
    assert check(frame, "obs3")[0] == FAILS


def test_obs3_counts_sections_only_acorn_reaches_instead_of_skipping_them():
    """Audit defect 1: ACORN the only method reaching 0.95 in 2 of 3 sections read 'holds'."""
    frame = rows([("acorn_gamma", "EM", 0.01, 0.96, 100.0), ("ung", "EM", 0.01, 0.97, 500.0)])
    frame += rows([("acorn_gamma", "EM", 0.1, 0.96, 100.0), ("ung", "EM", 0.1, 0.90, 900.0)])
    frame += rows([("acorn_gamma", "R", 0.01, 0.96, 100.0), ("serf", "R", 0.01, 0.80, 900.0)])
    verdict, evidence = check(frame, "obs3")
    assert verdict == FAILS and evidence.count("only ACORN reaches") == 2


def test_obs3_is_not_testable_without_a_specialised_method_or_a_section_both_reach():
    assert check(rows([("acorn_gamma", "EM", 0.01, 0.99, 900.0)]), "obs3")[0] == UNTESTABLE
    only_specialised = rows([("acorn_gamma", "EM", 0.01, 0.5, 900.0), ("ung", "EM", 0.01, 0.99, 450.0)])
    verdict, evidence = check(only_specialised, "obs3")
    assert verdict == UNTESTABLE and "factor is untested" in evidence


# beaten_by_any ("ACORN generally outperformed") -------------------------------------------


def test_acorn_outperformed_holds_when_beaten_in_most_sections():
    frame = rows([("acorn_gamma", "EM", 0.01, 0.96, 100.0), ("ung", "EM", 0.01, 0.97, 500.0)])
    frame += rows([("acorn_gamma", "R", 0.01, 0.96, 100.0), ("serf", "R", 0.01, 0.97, 500.0)])
    frame += rows([("acorn_gamma", "EMIS", 0.01, 0.96, 900.0), ("ung", "EMIS", 0.01, 0.97, 500.0)])
    assert check(frame, "acorn_outperformed") == (HOLDS, "acorn_gamma beaten in 2 of 3 sections")


def test_acorn_outperformed_does_not_hold_when_only_acorn_reaches_most_sections():
    """Audit defect 1: ACORN alone reaching 0.95 in 2 of 3 sections read 'beaten in 1 of 1'."""
    frame = rows([("acorn_gamma", "EM", 0.01, 0.96, 100.0), ("ung", "EM", 0.01, 0.97, 500.0)])
    frame += rows([("acorn_gamma", "EM", 0.1, 0.96, 100.0), ("ung", "EM", 0.1, 0.90, 900.0)])
    frame += rows([("acorn_gamma", "R", 0.01, 0.96, 100.0), ("serf", "R", 0.01, 0.80, 900.0)])
    assert check(frame, "acorn_outperformed") == (FAILS, "acorn_gamma beaten in 1 of 3 sections")


def test_acorn_outperformed_is_not_testable_without_a_specialised_method():
    verdict, _ = check(rows([("acorn_gamma", "EM", 0.01, 0.99, 900.0)]), "acorn_outperformed")
    assert verdict == UNTESTABLE
    assert check(rows([("ung", "EM", 0.01, 0.99, 900.0)]), "acorn_outperformed")[0] == UNTESTABLE


# better (FDANN over UNG on EMIS) ------------------------------------------------------------


def test_fdann_over_ung_holds_when_fdann_is_faster_on_emis():
    frame = rows([("filtered_vamana", "EMIS", 0.1, 0.99, 500.0), ("ung", "EMIS", 0.1, 0.99, 300.0)])
    assert check(frame, "fdann_over_ung_emis")[0] == HOLDS


def test_fdann_over_ung_does_not_hold_when_ung_is_faster_or_fdann_never_reaches():
    frame = rows([("filtered_vamana", "EMIS", 0.1, 0.99, 300.0), ("ung", "EMIS", 0.1, 0.99, 500.0)])
    assert check(frame, "fdann_over_ung_emis")[0] == FAILS
    frame = rows([("filtered_vamana", "EMIS", 0.1, 0.5, 3000.0), ("ung", "EMIS", 0.1, 0.99, 500.0)])
    assert check(frame, "fdann_over_ung_emis")[0] == FAILS


def test_fdann_over_ung_without_emis_rows_is_not_testable_and_says_so():
    """Item 7: with no EMIS rows the message said 'neither reaches the recall'."""
    frame = rows([("filtered_vamana", "EM", 0.1, 0.99, 500.0), ("ung", "EM", 0.1, 0.99, 300.0)])
    verdict, evidence = check(frame, "fdann_over_ung_emis")
    assert verdict == UNTESTABLE and evidence == "no EMIS rows with filtered_vamana and ung both run"


def test_methods_not_run_or_not_registered_make_a_claim_untestable():
    spec = load_claims()
    spec["methods"]["FDANN (stitched)"] = []  # no method of ours stands for it yet
    result = check(rows([("acorn_gamma", "EM", 0.01, 0.99, 900.0)]), "fdann_over_ung_emis", spec)
    assert result[0] == UNTESTABLE
    assert "FDANN (stitched): not yet available" in result[1] and "UNG: not measured here" in result[1]


# top_fraction (NHQ kgraph among the best; SeRF on R) -----------------------------------------

ROSTER_EM = [("acorn_gamma_ref", 500.0), ("ung", 400.0), ("caps", 300.0)]


def em_section(nhq_qps: float, extra: list[tuple[str, float]] = ()) -> list[dict]:
    methods = [*ROSTER_EM, ("nhq_kgraph", nhq_qps), *extra]
    return rows([(m, "EM", 0.01, 0.99, q) for m, q in methods])


def test_nhq_among_best_holds_in_the_faster_half_of_the_roster():
    verdict, evidence = check(em_section(450.0), "nhq_kgraph_among_best")
    assert verdict == HOLDS and "rank 2/4" in evidence


def test_nhq_among_best_does_not_hold_when_slow_and_baselines_do_not_rescue_it():
    """Audit defect 4: two slow baselines and the unchosen ACORN variant flipped it to 'holds'."""
    assert check(em_section(100.0), "nhq_kgraph_among_best")[0] == FAILS
    padded = em_section(100.0, [("exact", 10.0), ("faiss_hnsw", 5.0), ("acorn_gamma", 1.0)])
    verdict, evidence = check(padded, "nhq_kgraph_among_best")
    assert verdict == FAILS and "rank 4/4" in evidence
    assert "beside, not ranked: exact 10, faiss_hnsw 5, acorn_gamma 1" in evidence


def test_nhq_not_reaching_the_recall_ranks_last():
    frame = em_section(100.0)
    frame[-1]["recall"] = 0.5
    verdict, evidence = check(frame, "nhq_kgraph_among_best")
    assert verdict == FAILS and "rank 4/4" in evidence


def test_nhq_among_best_is_not_testable_when_not_run_or_alone():
    assert (
        check(rows([(m, "EM", 0.01, 0.99, q) for m, q in ROSTER_EM]), "nhq_kgraph_among_best")[0]
        == UNTESTABLE
    )
    alone = rows([("nhq_kgraph", "EM", 0.01, 0.99, 100.0), ("exact", "EM", 0.01, 1.0, 10.0)])
    assert check(alone, "nhq_kgraph_among_best")[0] == UNTESTABLE


# build_spread (Obs. 4) ------------------------------------------------------------------------


def builds(seconds: list[float], qps: list[float], recall: float = 0.95) -> list[dict]:
    methods = ["acorn_gamma_ref", "ung", "caps", "nhq_kgraph"]
    out = []
    for method, s, q in zip(methods, seconds, qps, strict=False):
        out += rows([(method, "EM", 0.01, recall, q)], build_seconds=s)
    return out


def test_obs4_holds_with_a_spread_in_the_band_and_no_correlation():
    verdict, evidence = check(builds([1.0, 3.0, 10.0, 20.0], [300.0, 100.0, 400.0, 200.0]), "obs4")
    assert (
        verdict == HOLDS and "spread 20.0x over 4 methods (in the band" in evidence and "= 0.00" in evidence
    )


def test_obs4_does_not_hold_on_similar_builds_or_a_strong_correlation():
    """Audit defect 3: identical build times (1.0x, correlation undefined) read 'holds'."""
    verdict, evidence = check(builds([10.0] * 4, [300.0, 100.0, 400.0, 200.0]), "obs4")
    assert verdict == FAILS and "spread 1.0x" in evidence and "outside the band 5.06..50.6x" in evidence
    assert check(builds([1.0, 3.0, 10.0, 20.0], [100.0, 200.0, 300.0, 400.0]), "obs4")[0] == FAILS


def test_obs4_is_not_testable_with_an_undefined_correlation_or_too_few_methods():
    verdict, evidence = check(builds([1.0, 3.0, 10.0, 20.0], [300.0] * 4, recall=0.5), "obs4")
    assert verdict == UNTESTABLE and "undefined" in evidence
    assert check(builds([1.0, 20.0], [300.0, 100.0]), "obs4")[0] == UNTESTABLE


def test_obs4_ranks_only_the_paper_methods():
    frame = builds([1.0, 3.0, 10.0, 20.0], [300.0, 100.0, 400.0, 200.0])
    frame += rows([("exact", "EM", 0.01, 1.0, 10.0)], build_seconds=0.001)  # no index: 20,000x
    assert check(frame, "obs4")[0] == HOLDS


# largest (DIGRA and DSG slowest to build; NHQ and SeRF memory) ------------------------------


def built(times: dict[str, float]) -> list[dict]:
    return sum((rows([(m, "R", 0.1, 0.99, 100.0)], build_seconds=s) for m, s in times.items()), [])


def test_slowest_builds_hold_when_digra_and_dsg_take_longest():
    verdict, evidence = check(built({"digra": 100.0, "dsg": 80.0, "serf": 10.0}), "slowest_builds")
    assert verdict == HOLDS and evidence.startswith("largest build_seconds: digra 100, dsg 80, serf 10")


def test_slowest_builds_do_not_hold_when_another_paper_method_is_slower():
    assert check(built({"digra": 100.0, "dsg": 80.0, "serf": 200.0}), "slowest_builds")[0] == FAILS


def test_slowest_builds_ignore_baselines_and_are_not_testable_without_dsg():
    assert (
        check(built({"digra": 100.0, "dsg": 80.0, "serf": 10.0, "exact": 500.0}), "slowest_builds")[0]
        == HOLDS
    )
    verdict, evidence = check(built({"digra": 100.0, "serf": 10.0}), "slowest_builds")
    assert verdict == UNTESTABLE and "DSG: not measured here" in evidence
    assert check(built({"digra": 100.0, "dsg": 80.0}), "slowest_builds")[0] == UNTESTABLE  # no rival


# max_recall_below (large scale: FDANN/CAPS/UNG below 25 %, Obs. 5) ---------------------------


def test_large_scale_recall_claims_hold_on_large_runs():
    frame = rows([("ung", "EM", 0.01, 0.18, 50.0), ("caps", "EM", 0.01, 0.22, 80.0)], count=2_735_264)
    assert check(frame, "large_fail_25")[0] == HOLDS
    assert check(frame, "obs5")[0] == HOLDS


def test_large_scale_recall_claims_do_not_hold_when_recall_stays_high():
    frame = rows([("ung", "EM", 0.01, 0.9, 50.0), ("caps", "EM", 0.01, 0.22, 80.0)], count=2_735_264)
    assert check(frame, "large_fail_25")[0] == FAILS
    assert check(frame, "obs5")[0] == FAILS


def test_obs5_does_not_count_a_baseline_below_the_recall():
    frame = rows([("ung", "EM", 0.01, 0.9, 50.0), ("faiss_hnsw", "EM", 0.01, 0.1, 80.0)], count=2_735_264)
    verdict, evidence = check(frame, "obs5")
    assert verdict == FAILS and "faiss_hnsw" not in evidence


def test_large_scale_recall_claims_are_not_testable_on_small_runs():
    frame = rows([("ung", "EM", 0.01, 0.18, 50.0)])
    assert check(frame, "large_fail_25")[0] == UNTESTABLE
    assert check(frame, "obs5")[0] == UNTESTABLE


# consistent_across_k (Obs. 7) ---------------------------------------------------------------


def ranked_at(k: int, qps: dict[str, float]) -> list[dict]:
    return rows([(m, "EM", 0.1, 0.95, q) for m, q in qps.items()], k=k)


ORDER = {"acorn_gamma_ref": 300.0, "ung": 200.0, "caps": 100.0}


def test_obs7_holds_when_the_order_is_the_same_at_every_k():
    frame = ranked_at(10, ORDER) + ranked_at(20, {m: q / 2 for m, q in ORDER.items()})
    assert check(frame, "obs7") == (HOLDS, "EM@0.1 k=20 tau 1.00")


def test_obs7_does_not_hold_when_the_order_reverses():
    frame = ranked_at(10, ORDER) + ranked_at(20, {m: 1000 / q for m, q in ORDER.items()})
    assert check(frame, "obs7") == (FAILS, "EM@0.1 k=20 tau -1.00")


def test_obs7_ignores_baselines_and_is_not_testable_at_one_k():
    baselines = {"exact": 1.0, "faiss_hnsw": 1e6}
    frame = ranked_at(10, {**ORDER, **baselines}) + ranked_at(20, {**ORDER, "exact": 1e6, "faiss_hnsw": 1.0})
    assert check(frame, "obs7")[0] == HOLDS
    assert check(ranked_at(10, ORDER), "obs7")[0] == UNTESTABLE


def test_kendall_tau_of_identical_and_reversed_orders():
    a = pd.Series([3.0, 2.0, 1.0], index=["x", "y", "z"])
    assert kendall_tau(a, a) == 1.0
    assert kendall_tau(a, pd.Series([1.0, 2.0, 3.0], index=["x", "y", "z"])) == -1.0


# low_selectivity_degradation (Obs. 8, NHQ (nsw) on EM) ---------------------------------------


def steady(methods: tuple[str, ...] = ("acorn_gamma", "ung", "caps")) -> list[tuple]:
    return [(m, "EM", b, 0.95, 1000.0) for m in methods for b in (0.2, 0.8)]


def test_one_method_losing_half_its_qps_at_low_selectivity_holds_obs8_and_names_it():
    frame = rows([*steady(), ("nhq_nsw", "EM", 0.2, 0.95, 400.0), ("nhq_nsw", "EM", 0.8, 0.95, 1000.0)])
    verdict, evidence = check(frame, "obs8")
    assert verdict == HOLDS and "1 of 4 at <= 0.5x" in evidence
    assert check(frame, "nhq_nsw_low_selectivity") == (
        HOLDS,
        "qps_at_0.9 at the lowest over the highest bucket: nhq_nsw EM 0.40x",
    )


def test_no_method_degrading_at_low_selectivity_fails_obs8():
    frame = rows([*steady(), ("nhq_nsw", "EM", 0.2, 0.95, 900.0), ("nhq_nsw", "EM", 0.8, 0.95, 1000.0)])
    assert check(frame, "obs8")[0] == FAILS
    assert check(frame, "nhq_nsw_low_selectivity")[0] == FAILS


def test_obs8_does_not_hold_on_a_baseline_degrading_alone():
    """Audit defect 4: Obs. 8 held on faiss_hnsw's degradation alone."""
    frame = rows([*steady(), ("faiss_hnsw", "EM", 0.2, 0.95, 100.0), ("faiss_hnsw", "EM", 0.8, 0.95, 1000.0)])
    verdict, evidence = check(frame, "obs8")
    assert verdict == FAILS and "faiss_hnsw" not in evidence


def test_obs8_is_not_testable_with_one_bucket():
    frame = rows([(m, "EM", 0.2, 0.95, 1000.0) for m in ("acorn_gamma", "ung", "nhq_nsw")])
    assert check(frame, "obs8")[0] == UNTESTABLE
    assert check(frame, "nhq_nsw_low_selectivity")[0] == UNTESTABLE
    assert check(rows(steady()), "nhq_nsw_low_selectivity")[0] == UNTESTABLE  # NHQ (nsw) not run


def test_the_roster_takes_one_variant_per_paper_method():
    frame = pd.DataFrame(
        rows([("acorn_gamma_ref", "EM", 0.1, 0.9, 1.0), ("acorn_gamma", "EM", 0.1, 0.9, 1.0)])
    )
    claims = Claims(frame, load_claims())
    assert claims.roster == {"ACORN": "acorn_gamma_ref"}
    assert set(claims.baselines["method"]) == {"acorn_gamma"}


def test_an_untestable_claim_names_only_the_methods_that_are_absent():
    verdict, evidence = check(rows([("ung", "EMIS", 0.1, 0.99, 900.0)]), "fdann_over_ung_emis")
    assert (
        verdict == UNTESTABLE and "FDANN (filtered): not measured here" in evidence and "UNG" not in evidence
    )


def test_every_method_the_claims_file_names_is_registered():
    """`absence` says "not measured here" for a listed method: each must exist. Fails when
    the claims file lists a name the registry does not know."""
    from fanns_bench.methods.registry import method_names

    listed = {m for ours in load_claims()["methods"].values() for m in ours}
    assert listed and listed <= set(method_names()), sorted(listed - set(method_names()))
