"""Progress a person can follow: bars on a terminal, log lines otherwise."""

import logging

from fanns_bench.runner.progress import SweepProgress, duration, steps
from fanns_bench.runner.run import run_sweep
from tests.sweeps import sweep_config


def test_without_a_terminal_progress_is_log_lines_with_an_estimate(caplog, capsys):
    with caplog.at_level(logging.INFO, logger="fanns_bench"):
        progress = SweepProgress(4, bars=False)
        job = progress.job("fake {}", 3)
        job.poll(lambda: ["a", "b"])()
        assert job.seen == 2
        job.close()
        progress.close()
    assert "run: 3/4 points done, about" in caplog.text and "left" in caplog.text
    assert "%|" not in capsys.readouterr().err  # no bar drawn


def test_an_interrupted_job_counts_only_the_points_it_finished(caplog):
    with caplog.at_level(logging.INFO, logger="fanns_bench"):
        progress = SweepProgress(10, bars=False)
        job = progress.job("fake {}", 10)
        job.poll(lambda: ["a", "b"])()
        job.close(completed=False)
    assert progress.done == 2 and "run: 2/10 points done" in caplog.text


def test_on_a_terminal_bars_are_drawn(capsys):
    progress = SweepProgress(2, bars=True)
    job = progress.job("fake {}", 2)
    job.poll(lambda: ["a"])()
    job.close()
    progress.close()
    err = capsys.readouterr().err
    assert "run:" in err and "2/2" in err


def test_steps_log_each_step_without_a_terminal(caplog):
    with caplog.at_level(logging.INFO, logger="fanns_bench"):
        assert list(steps("plot", ["loading rows", "figure"], bars=False)) == ["loading rows", "figure"]
    assert "plot: 1/2 loading rows" in caplog.text and "plot: 2/2 figure" in caplog.text


def test_durations_read_naturally():
    assert [duration(s) for s in (42, 210, 7200)] == ["42 s", "3.5 min", "2.0 h"]


def test_a_run_reports_points_done_per_job(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="fanns_bench"):
        run_sweep(sweep_config(tmp_path, {"fake": {"name": "tests.fakes:FakePlain"}}))
    assert "run: 4/4 points done" in caplog.text


def test_a_job_bar_shows_the_step_its_worker_started(capsys):
    progress = SweepProgress(2, bars=True)
    job = progress.job("fake {}", 2)
    job.poll(lambda: [], step=lambda: "round 2 of 3, point abc")()
    assert job.seen == 0 and "round 2 of 3, point abc" in capsys.readouterr().err
    job.close()
    progress.close()
