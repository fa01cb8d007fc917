"""The outcome records --multirun jobs leave for the sweep's combined summary (exit_codes.py)."""

from pathlib import Path

import pytest

from fanns_bench.runner import exit_codes
from fanns_bench.runner.exit_codes import JobOutcome, read_outcomes, record_outcome


def test_a_jobs_outcome_is_read_back_whole(tmp_path, monkeypatch):
    monkeypatch.setenv(exit_codes.OUTCOMES_VARIABLE, str(tmp_path))
    record_outcome(JobOutcome(exit_codes.FAILURES, "results/x", ["k1", "k2"], 1, ["short"], None))
    record_outcome(JobOutcome(exit_codes.USAGE, error="bad config"))
    outcomes = sorted(read_outcomes(tmp_path), key=lambda o: o.code)
    assert outcomes == [
        JobOutcome(exit_codes.USAGE, error="bad config"),
        JobOutcome(exit_codes.FAILURES, "results/x", ["k1", "k2"], 1, ["short"], None),
    ]


def test_a_job_killed_while_writing_its_outcome_leaves_nothing_half_written(tmp_path, monkeypatch):
    monkeypatch.setenv(exit_codes.OUTCOMES_VARIABLE, str(tmp_path))
    write_text = Path.write_text

    def killed_halfway(path, text, *args, **kwargs):
        write_text(path, text[: len(text) // 2], *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", killed_halfway)
    with pytest.raises(KeyboardInterrupt):
        record_outcome(JobOutcome(exit_codes.OK, "results/x", ["k1"], 1))
    monkeypatch.undo()
    assert read_outcomes(tmp_path) == []  # not a JSON error in the summary


def test_a_job_whose_outcome_folder_is_not_there_records_nothing(tmp_path, monkeypatch):
    """A job on another machine: the sweep's temporary folder is not there; none is made."""
    missing = tmp_path / "fanns-multirun-elsewhere"
    monkeypatch.setenv(exit_codes.OUTCOMES_VARIABLE, str(missing))
    record_outcome(JobOutcome(exit_codes.OK))
    assert not missing.exists()
