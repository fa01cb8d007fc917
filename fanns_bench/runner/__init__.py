"""The runner: sweep expansion, isolated build jobs, measurement, resume."""
