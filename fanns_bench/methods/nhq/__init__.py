"""NHQ (NSW and KGraph variants) on fanns-bench's compiled core."""
