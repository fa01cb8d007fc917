"""Measurement: the same work in every timed repetition, filter preparation timed in `qps`
and not in `qps_given_filter`, QPS from the median batch, returned ids kept; repetitions
repeated to a minimum time with the pass count fixed per point, the two kinds alternating,
and the CPU clock, load and noisy flag in the row."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyarrow as pa

from fanns_bench.filters.attribute_index import AttributeIndex
from fanns_bench.filters.evaluate import AttributeTable
from fanns_bench.filters.predicates import Eq
from fanns_bench.groundtruth import GroundTruth
from fanns_bench.methods.base import FilterBatch, Method
from fanns_bench.methods.common.id_sets import IdSets, id_sets
from fanns_bench.runner.measure import MAX_PASSES, REWARM_MAX_PASS_S, PointMeasurement, measure, passes_for

N, K = 20, 2
VECTORS = np.eye(N, dtype=np.float32)
ATTRIBUTES = AttributeIndex(AttributeTable(pa.table({"c": pa.array([i % 2 for i in range(N)])})))


class SlowFilters(Method):
    """Answers exactly; its filter preparation sleeps 20 ms, its search 2 ms."""

    name = "slow_filters"

    def __init__(self, metric: str = "ip", threads: int = 1) -> None:
        super().__init__(metric, threads)
        self.prepared: list[FilterBatch] = []

    def build(self, dataset: Any) -> None:
        pass

    def prepare_filters(self, filters: FilterBatch) -> IdSets:
        time.sleep(0.02)
        self.prepared.append(filters)  # kept alive, so identities stay distinct
        return id_sets(filters)

    def search(self, queries: np.ndarray, filters: IdSets, k: int) -> np.ndarray:
        time.sleep(0.002)
        return np.stack([filters.members(s)[:k] for s in filters.rows])


class Recording(SlowFilters):
    """SlowFilters that logs which kind of pass each search belongs to."""

    name = "recording"

    def __init__(self) -> None:
        super().__init__()
        self.given_input: IdSets | None = None
        self.log: list[str] = []

    def prepare_filters(self, filters: FilterBatch) -> IdSets:
        prepared = super().prepare_filters(filters)
        if self.given_input is None:
            self.given_input = prepared  # the runner prepares the given-filter input first
        return prepared

    def search(self, queries: np.ndarray, filters: IdSets, k: int) -> np.ndarray:
        self.log.append("given" if filters is self.given_input else "end_to_end")
        return super().search(queries, filters, k)


def run(method: Method, repetitions: int = 3, **settings: Any) -> dict[str, Any]:
    predicates = [Eq("c", 0), Eq("c", 1)]
    truth = GroundTruth(np.array([[0, 2], [1, 3]]), np.ones((2, 2), dtype=np.float32))
    match_ids = [ATTRIBUTES.evaluate(p) for p in predicates]
    return measure(
        method, VECTORS[:2], predicates, ATTRIBUTES, match_ids, truth, VECTORS, "ip", K, {},
        repetitions=repetitions, latency_queries=0, **{"warmup": True, **settings},
    )  # fmt: skip


def test_filter_preparation_is_timed_in_qps_and_not_in_qps_given_filter():
    measured = run(SlowFilters())
    assert min(measured["batch_seconds"]) >= 0.02
    assert max(measured["search_seconds"]) < 0.02
    assert measured["qps_given_filter"] > 3 * measured["qps"]
    assert measured["filter_seconds"] >= 0.02


def test_every_timed_repetition_prepares_its_own_fresh_batch():
    method = SlowFilters()
    run(method, repetitions=3)
    assert len(method.prepared) == 1 + 3 + 1  # warm-up, each timed repetition, the given-filter input
    assert len({id(batch) for batch in method.prepared}) == 5  # never a batch carried over


def test_qps_is_queries_over_the_median_batch_and_ids_are_kept():
    measured = run(SlowFilters(), repetitions=5)
    assert measured["qps"] == 2 / float(np.median(measured["batch_seconds"]))
    assert len(measured["batch_seconds"]) == len(measured["search_seconds"]) == 5
    assert measured["ids"] == [0, 2, 1, 3]
    assert measured["recall"] == 1.0 and measured["filter_violations"] == 0


def test_pass_count_reaches_the_minimum_from_one_pass_time():
    assert passes_for(0.1, 0.03) == 4
    assert passes_for(0.1, 0.2) == 1
    assert passes_for(0.0, 1e-6) == 1  # no minimum: one pass per repetition
    assert passes_for(0.1, 0.0) == MAX_PASSES


def test_a_repetition_repeats_fresh_batches_to_the_minimum_time_with_fixed_passes():
    method = Recording()
    measured = run(method, repetitions=3, min_repetition_s=0.05)
    passes = measured["repetition_passes"]
    assert passes >= 2  # a 22 ms batch repeated to 50 ms
    ends = method.log.count("end_to_end")
    assert 1 <= ends - 3 * passes <= 3  # the warm-up (up to 3 passes under 50 ms), then identical repetitions
    assert len(method.prepared) == 1 + ends  # the given-filter input, then a fresh batch per pass
    assert len({id(batch) for batch in method.prepared}) == len(method.prepared)
    assert all(0.02 <= s < 0.04 for s in measured["batch_seconds"])  # ONE pass, not the repetition
    assert measured["qps"] == 2 / float(np.median(measured["batch_seconds"]))
    assert measured["seconds_per_query"] == float(np.median(measured["batch_seconds"])) / 2
    assert method.log.count("given") > ends  # the 2 ms search alone needs more passes to 50 ms
    assert all(s < 0.02 for s in measured["search_seconds"])


def test_end_to_end_and_given_filter_repetitions_alternate():
    method = Recording()
    run(method, repetitions=3, min_repetition_s=0.01)
    blocks = [kind for i, kind in enumerate(method.log) if i == 0 or method.log[i - 1] != kind]
    assert blocks == ["end_to_end", "given"] * 4  # the warm-up pair, then three timed pairs


def test_an_interleaved_repetition_of_short_passes_starts_with_one_untimed_pass_of_its_point():
    """Interleaved rounds: the job's previous repetition was another point's; a short pass gets
    one untimed end-to-end pass first (its filter work not counted), a long one does not."""

    def repeated(pass_seconds: float, rewarm: bool) -> tuple[list[str], float]:
        method = Recording()
        point = PointMeasurement(method, VECTORS[:2], [Eq("c", 0), Eq("c", 1)], ATTRIBUTES, K, {}, count=N)
        point.calibrate(warmup=True, min_repetition_s=0.0)
        point.pass_seconds = pass_seconds  # what calibration read, fixed for the test
        before = len(method.log)
        point.repeat(rewarm=rewarm)
        return method.log[before:], point.filter_total

    short = REWARM_MAX_PASS_S / 2
    log, filter_total = repeated(short, rewarm=True)
    assert log == ["end_to_end", "end_to_end", "given"]  # untimed, timed, timed
    assert 0.02 <= filter_total < 0.04  # the timed pass's 20 ms filter preparation only
    assert repeated(short, rewarm=False)[0] == ["end_to_end", "given"]  # point by point: warm already
    assert repeated(2 * REWARM_MAX_PASS_S, rewarm=True)[0] == ["end_to_end", "given"]


def test_row_carries_cpu_time_load_switches_dispersion_and_noise():
    measured = run(SlowFilters(), repetitions=3)
    assert len(measured["cpu_seconds"]) == 3 and measured["repetition_passes"] == 1
    # SlowFilters sleeps: its wall time is not CPU time, so one thread at CPU/wall ~0 is flagged
    assert measured["cpu_wall_ratio"] < 0.5
    assert measured["qps_cpu"] > measured["qps"]
    assert measured["noisy"] and "CPU/wall" in measured["noisy_reason"]
    assert measured["load_avg"] >= 0 and measured["involuntary_switches"] >= 0
    rates = sorted(2 / s for s in measured["batch_seconds"])
    assert measured["qps_min"] == rates[0] and measured["qps_best"] == rates[-1]
    assert measured["qps_iqr"] == float(np.percentile(rates, 75) - np.percentile(rates, 25))


def test_qps_cpu_is_left_out_above_one_thread():
    assert run(SlowFilters(), repetitions=2, threads=2)["qps_cpu"] is None


def test_sweep_rows_carry_the_measurement_columns(tmp_path):
    from fanns_bench.runner.run import run_sweep
    from tests.sweeps import sweep_config

    rows = run_sweep(
        sweep_config(tmp_path, {"fake": {"name": "tests.fakes:FakeExact"}}, min_repetition_s=0.02)
    ).rows
    assert set(rows.status) == {"ok"}
    assert (rows.repetition_passes > 1).all()  # sub-millisecond batches of 8 queries, repeated to 20 ms
    assert (rows.cpu_seconds.map(len) == 2).all() and rows.qps_cpu.notna().all()
    assert rows.cpu_wall_ratio.between(0, 2).all() and rows.load_avg.notna().all()
    assert (rows.qps_min <= rows.qps).all() and (rows.qps <= rows.qps_best).all()
    assert rows.noisy.notna().all() and (rows.noisy == rows.noisy_reason.notna()).all()


def test_without_warm_up_or_minimum_every_search_is_timed_once():
    method = Recording()
    measured = run(method, repetitions=2, warmup=False, min_repetition_s=0.0)
    assert method.log == ["end_to_end", "given"] * 2 and measured["repetition_passes"] == 1
