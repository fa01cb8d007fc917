"""The runner: plan, jobs, measurement, threads, memory, failures, resume."""
