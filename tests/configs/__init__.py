"""The Hydra config tree: composition, named points, shipped grids, experiments."""
