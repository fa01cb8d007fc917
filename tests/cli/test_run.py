"""`fanns-bench run` as a user or a CI job sees it: exit codes, --allow-failures, --multirun's
combined outcome, its own help, and one clear line for bad settings, disk errors and Ctrl-C."""

import errno

import pytest

from fanns_bench.cli import main
from tests.cli.test_commands import REPO, cli

SMALL = ["experiment=smoke", "method=exact", "workload.selectivities=[0.5]"]
CRASH = "+method.crash.name=tests.fakes:FakeSegfault"


def test_run_exits_3_when_a_point_failed_and_0_with_allow_failures(tmp_path):
    failed = cli(tmp_path, "run", *SMALL, CRASH)
    assert failed.returncode == 3, failed.stderr[-2000:]
    assert "point(s) failed or invalid" in failed.stdout and "exit status 3" in failed.stdout
    allowed = cli(tmp_path, "run", *SMALL, CRASH, "--allow-failures")
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    assert "retrying" in allowed.stdout + allowed.stderr  # the failed points were redone


def test_run_exits_0_when_every_point_is_ok(tmp_path):
    result = cli(tmp_path, "run", *SMALL)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "failed or invalid" not in result.stdout


def test_multirun_exits_3_on_failed_points_with_one_combined_summary(tmp_path):
    result = cli(tmp_path, "run", "--multirun", *SMALL, CRASH, "runner.k=[5],[10]")
    assert result.returncode == 3, result.stderr[-2000:]
    assert result.stdout.count("combined Parquet:") == 1  # one summary, at the end
    assert "multirun: 2 job(s), 0 stopped before any row" in result.stdout
    assert "k=5," in result.stdout and "k=10," in result.stdout
    assert (tmp_path / "results" / "smoke" / "multirun").is_dir()  # logs beside the results
    assert not (tmp_path / "results" / "multirun").exists()


def test_multirun_counts_a_job_whose_config_was_refused(tmp_path):
    result = cli(tmp_path, "run", "--multirun", *SMALL, "runner.repetitions=1,abc")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "runner.repetitions: expected an integer, got 'abc'" in result.stderr
    assert "multirun: 2 job(s), 1 stopped before any row" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("runner.repetitions=abc", "runner.repetitions: expected an integer, got 'abc'"),
        ("runner.memory_limit_gb=-1", "runner.memory_limit_gb: expected >= 0.001, got -1"),
        ("method.exact.timeout_s=-1", "method 'exact': timeout_s: expected >= 1, got -1"),
        ("workload.selectivities=[]", "selectivities is empty"),
    ],
)
def test_run_refuses_a_bad_setting_in_one_line(tmp_path, override, message):
    result = cli(tmp_path, "run", "experiment=smoke", "method=exact", override)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("override", ["nosuchkey=3", "method=no_such_method_config"])
def test_an_override_hydra_refuses_is_a_usage_error_not_a_disk_error(tmp_path, override):
    result = cli(tmp_path, "run", "experiment=smoke", override)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr


def test_an_unwritable_results_folder_is_still_exit_1(tmp_path):
    (tmp_path / "afile").write_text("")
    result = cli(tmp_path, "run", *SMALL, f"paths.results={tmp_path / 'afile'}")
    assert result.returncode == 1, result.stderr[-2000:]
    assert "is a file, not a folder" in result.stderr


def test_run_help_lists_fanns_bench_flags_and_exit_codes_before_hydras(tmp_path):
    result = cli(tmp_path, "run", "--help")
    assert result.returncode == 0
    ours = result.stdout.index("--allow-failures")
    for flag in ("--force", "--retry-failed", "--no-retry-failed", "--wait", "--multirun", "Exit status:"):
        assert flag in result.stdout[: result.stdout.index("Hydra's own options")]
    assert ours < result.stdout.index("Powered by Hydra")


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FANNS_BENCH_ROOT", str(tmp_path))
    monkeypatch.setenv("FANNS_BENCH_CONFIGS", str(REPO / "configs"))
    return tmp_path


@pytest.mark.parametrize(
    ("raised", "code", "message"),
    [
        (OSError(errno.ENOSPC, "No space left on device", "/r/rows/x.parquet"), 1, "No space left on device"),
        (OSError(errno.EROFS, "Read-only file system", "/r/rows/x.parquet"), 1, "Read-only file system"),
        (KeyboardInterrupt(), 130, "interrupted"),
    ],
)
def test_disk_errors_and_ctrl_c_end_in_one_line_saying_how_to_resume(
    in_tmp, monkeypatch, capsys, raised, code, message
):
    def broken(config):
        raise raised

    monkeypatch.setattr("fanns_bench.runner.run.run_sweep", broken)
    assert main(["run", "experiment=smoke", "method=exact"]) == code
    err = capsys.readouterr().err
    assert message in err and "rerun the same command to resume" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("below", ["", "x"], ids=["the-file", "below-a-file"])
def test_a_results_path_that_cannot_be_a_folder_is_one_line(tmp_path, below):
    (tmp_path / "taken").write_text("a file")
    results = tmp_path / "taken" / below if below else tmp_path / "taken"
    result = cli(tmp_path, "run", "experiment=smoke", "method=exact", f"paths.results={results}")
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {results}: ") and "rerun the same command" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
