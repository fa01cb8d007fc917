"""Atomic writes: concurrent writers of one file never share a temporary name."""

from __future__ import annotations

import os

import numpy as np
import pytest

from fanns_bench.atomic_files import temporary_sibling, write_csv_atomic, write_text_atomic
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


def test_a_failed_text_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = write_text_atomic(tmp_path / "sub" / "note.txt", "old\n")
    assert path.read_text() == "old\n"

    def full_disk(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_text_atomic(path, "new\n")
    assert path.read_text() == "old\n"
    assert [p.name for p in path.parent.iterdir()] == ["note.txt"]


def test_write_csv_atomic_writes_a_header_and_leaves_missing_fields_empty(tmp_path):
    path = write_csv_atomic(tmp_path / "sub" / "rows.csv", [{"a": 1, "b": 2}, {"a": 3}])
    assert path.read_text().splitlines() == ["a,b", "1,2", "3,"]
    write_csv_atomic(path, [{"b": 4, "a": 5}], ["a", "b"])  # the columns' order, not the row's
    assert path.read_text().splitlines() == ["a,b", "5,4"]
    assert [p.name for p in path.parent.iterdir()] == ["rows.csv"]  # no temporary left behind
