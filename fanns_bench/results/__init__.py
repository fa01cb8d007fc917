"""Results: the Parquet schema, atomic per-run files, and loading for analysis."""
