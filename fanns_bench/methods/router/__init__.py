"""The router: a `fanns-bench recommend` policy applied per query (issue 21)."""
