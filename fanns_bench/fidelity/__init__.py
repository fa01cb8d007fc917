"""`fanns-bench fidelity METHOD --reference PATH`: ours against the authors' program.

`data` writes the shared inputs (a dataset with a `position` column, queries at chosen
selectivities, exact filtered ground truth), one adapter per method (`compare.ADAPTERS`) writes
them in the authors' formats, runs their program and reads its answers, and `compare` runs
our method on the same inputs and writes the side-by-side table. See docs/fidelity.md.
"""
