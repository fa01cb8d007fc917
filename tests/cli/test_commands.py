"""The command line, as a user types it (subprocesses, the repository's configs)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fanns_bench.results.row_files import load_results

REPO = Path(__file__).resolve().parents[2]


def cli(tmp_path: Path, *arguments: str, path: Path | None = None) -> subprocess.CompletedProcess:
    """`fanns-bench ARGUMENTS` in `tmp_path`; `path`: a folder of extra installed packages."""
    python_path = [str(REPO), os.environ.get("PYTHONPATH", "")]  # REPO: tests.fakes
    env = {
        **os.environ,
        "FANNS_BENCH_ROOT": str(tmp_path),
        "FANNS_BENCH_CONFIGS": str(REPO / "configs"),
        "PYTHONPATH": os.pathsep.join([str(path)] * bool(path) + python_path),
    }
    return subprocess.run(
        [sys.executable, "-m", "fanns_bench.cli", *arguments],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_list_shows_builtin_methods_with_install_state(tmp_path):
    result = cli(tmp_path, "list")
    assert result.returncode == 0
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line[:1].strip()}
    for name in ("exact", "faiss_hnsw", "faiss_ivf", "faiss_hnsw_postfilter"):
        assert lines[name].split()[1] == "yes"
    assert lines["exact"].split()[3] == "always"
    assert lines["faiss_hnsw"].split()[3] == "one_thread"
    assert lines["pgvector"].split()[3] == "never"
    assert "nondeterministic build: pgvector draws HNSW levels" in result.stdout


def test_list_params_says_why_a_build_is_not_deterministic(tmp_path):
    result = cli(tmp_path, "list", "--params", "faiss_hnsw")
    assert result.returncode == 0
    assert (
        "deterministic build of faiss_hnsw: one_thread: faiss adds HNSW vertices in parallel" in result.stdout
    )


def test_validate_accepts_the_smoke_experiment(tmp_path):
    result = cli(tmp_path, "validate", "smoke")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "config OK" in result.stdout


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["method=no_such_method"], "unknown method 'no_such_method'; available methods: acorn_1, "),
        (["method=kannolo_acorn1"], "method 'kannolo_acorn1' is now 'kannolo_acorn_1'; use the new name"),
        (
            ["+method.x.name=kannolo_acorn1"],
            "method 'kannolo_acorn1' is now 'kannolo_acorn_1'; use the new name",
        ),
        (["experiment=no_such"], "unknown experiment 'no_such'; available experiments: bench_acorn, "),
        (
            ["dataset=no_such"],
            "unknown dataset 'no_such'; available datasets: arxiv_astroph_sample, arxiv_kaggle, ",
        ),
        (["workload=no_such"], "unknown workload 'no_such'; available workloads: arxiv_buckets, "),
        (["+method.x.name=no_such_method"], "unknown method 'no_such_method'; registered methods: "),
        (["workload.filters=[{type:EM,template:eq,attribute:colour}]"], "unknown attribute 'colour'"),
        (
            ["dataset.builder=existing", "dataset.name=nowhere", "+dataset.params.location=/no/such/dir"],
            "params.location = '/no/such/dir' does not exist",
        ),
        (["runner.k=[500]"], "runner.k=500 exceeds workload.ground_truth_depth=100"),
        (
            ["+method.faiss_hnsw.build.MM=[3]"],
            "method 'faiss_hnsw': unknown build parameter 'MM' (did you mean 'M'?); valid: M, efConstruction",
        ),
        (
            ["method.faiss_hnsw.search.efSerch=[3]"],
            "method 'faiss_hnsw': unknown search parameter 'efSerch' (did you mean 'efSearch'?)",
        ),
        (["method.faiss_hnsw.search.efSearch=[0]"], "search parameter 'efSearch': expected >= 1, got 0"),
        (
            ["+method.faiss_hnsw.conformance.build.MM=3"],
            "method 'faiss_hnsw': unknown conformance build parameter 'MM' (did you mean 'M'?)",
        ),
        (
            ["+method.faiss_hnsw.conformance.search.efSearch=[8,16]"],
            "method 'faiss_hnsw': conformance.search: expected one value per parameter",
        ),
        (
            ["+method.faiss_hnsw.conformance.known_limits.XX=why"],
            "conformance.known_limits: unknown filter type 'XX'; valid: EM, R, EMIS, EM+R, none",
        ),
        (
            ["+method.faiss_hnsw.conformance.pin=1"],
            "conformance: unknown key 'pin'; valid: build, known_limits",
        ),
        (["runner.repetitions=abc"], "runner.repetitions: expected an integer, got 'abc'"),
        (["+runner.repetiton=2"], "runner: unknown key 'repetiton' (did you mean 'repetitions'?)"),
        (["method.faiss_hnsw.timeout_s=-1"], "method 'faiss_hnsw': timeout_s: expected >= 1, got -1"),
    ],
)
def test_validate_names_each_problem(tmp_path, overrides, message):
    result = cli(tmp_path, "validate", "smoke", *overrides)
    assert result.returncode == 1
    assert message in result.stdout


def test_validate_names_a_missing_dataset_file_in_one_line(tmp_path):
    result = cli(tmp_path, "validate", "dataset=arxiv_published_medium", "workload=paper_published")
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        "problem: [error] dataset 'arxiv_published_medium': "
        "params.source = 'downloads/arxiv-for-fanns-medium' does not exist"
    )


def test_run_refuses_an_unknown_experiment_listing_the_valid_ones(tmp_path):
    result = cli(tmp_path, "run", "no_such_experiment")
    assert result.returncode == 2
    assert "unknown experiment 'no_such_experiment'; available experiments: bench_acorn, " in result.stderr
    assert "Traceback" not in result.stderr


def broken_plugin(site: Path) -> Path:
    """A distribution whose method module fails to import, as pip would install it."""
    info = site / "broken_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[fanns_bench.methods]\nbroken = broken_plugin.method:Broken\n")
    (site / "broken_plugin").mkdir()
    (site / "broken_plugin" / "__init__.py").write_text("raise ImportError('needs libfoo')\n")
    return site


def test_a_broken_plugin_is_reported_by_name_and_breaks_nothing_else(tmp_path):
    site = broken_plugin(tmp_path / "site")
    listing = cli(tmp_path, "list", path=site)
    assert listing.returncode == 0
    lines = {line.split()[0]: line for line in listing.stdout.splitlines() if line[:1].strip()}
    assert "failed to import: needs libfoo" in lines["broken"] and lines["exact"].split()[1] == "yes"
    assert cli(tmp_path, "validate", "smoke", path=site).returncode == 0
    chosen = cli(tmp_path, "validate", "smoke", "method=[exact,broken]", path=site)
    assert chosen.returncode == 1
    assert "method 'broken' (broken_plugin.method:Broken) failed to import: needs libfoo" in chosen.stdout


def test_validate_warns_of_unsupported_filter_types_without_failing(tmp_path):
    result = cli(tmp_path, "validate", "smoke", "+method.eq.name=tests.fakes:FakeEqOnly")
    assert result.returncode == 0
    assert "[warning] method 'tests.fakes:FakeEqOnly' does not support filter type 'R'" in result.stdout
    assert "config OK (2 warning(s))" in result.stdout


@pytest.mark.slow
def test_run_with_overrides_then_plot_and_report(tmp_path):
    result = cli(tmp_path, "run", "experiment=smoke", "method=faiss_hnsw", "workload.selectivities=[0.1,0.5]")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "results:" in result.stdout and "combined Parquet:" in result.stdout
    rows = load_results(tmp_path / "results" / "smoke")
    assert set(rows.method) == {"faiss_hnsw"} and set(rows.selectivity_bucket) <= {0.1, 0.5, 1.0}
    plot = cli(tmp_path, "plot", str(tmp_path / "results" / "smoke"))
    assert plot.returncode == 0 and ".png" in plot.stdout
    report = cli(tmp_path, "report", str(tmp_path / "results" / "smoke"))
    assert report.returncode == 0 and "faiss_hnsw" in report.stdout


@pytest.mark.slow
def test_multirun_sweeps_methods_with_the_basic_launcher(tmp_path):
    result = cli(
        tmp_path,
        "run",
        "--multirun",
        "experiment=smoke",
        "method=exact,faiss_ivf",
        "workload.selectivities=[0.5]",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = load_results(tmp_path / "results" / "smoke")
    assert set(rows.method) == {"exact", "faiss_ivf"}


@pytest.mark.slow
def test_multirun_through_the_submitit_launcher(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="the cluster extra is not installed")
    result = cli(
        tmp_path,
        "run",
        "--multirun",
        "hydra/launcher=submitit_local",
        "experiment=smoke",
        "method=exact,faiss_ivf",
        "workload.selectivities=[0.5]",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = load_results(tmp_path / "results" / "smoke")
    assert set(rows.method) == {"exact", "faiss_ivf"} and set(rows.status) == {"ok"}
    assert "multirun: 2 job(s), 0 stopped before any row" in result.stdout  # outcomes came back


def test_run_refuses_a_broken_config_with_one_message(tmp_path):
    result = cli(
        tmp_path, "run", "experiment=smoke", "workload.filters=[{type:EM,template:eq,attribute:colour}]"
    )
    assert result.returncode == 2
    assert "unknown attribute 'colour'" in result.stderr
    assert "Traceback" not in result.stderr


def test_plot_of_missing_directory_is_a_clear_error(tmp_path):
    result = cli(tmp_path, "plot", str(tmp_path / "nothing"))
    assert result.returncode == 2 and "error:" in result.stderr and "Traceback" not in result.stderr


def test_validate_stops_a_method_that_would_answer_no_filter_type(tmp_path):
    result = cli(tmp_path, "validate", "smoke", "method=serf")
    assert result.returncode == 1
    [line] = [line for line in result.stdout.splitlines() if "[error]" in line]
    assert "method 'serf' answers none of the filter types of workload 'smoke'" in line
    assert "'update_date'" in line and "set method.serf.build.attribute=[score]" in line
    fixed = cli(tmp_path, "validate", "smoke", "method=serf", "method.serf.build.attribute=[score]")
    assert fixed.returncode == 0, fixed.stdout
    # one useless build of a grid that has a useful one: a warning naming that build
    grid = cli(
        tmp_path, "validate", "smoke", "method=serf", "method.serf.build.attribute=[update_date,score]"
    )
    assert grid.returncode == 0, grid.stdout
    assert '[warning] build {"attribute":"update_date",' in grid.stdout
    # filters sharing a type (EM on em_20 ... em_80, one label build per level) are each answered
    levels = cli(tmp_path, "validate", "paper_selectivity_scaled")
    assert "answers none" not in levels.stdout, levels.stdout
