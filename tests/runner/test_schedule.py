"""Interleaved repetitions (runner/schedule.py): rounds across a job's points in a seeded
order, drift between rounds and the machine-speed probe flagged, a point failing in a round
fails alone, `runner.interleave: false` keeps the point-by-point order."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from fanns_bench.runner import probe as probe_module
from fanns_bench.runner import run as run_module
from fanns_bench.runner.noise import MAX_DRIFT, MIN_PROBE_RATIO, drift, drift_reasons, round_factors
from fanns_bench.runner.probe import Probe, probe_ratio
from fanns_bench.runner.run import run_sweep
from fanns_bench.runner.schedule import Steps, round_orders
from tests.sweeps import sweep_config

DRIFTING = "tests.fakes:FakeDrifting"
POINTS = 4  # sweep_config: 2 filter types x 2 buckets, one search config
# FakeDrifting counts its searches: warm-up 1 + 1 per point (searches 1-8), then each round
# per point one untimed end-to-end (its passes are short: measure.REWARM_MAX_PASS_S), one
# timed end-to-end and one given-filter search: round 1 = 9-20, round 2 = 21-32
ROUND_2 = (2 * POINTS + 3 * POINTS + 1, 2 * POINTS + 6 * POINTS)
QUIET_RUNNER = {"repetitions": 3, "latency_queries": 0}


def test_round_orders_are_seeded_by_the_job_and_differ_per_round():
    keys = [f"key{i}" for i in range(6)]
    orders = round_orders(keys, 5)
    assert orders == round_orders(keys, 5)  # a rerun of the job repeats them
    assert all(sorted(order) == list(range(6)) for order in orders)
    assert all(a != b for a, b in zip(orders, orders[1:], strict=False))
    assert orders != round_orders([*keys[1:], "other"], 5)  # another job, another order
    two = round_orders(["a", "b"], 6)
    assert all(a != b for a, b in zip(two, two[1:], strict=False))  # two points: they alternate


def test_round_factors_read_the_machine_off_the_points_and_drift_flags_above_the_threshold():
    steady = [[(1.0, 0.5), (1.02, 0.51), (0.99, 0.5)], [(2.0, 1.0), (2.0, 1.01), (2.02, 0.99)]]
    assert max(round_factors(steady)) / min(round_factors(steady)) - 1 < MAX_DRIFT
    assert drift_reasons(drift(round_factors(steady))) == []
    slowed = [[(1.0, 0.5), (1.3, 0.65), (1.0, 0.5)], [(2.0, 1.0), (2.6, 1.3), (2.0, 1.0)]]
    assert round_factors(slowed) == pytest.approx([1.0, 1.3, 1.0])
    assert drift(round_factors(slowed)) == pytest.approx(0.3)
    reasons = drift_reasons(0.3)
    assert reasons == ["machine speed moved 30% between rounds of this job (> 10%)"]
    failed_in_round_2 = [[(1.0, 0.5)], *slowed[1:]]  # a point that failed keeps its first round
    assert round_factors(failed_in_round_2) == pytest.approx([1.0, 1.3, 1.0])
    assert drift([1.0]) is None


def test_probe_ratio_reads_a_slowed_probe_and_a_steady_one(monkeypatch):
    vectors = np.arange(800, dtype=np.float32).reshape(100, 8)
    probe = Probe.of(vectors)  # a small dataset: its rows repeated to the minimum block
    assert (
        probe.block.shape == (probe_module.MIN_BLOCK_BYTES // 32, 8)
        and (probe.block[100:200] == vectors).all()
    )
    assert probe.queries.shape == (probe_module.PROBE_QUERIES, 8)
    assert probe.passes * probe.block.nbytes == probe_module.PROBE_BYTES
    times = iter([0.004] * 6 + [0.0041, 0.0039, 0.004] + [0.006, 0.0061, 0.0059] + [0.008, 0.0081, 0.0079])
    monkeypatch.setattr(Probe, "seconds", lambda self: next(times))
    baseline = probe.baseline()  # one untimed, then the median of five
    assert baseline == 0.004
    steady = probe_ratio(baseline, [probe.seconds() for _ in range(3)])
    assert steady == pytest.approx(1.0)
    within = probe_ratio(baseline, [probe.seconds() for _ in range(3)])  # a process's own spread
    assert within == pytest.approx(0.004 / 0.006)
    slowed = probe_ratio(baseline, [probe.seconds() for _ in range(3)])
    assert slowed == pytest.approx(0.5)  # recorded, not a noisy reason (noise.py says why)
    assert probe_ratio(None, [0.004]) is None and probe_ratio(0.004, []) is None


def test_a_job_whose_machine_slows_in_one_round_records_drift_and_is_flagged(tmp_path):
    methods = {
        "steady": {"name": DRIFTING, "build": {"spin_ms": 5}},
        "slowed": {"name": DRIFTING, "build": {"spin_ms": 5, "slow_from": ROUND_2[0], "slow_to": ROUND_2[1], "slow_factor": 8}},
    }  # fmt: skip
    rows = run_sweep(sweep_config(tmp_path, methods, **QUIET_RUNNER)).rows.set_index("method")
    assert set(rows.status) == {"ok"} and rows.probe_ratio.between(0.2, 5).all()
    slowed, steady = rows.loc["slowed"], rows.loc["steady"]
    assert slowed.drift.nunique() == 1 and slowed.drift.iloc[0] > 1.0  # round 2 spun 8x longer
    assert slowed.noisy.all() and slowed.noisy_reason.str.contains("between rounds of this job").all()
    assert (steady.drift < 0.5).all()  # spinning searches, median over points: load aside, ~0


def test_a_probe_far_outside_its_band_is_recorded_but_flags_nothing(tmp_path, monkeypatch):
    """The probe is a reading, not a noisy reason (noise.py: it never caught a moved point
    that drift or spread had not, and alone flagged 63 points of a quiet pair that did not move)."""
    monkeypatch.setattr(run_module, "baseline_in_child", lambda path, pin: 1e-6)  # jobs read ~1e4x slower
    methods = {"steady": {"name": DRIFTING, "build": {"spin_ms": 5}}}
    rows = run_sweep(sweep_config(tmp_path, methods, **QUIET_RUNNER)).rows
    assert set(rows.status) == {"ok"} and (rows.probe_ratio < MIN_PROBE_RATIO).all()
    assert not rows.noisy_reason.fillna("").str.contains("probe").any()


def test_a_point_that_fails_in_round_2_fails_alone(tmp_path):
    fail_at = ROUND_2[0] + 4  # round 2's second point, its timed end-to-end search
    methods = {"flaky": {"name": DRIFTING, "build": {"spin_ms": 1, "fail_at": fail_at}}}
    rows = run_sweep(sweep_config(tmp_path, methods, **QUIET_RUNNER)).rows
    failed, ok = rows[rows.status == "failed"], rows[rows.status == "ok"]
    assert len(failed) == 1 and len(ok) == POINTS - 1
    assert (
        failed.reason.iloc[0]
        == f"search failed in round 2: RuntimeError: deliberate failure in search {fail_at}"
    )
    assert (ok.batch_seconds.map(len) == 3).all() and ok.drift.notna().all()
    assert (tmp_path / "results" / "errors").is_dir()


def _groups(lines: list[str], size: int) -> list[str]:
    """The points searched, from a log of fingerprints where each point's turn is `size`
    searches of that point."""
    assert len(lines) % size == 0 and all(
        len(set(lines[i : i + size])) == 1 for i in range(0, len(lines), size)
    )
    return lines[0::size]


def _turns(text: str) -> tuple[list[str], list[str]]:
    """(calibration, rounds) from an interleaved job's log: a warm-up is a pair (end to end,
    then given the filter) per point; a round's turn is a triple (an untimed end-to-end pass
    first: the point's passes are short, then the timed pair)."""
    lines = text.split()
    return _groups(lines[: 2 * POINTS], 2), _groups(lines[2 * POINTS :], 3)


