"""fanns-bench's tests, one folder per part (README "Layout"); shared helpers live here."""
