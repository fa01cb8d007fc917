"""Paper verdicts over the rows of the figures they cite, and how robust they are: seeded
bootstrap resamples of queries, repetitions and repeated builds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fanns_bench.report.claim_resample import resample, robustness
from fanns_bench.report.claims import FAILS, HOLDS, UNTESTABLE, compare_with_paper, load_claims, verdicts_on
from fanns_bench.report.claims_table import claims_section, measured_on, noisy_note


def row(method: str, filter_type: str, bucket: float, per_query: list[float], qps: float, **extra) -> dict:
    base = {
        "status": "ok", "experiment": "paper_fig23_em_scaled", "dataset": "d", "dataset_name": "d",
        "dataset_count": 10_000, "dimension": 384, "filter_type": filter_type, "selectivity_bucket": bucket,
        "n_queries": len(per_query), "k": 10, "threads": 1, "method": method,
        "recall": float(np.nanmean(per_query)), "recall_per_query": per_query, "qps": qps,
        "qps_given_filter": qps, "batch_seconds": [len(per_query) / qps] * 3, "build_seconds": 1.0,
        "index_bytes": 1, "build_peak_rss_bytes": 1, "search_peak_rss_bytes": 1, "build_params": "{}",
        "search_params": "{}", "cpu_model": "test cpu", "workload_digest": "w",
    }  # fmt: skip
    return {**base, **extra}


def by_id(verdicts) -> dict:
    return {v.id: v for v in verdicts}


def fig23(ung_per_query: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        [row("acorn_gamma_ref", "EM", 0.1, [1.0] * 40, 100.0), row("ung", "EM", 0.1, ung_per_query, 450.0)]
    )


def test_a_claim_whose_figure_rows_are_absent_is_not_testable_and_names_the_run():
    """Audit defect 5: Obs. 8 fell back to all rows and held on Fig. 23's buckets."""
    frame = pd.concat(
        [fig23([1.0] * 40)]
        + [
            pd.DataFrame([row(m, "R", b, [1.0] * 40, q if b > 0.2 else q / 4) for b in (0.2, 0.8)])
            for m, q in (("serf", 1000.0), ("dsg", 1000.0), ("digra", 900.0))
        ],
        ignore_index=True,
    )
    result = by_id(verdicts_on(frame, load_claims()))
    for claim_id in ("obs8", "nhq_nsw_low_selectivity"):
        assert result[claim_id].verdict == UNTESTABLE
        assert result[claim_id].evidence == (
            "no rows of paper_selectivity* (Fig. 31/33/35) here; "
            "tested by: fanns-bench run experiment=paper_selectivity_scaled"
        )
    assert result["obs3"].verdict == HOLDS and "each filter type's queries pooled" in result["obs3"].evidence


def test_clear_verdicts_read_n_of_n_and_carry_their_history():
    verdicts = by_id(compare_with_paper(fig23([1.0] * 40)))
    assert verdicts["obs3"].verdict == HOLDS and verdicts["obs3"].robustness == (
        "holds (5 of 5); every resample: EM ung 4.50x"
    )
    assert verdicts["obs8"].robustness == "not testable here (5 of 5)"
    assert "1b03b55" in verdicts["obs8"].history and "0.5x" in verdicts["obs8"].history


def test_a_verdict_on_the_edge_of_the_recall_level_is_unstable_with_its_split():
    # ung's pooled recall is 0.95 exactly: a query resample moves it either side of the level
    edge = [1.0] * 20 + [0.9] * 20
    verdicts = by_id(compare_with_paper(fig23(edge)))
    assert verdicts["obs3"].verdict == HOLDS
    text = verdicts["obs3"].robustness
    assert text.startswith("unstable (") and f"{HOLDS} " in text and f"{FAILS} " in text
    assert by_id(compare_with_paper(fig23(edge)))["obs3"].robustness == text  # seeded: repeatable


