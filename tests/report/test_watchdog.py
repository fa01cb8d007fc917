"""The watchdog of a measurement in the command's own process (`recommend --paired`)."""

from __future__ import annotations

import subprocess
import sys
import time

from fanns_bench.recommend.watchdog import HUNG, Watchdog


def test_a_step_past_its_limit_is_named_and_one_within_it_is_not():
    fired: list[str] = []
    watchdog = Watchdog(0.2, expire=fired.append, command="cmd: ")
    with watchdog.step("quick"):
        pass
    with watchdog.step("slow"):
        time.sleep(0.6)
    time.sleep(0.3)  # past the quick step's limit too: its timer was cancelled
    assert fired == ["cmd: slow: still running after 0.2 s (the limit of one step); stopped, nothing written"]


def test_by_default_a_hung_step_ends_the_process_with_one_line():
    """The main thread sleeping for a minute (a hung method): the process ends within seconds,
    exit status HUNG, the line on stderr and no traceback."""
    script = (
        "import time\n"
        "from fanns_bench.recommend.watchdog import Watchdog\n"
        "with Watchdog(0.5, command='fanns-bench recommend --paired: ').step('building hang {}'):\n"
        "    time.sleep(60)\n"
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert time.monotonic() - started < 20
    assert done.returncode == HUNG == 2
    assert done.stderr == (
        "fanns-bench recommend --paired: building hang {}: still running after 0.5 s "
        "(the limit of one step); stopped, nothing written\n"
    )


def test_the_default_limit_is_the_runners_default_job_limit():
    from fanns_bench.recommend.command import PAIRED_LIMIT_S
    from fanns_bench.runner.plan import DEFAULT_TIMEOUT_S

    assert PAIRED_LIMIT_S == DEFAULT_TIMEOUT_S
