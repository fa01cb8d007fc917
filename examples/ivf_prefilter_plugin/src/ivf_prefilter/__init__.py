"""Example fanns-bench plugin: an inverted-file index that pre-filters inside the probed lists."""
