"""Atomic writes: concurrent writers of one file never share a temporary name."""

from __future__ import annotations

import numpy as np

from fanns_bench.atomic_files import temporary_sibling
from fanns_bench.groundtruth import GroundTruth


def test_temporary_siblings_are_hidden_unique_and_keep_a_required_suffix(tmp_path):
    target = tmp_path / "groundtruth.npz"
    names = {temporary_sibling(target, ".npz") for _ in range(100)}
    assert len(names) == 100
    assert all(
        n.parent == tmp_path and n.name.startswith(".groundtruth.npz.") and n.suffix == ".npz" for n in names
    )


def test_interleaved_ground_truth_saves_both_land_and_leave_no_temporary(tmp_path, monkeypatch):
    """Two jobs computing the same cached ground truth: the second's rename must not find the
    first's temporary gone (the failure a shared temporary name caused on a Ray sweep)."""
    path = tmp_path / "groundtruth.npz"
    truth = GroundTruth(np.arange(6).reshape(2, 3), np.zeros((2, 3), dtype=np.float32))
    saved = np.savez

    def save_twice(file, **arrays):  # another writer saves and renames in between
        saved(file, **arrays)
        if not getattr(save_twice, "nested", False):
            save_twice.nested = True
            GroundTruth(truth.ids, truth.scores).save(path)

    monkeypatch.setattr(np, "savez", save_twice)
    truth.save(path)
    assert np.array_equal(GroundTruth.load(path).ids, truth.ids)
    assert [p.name for p in tmp_path.iterdir()] == ["groundtruth.npz"]
