"""Workloads: filter templates and selectivity-targeted query generation."""