def test_rounds_take_every_point_once_in_a_seeded_order_and_interleave_false_keeps_the_old_one(tmp_path):
    log = tmp_path / "searches.log"
    methods = {"logged": {"name": DRIFTING, "build": {"spin_ms": 0, "log": str(log)}}}
    run_sweep(sweep_config(tmp_path, methods, **QUIET_RUNNER))
    calibration, turns = _turns(log.read_text())
    assert len(turns) == POINTS * 3  # 3 rounds after the calibration
    rounds = [turns[i : i + POINTS] for i in range(0, len(turns), POINTS)]
    assert len(set(calibration)) == POINTS and all(sorted(r) == sorted(calibration) for r in rounds)
    assert all(a != b for a, b in zip(rounds, rounds[1:], strict=False))  # the order changes per round
    first = log.read_text()
    log.unlink()
    run_sweep(sweep_config(tmp_path, methods, **QUIET_RUNNER, force=True))
    assert log.read_text() == first  # seeded: a rerun searches in the same order
    log.unlink()
    old = run_sweep(sweep_config(tmp_path, methods, **QUIET_RUNNER, interleave=False)).rows
    # each point start to end (warm-up, 3 repetitions: pairs, none re-warmed), one after the other
    assert _groups(log.read_text().split(), 2) == [p for p in calibration for _ in range(4)]
    assert set(old.status) == {"ok"} and old.drift.isna().all()  # one point at a time: no drift


def test_a_jobs_probe_is_timed_warm_right_after_an_untimed_run(monkeypatch):
    """The baseline's runs follow one another; a job's follow its searches, which evict the
    block: the job times the run after an untimed one, not the cold one."""
    readings = iter([0.020, 0.010])  # cold, then warm
    monkeypatch.setattr(Probe, "seconds", lambda self: next(readings))
    assert Probe.of(np.ones((8, 4), dtype=np.float32)).warm_seconds() == 0.010


def test_where_a_job_is_reads_a_step_file_the_worker_removes_meanwhile_as_none(tmp_path, monkeypatch):
    """The sweep lists a running job's step file, then reads it; the worker may end (and remove
    it, `Steps.done`) in between: the job's progress says nothing then, the sweep goes on."""
    spec = SimpleNamespace(error_file=tmp_path / "errors" / "job-k.txt")
    steps = Steps(spec.error_file)
    steps.now("round 1 of 3, point k")
    assert run_module._last_steps(spec) == ["last step started: round 1 of 3, point k"]
    read_text = Path.read_text

    def worker_ends_first(path, *args, **kwargs):
        if path == steps.path:
            steps.done()
        return read_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", worker_ends_first)
    assert run_module._last_steps(spec) == []
    spec.error_file.write_text("Traceback: the worker's own\n")
    steps.now("latency pass and row, point k")
    assert run_module._job_error(spec, "timed out") == "timed out\nTraceback: the worker's own\n"
