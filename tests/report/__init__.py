"""Reports, figures, tables, claims, compare and recommend, from Parquet rows."""
