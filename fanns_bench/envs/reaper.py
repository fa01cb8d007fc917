"""The mark of a cleanup helper a job starts (e.g. the watchdog of a database server).

The sweep kills a job's whole process group on a timeout or an exceeded memory cap; a
process started with `REAPER_VARIABLE` in its environment is spared (it must outlive the
job to clean up after it) and is left out of the job's memory.
"""

REAPER_VARIABLE = "FANNS_BENCH_REAPER"
