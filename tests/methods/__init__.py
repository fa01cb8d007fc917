"""The method adapters, the layout rule, conformance, determinism and plugins."""
