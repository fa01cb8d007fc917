"""usearch, which has no filtered search in Python: the two workarounds practitioners use."""
