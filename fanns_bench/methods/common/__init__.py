"""Helpers shared by several method families (attribute values, membership callables)."""
