"""UNG, the unified navigating graph over label sets, on fanns-bench's compiled core."""