def test_robustness_text():
    assert robustness([HOLDS] * 5) == "holds (5 of 5)"
    assert robustness([FAILS] * 5) == "does not hold (5 of 5)"
    assert robustness([HOLDS, FAILS, HOLDS, HOLDS, FAILS]) == "unstable (3 of 5): holds 3, does not hold 2"
    evidence = ["EM ung 5.36x; largest 5.36x [scope]", "EM ung 2.61x; largest 2.61x [scope]"]
    assert robustness([HOLDS, FAILS], evidence) == (
        "unstable (1 of 2): holds 1, does not hold 1; resamples: EM ung 5.36x / EM ung 2.61x"
    )
    assert robustness([UNTESTABLE] * 2, ["no rows [x]"] * 2) == "not testable here (2 of 2)"


def test_resample_draws_the_same_queries_for_every_method_and_is_seeded():
    frame = pd.DataFrame(
        [row("a", "EM", 0.1, [1.0, 0.0, 1.0, 0.0], 100.0), row("b", "EM", 0.1, [1.0, 0.0, 1.0, 0.0], 50.0)]
    )
    one = resample(frame, np.random.default_rng(3))
    assert one["recall"].iloc[0] == one["recall"].iloc[1]  # paired: the same draw
    again = resample(frame, np.random.default_rng(3))
    pd.testing.assert_frame_equal(one, again)
    draws = {resample(frame, np.random.default_rng(s))["recall"].iloc[0] for s in range(20)}
    assert len(draws) > 1


def test_resample_scales_qps_by_a_drawn_median_of_repetitions():
    frame = pd.DataFrame([row("a", "EM", 0.1, [1.0] * 4, 100.0, batch_seconds=[0.04, 0.04, 0.4])])
    values = {round(float(resample(frame, np.random.default_rng(s))["qps"].iloc[0]), 6) for s in range(30)}
    assert values == {100.0, 10.0}  # median 0.04 s (most draws) or 0.4 s (two slow ones drawn)


def test_resample_takes_one_repeated_build_per_configuration():
    frame = pd.DataFrame(
        [row("a", "EM", 0.1, [1.0] * 4, q, build_repeat=r) for r, q in enumerate((100.0, 200.0))]
        + [row("b", "EM", 0.1, [1.0] * 4, 50.0, build_repeat=0)]
    )
    chosen = [resample(frame, np.random.default_rng(s)) for s in range(10)]
    assert all(len(c) == 2 and set(c["method"]) == {"a", "b"} for c in chosen)
    assert {int(c.loc[c["method"] == "a", "build_repeat"].iloc[0]) for c in chosen} == {0, 1}


def test_claims_table_names_the_data_and_robustness(tmp_path):
    (tmp_path / "d.built").mkdir()
    manifest = (
        '{"embedding_model": "sentence-transformers/all-MiniLM-L6-v2", "source": {"file": "arxiv.jsonl.gz"}}'
    )
    (tmp_path / "d.built" / "manifest.json").write_text(manifest)
    frame = fig23([1.0] * 40)
    assert (
        measured_on(frame, [tmp_path])
        == "d (10,000 x 384, sentence-transformers/all-MiniLM-L6-v2, from arxiv.jsonl.gz)"
    )
    assert (
        measured_on(frame, [tmp_path / "none"]) == "d (10,000 x 384, model not recorded, source not recorded)"
    )
    markdown, latex = claims_section(frame, compare_with_paper(frame), [tmp_path])
    assert "Data: ours is d (10,000 x 384" in markdown and "100,000 x 4096" in markdown
    assert (
        "Roster ranked (the paper's methods, one variant each): ACORN = acorn_gamma_ref, UNG = ung; "
        in markdown
    )
    assert "| robustness |" in markdown and "holds (5 of 5)" in markdown and "form history" in latex


@pytest.mark.parametrize("claim_id", [c["id"] for c in load_claims()["claims"]])
def test_every_shipped_claim_is_not_testable_on_rows_of_no_paper_experiment(claim_id):
    frame = fig23([1.0] * 40).assign(experiment="smoke")
    assert by_id(verdicts_on(frame, load_claims()))[claim_id].verdict == UNTESTABLE


def test_the_claims_table_counts_noisy_points_when_rows_carry_the_flag():
    frame = fig23([1.0] * 40)
    assert noisy_note(frame) == ""
    assert (
        noisy_note(frame.assign(noisy=[True, False]))
        == " 1 of 2 ok points are flagged noisy (their repetitions disagree)."
    )
