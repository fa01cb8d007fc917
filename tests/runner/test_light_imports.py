"""A run's processes (the sweep's and every job's) do not import the plotting stack."""

import subprocess
import sys


def test_the_runner_and_its_job_processes_import_no_matplotlib():
    code = (
        "import sys, fanns_bench.cli, fanns_bench.runner.run, fanns_bench.runner.job, "
        "fanns_bench.runner.run_summary, fanns_bench.report.frame, fanns_bench.report.quality; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"  # report/__init__ imports its plotting modules when called
