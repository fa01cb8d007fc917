"""A dataset edited in place (manifest untouched) is detected by its content, never reused as
the original: rows, workload and ground truth key on what the files hold now (issue 22)."""

from __future__ import annotations

import os

import numpy as np

from fanns_bench.cli import main
from fanns_bench.data.dataset import load_dataset
from fanns_bench.runner.run import run_sweep
from fanns_bench.validate import check_config
from tests.sweeps import sweep_config

EXACT = {"fake": {"name": "tests.fakes:FakeExact"}}


def permute_rows_in_place(path, keep_times: bool = False) -> None:
    """Reverse the rows of `path` (a .npy matrix) by writing into the same file."""
    before = os.stat(path)
    matrix = np.load(path, mmap_mode="r+")
    matrix[:] = np.ascontiguousarray(matrix[::-1])
    matrix.flush()
    del matrix
    if keep_times:  # what `cp -p` or `touch -r` would leave: the old mtime, same size and inode
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_size, after.st_ino) == (before.st_size, before.st_ino)


def test_rows_of_an_edited_dataset_key_on_its_content_and_score_exactly(tmp_path, capsys):
    config = sweep_config(tmp_path, EXACT)
    first = run_sweep(config).rows
    dataset_dir = tmp_path / "datasets" / "tiny"
    permute_rows_in_place(dataset_dir / "vectors.npy", keep_times=True)
    config["paths"]["results"] = str(tmp_path / "results2")
    second = run_sweep(config).rows
    assert (second.recall == 1.0).all()  # ground truth of the edited content, not the cached one
    assert set(second.dataset_hash).isdisjoint(first.dataset_hash)
    assert set(second.workload_digest).isdisjoint(first.workload_digest)
    assert set(second.key).isdisjoint(first.key)
    # the first results folder no longer describes the dataset: --recompute says so
    assert main(["report", str(tmp_path / "results"), "--recompute"]) == 1
    assert "changed since the run" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "results2"), "--recompute"]) == 0


def test_an_edit_that_keeps_size_mtime_and_inode_is_still_seen(tmp_path):
    run_sweep(sweep_config(tmp_path, EXACT))  # builds the dataset and caches its hashes
    dataset_dir = tmp_path / "datasets" / "tiny"
    original = load_dataset(dataset_dir)
    assert original.edited == [] and original.edit_note() is None
    permute_rows_in_place(dataset_dir / "vectors.npy", keep_times=True)
    edited = load_dataset(dataset_dir)
    assert edited.edited == ["vectors.npy"]
    assert edited.content_hash != original.content_hash
    assert "vectors.npy changed since the dataset was built" in edited.edit_note()


def test_validate_names_the_edited_file(tmp_path):
    config = sweep_config(tmp_path, EXACT)
    run_sweep(config)
    assert not [p for p in check_config(config) if "changed since" in p.message]
    permute_rows_in_place(tmp_path / "datasets" / "tiny" / "vectors.npy")
    [problem] = [p for p in check_config(config) if "changed since" in p.message]
    assert "vectors.npy" in problem.message


def test_a_dataset_whose_hash_cache_cannot_be_written_is_hashed_and_left_clean(tmp_path, monkeypatch):
    from fanns_bench.data import file_hashes

    run_sweep(sweep_config(tmp_path, EXACT))
    dataset_dir = tmp_path / "datasets" / "tiny"
    (dataset_dir / ".file-hashes.json").unlink()
    before = sorted(p.name for p in dataset_dir.iterdir())

    def refuse(*_):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(file_hashes.os, "replace", refuse)
    assert load_dataset(dataset_dir).edited == []
    assert sorted(p.name for p in dataset_dir.iterdir()) == before  # no cache, no temporary left


def test_a_worker_refuses_a_dataset_edited_after_the_context_was_prepared(tmp_path):
    import pytest

    from fanns_bench.errors import DatasetError
    from fanns_bench.runner.context import load_context, prepare_context
    from fanns_bench.workloads.workload import WorkloadSpec

    config = sweep_config(tmp_path, EXACT)
    run_sweep(config)
    dataset_dir = tmp_path / "datasets" / "tiny"
    context = prepare_context(load_dataset(dataset_dir), WorkloadSpec.from_config(dict(config["workload"])))
    reopened = load_context(dataset_dir, context.workload_dir, context.workload.name, context.digest)
    assert reopened.dataset.content_hash == context.dataset.content_hash
    permute_rows_in_place(dataset_dir / "vectors.npy")
    with pytest.raises(DatasetError, match="vectors.npy changed during the run"):
        load_context(dataset_dir, context.workload_dir, context.workload.name, context.digest)
