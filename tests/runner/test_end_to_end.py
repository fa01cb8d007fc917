"""The runner end to end on a tiny dataset: rows, failures, isolation, resume."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from fanns_bench.results.row_files import finished_keys, load_results
from fanns_bench.runner.run import run_sweep
from tests.sweeps import sweep_config

EXACT = {"fake": {"name": "tests.fakes:FakeExact"}}


def test_sweep_writes_one_ok_row_per_point(tmp_path):
    outcome = run_sweep(
        sweep_config(
            tmp_path, {**EXACT, "faiss_hnsw": {"build": {"M": [8]}, "search": {"efSearch": [16, 64]}}}
        )
    )
    rows = outcome.rows
    assert len(rows) == 4 * 3 and set(rows.status) == {"ok"}
    assert rows.key.is_unique
    exact = rows[rows.method == "fake"]
    assert (exact.recall == 1.0).all() and (exact.recall_tie_aware == 1.0).all()
    assert (rows.filter_violations == 0).all()
    assert (rows.batch_seconds.map(len) == 2).all()
    assert rows.cpu_model.notna().all() and (rows.threads == 1).all() and (rows.build_threads == 1).all()
    hnsw = rows[rows.method == "faiss_hnsw"]
    assert (hnsw.index_bytes > 0).all() and (hnsw.build_seconds > 0).all()
    assert set(hnsw.method_threading) == {"threads"}  # the class's declaration, for the report
    assert json.loads(hnsw.search_params.iloc[0]).keys() == {"efSearch"}
    assert (outcome.results_dir / "results.parquet").is_file()
    assert (rows.selectivity_min <= rows.selectivity).all() and (
        rows.selectivity <= rows.selectivity_max
    ).all()
    assert rows.selectivity_median.between(rows.selectivity_min, rows.selectivity_max).all()
    assert ((rows.distinct_predicates >= 1) & (rows.distinct_predicates <= rows.n_queries)).all()
    [saved] = (outcome.results_dir / "workloads").glob("*/buckets.parquet")
    assert saved.parent.name == rows.workload_digest.iloc[0] and len(outcome.buckets) == 4


def test_segfault_and_hang_fail_their_own_rows_only(tmp_path):
    outcome = run_sweep(
        sweep_config(
            tmp_path,
            {
                "crash": {"name": "tests.fakes:FakeSegfault"},
                "hang": {"name": "tests.fakes:FakeHang", "timeout_s": 6},
                **EXACT,
            },
        )
    )
    rows = outcome.rows.set_index("method")
    assert set(rows.loc["fake", "status"]) == {"ok"}
    assert set(rows.loc["crash", "status"]) == {"failed"}
    assert rows.loc["crash", "reason"].str.contains("SIGSEGV").all()
    assert set(rows.loc["hang", "status"]) == {"failed"}
    assert rows.loc["hang", "reason"].str.startswith("timed out after 6 s").all()
    # the hung job says where it was (it hangs in its first search: the first point's calibration)
    assert rows.loc["hang", "reason"].str.contains("last step started: calibration, point ").all()


def test_a_failing_search_point_fails_alone(tmp_path):
    outcome = run_sweep(
        sweep_config(
            tmp_path, {"flaky": {"name": "tests.fakes:FakeSearchError", "search": {"fail": [False, True]}}}
        )
    )
    rows = outcome.rows
    failing = rows.search_params.str.contains('"fail":true')
    assert set(rows[failing].status) == {"failed"}
    assert rows[failing].reason.str.contains("deliberate search failure").all()
    assert set(rows[~failing].status) == {"ok"}


def test_unsupported_filter_types_are_recorded_not_run(tmp_path):
    outcome = run_sweep(sweep_config(tmp_path, {"eq": {"name": "tests.fakes:FakeEqOnly"}}))
    rows = outcome.rows
    assert set(rows[rows.filter_type == "EM"].status) == {"ok"}
    assert set(rows[rows.filter_type == "R"].status) == {"unsupported"}
    assert rows[rows.filter_type == "R"].reason.str.contains("does not support predicate ops").all()


def test_rerun_skips_finished_work_and_force_redoes_it(tmp_path):
    config = sweep_config(tmp_path, EXACT)
    first = run_sweep(config)
    mtimes = {p.name: p.stat().st_mtime_ns for p in (first.results_dir / "rows").iterdir()}
    again = run_sweep(config)
    assert again.executed_jobs == 0
    assert {p.name: p.stat().st_mtime_ns for p in (first.results_dir / "rows").iterdir()} == mtimes
    config["runner"]["force"] = True
    forced = run_sweep(config)
    assert forced.executed_jobs == 1 and len(forced.rows) == len(first.rows)


def test_changed_search_grid_runs_only_new_points(tmp_path):
    config = sweep_config(tmp_path, {"fake": {"name": "tests.fakes:FakeExact", "search": {"step": [0]}}})
    run_sweep(config)
    before = finished_keys(tmp_path / "results")
    config["method"]["fake"]["search"]["step"] = [0, 1]
    outcome = run_sweep(config)
    assert before < finished_keys(tmp_path / "results") and len(outcome.rows) == 8


def test_missing_dependency_gives_failed_rows_with_install_hint(tmp_path):
    outcome = run_sweep(sweep_config(tmp_path, {"gone": {"name": "tests.fakes:FakeMissing"}}))
    assert set(outcome.rows.status) == {"failed"}
    assert outcome.rows.reason.str.startswith("not installed: no_such_module_xyz").all()
    assert outcome.rows.reason.str.contains(r"fanns-bench\[nothing\]").all()


@pytest.mark.slow
def test_sigkilled_sweep_resumes_without_losing_or_duplicating_rows(tmp_path):
    config = sweep_config(
        tmp_path,
        {"slow": {"name": "tests.fakes:FakeSlow", "search": {"step": list(range(12))}}},
        repetitions=3,
        latency_queries=0,
        interleave=False,  # rows written point by point (interleaved: at the end of the job)
    )
    (tmp_path / "config.json").write_text(json.dumps(config))
    script = (
        "import json,sys; from fanns_bench.runner.run import run_sweep; "
        "run_sweep(json.load(open(sys.argv[1])))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    sweep = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "config.json")], env=env)
    rows_dir = tmp_path / "results" / "rows"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(rows_dir.glob("*.parquet"))) < 10:
        time.sleep(0.05)
    sweep.send_signal(signal.SIGKILL)
    sweep.wait()
    time.sleep(0.5)  # the worker dies with its parent (PR_SET_PDEATHSIG)
    survivors = {p.name: p.stat().st_mtime_ns for p in rows_dir.glob("*.parquet")}
    assert 10 <= len(survivors) < 48
    outcome = run_sweep(config)
    rows = load_results(tmp_path / "results")
    assert len(rows) == 48 and rows.key.is_unique and set(rows.status) == {"ok"}
    assert all((rows_dir / name).stat().st_mtime_ns == mtime for name, mtime in survivors.items())
    assert outcome.executed_jobs == 1
    assert np.isclose(rows.recall, 1.0).all()


def test_k_beyond_ground_truth_depth_is_refused_before_any_build(tmp_path):
    from fanns_bench.errors import ConfigError

    with pytest.raises(ConfigError, match="runner.k=50 exceeds the ground truth depth \\(20\\)"):
        run_sweep(sweep_config(tmp_path, EXACT, k=[10, 50]))
    assert not (tmp_path / "results" / "rows").exists()


def given_sweep(tmp_path, gt_ids):
    """A sweep over a given workload: query 0 twice with `category == c01`, `gt_ids` as given."""
    import pyarrow as pa

    from fanns_bench.data.builders import ensure_dataset
    from fanns_bench.data.importers.common import write_workload
    from fanns_bench.filters.predicates import Eq, to_json

    config = sweep_config(tmp_path, EXACT)
    dataset = ensure_dataset("tiny", "synthetic", config["dataset"]["params"], tmp_path / "datasets")
    predicate = Eq("category", "c01")
    matches = dataset.attributes.ids(predicate)
    scores = dataset.vectors[matches] @ dataset.queries[0]
    order = matches[np.argsort(-scores, kind="stable")]
    write_workload(
        pa.table(
            {
                "query_index": [0, 0],
                "filter_type": ["EM", "EM"],
                "predicate_json": [to_json(predicate)] * 2,
                "gt_ids": [[int(i) for i in ids(order)] for ids in gt_ids],
                "match_count": [0, 0],
                "selectivity": [0.0, 0.0],
            }
        ),
        dataset.path / "workloads" / "given.parquet",
    )
    config["workload"] = {
        "name": "given",
        "mode": "file",
        "path": "workloads/given.parquet",
        "ground_truth_depth": 20,
        "selectivities": [0.1, 0.2, 0.5],
    }
    return config, order


def test_given_workload_uses_its_own_ground_truth(tmp_path):
    config, _ = given_sweep(tmp_path, [lambda order: order[:1], lambda order: order[:3]])
    outcome = run_sweep(config)
    # exact search finds them all; the given truth (1 and 3 ids deep) is the one used: our
    # own would list 20 ids for each query
    assert outcome.rows.recall.tolist() == [1.0]
    from fanns_bench.groundtruth import GroundTruth

    [truth] = (tmp_path / "datasets" / "tiny" / "workloads").glob("given-*/groundtruth.npz")
    assert GroundTruth.load(truth).counts.tolist() == [1, 3]


def test_given_ground_truth_with_a_wrong_id_is_refused(tmp_path):
    from fanns_bench.errors import WorkloadError

    config, order = given_sweep(tmp_path, [lambda order: order[:1], lambda order: order[-1:]])
    with pytest.raises(WorkloadError, match=f"query 0 .*id {order[-1]} at rank 1 .*not among the exact top"):
        run_sweep(config)


def test_memory_cap_kills_a_runaway_build(tmp_path):
    outcome = run_sweep(
        sweep_config(tmp_path, {"hog": {"name": "tests.fakes:FakeHog", "timeout_s": 60}}, memory_limit_gb=0.6)
    )
    assert set(outcome.rows.status) == {"failed"}
    assert outcome.rows.reason.str.match(
        r"killed: resident memory \d\.\d\d GiB exceeded the cap of 0\.60 GiB"
    ).all()
