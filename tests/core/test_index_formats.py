"""Index files whose format changed carry its version: each such core index saves its current
version, reads the older formats it still can, asks for a rebuild on a file of a format it no
longer reads, and refuses a newer one."""

from __future__ import annotations

import pytest

from tests.core import test_acorn, test_acorn_ref, test_vamana

ACORN_OLD = r"format version 1 or 2 \(written before the per-method parameter lists\) is no longer read; rebuild the index"
ACORN_REF_3 = r"format version 3 of a reference method \(before write_past_list\) is no longer read; rebuild"
VAMANA_OLD = (
    r"format version 1 \(written before the per-method parameter lists\) is no longer read; rebuild the index"
)
# Format 4 of ACORN added `write_past_list` to the reference methods' fields only: our own
# methods still read format 3, the reference methods refuse it.
ACORN = {1: ACORN_OLD, 2: ACORN_OLD, 3: None}
ACORN_REF = {1: ACORN_OLD, 2: ACORN_OLD, 3: ACORN_REF_3}
# name: (a small built index, the version it saves, per older version: None where it is still
# read, else the message asking for a rebuild)
CASES = {
    "acorn_gamma": (lambda: test_acorn.make("gamma"), 4, ACORN),
    "acorn_1": (lambda: test_acorn.make("one"), 4, ACORN),
    "acorn_gamma_ref": (lambda: test_acorn_ref.make("gamma"), 4, ACORN_REF),
    "acorn_1_ref": (lambda: test_acorn_ref.make("one"), 4, ACORN_REF),
    "filtered_vamana": (
        lambda: test_vamana.make("filtered", *test_vamana.single_labels(), 8),
        2,
        {1: VAMANA_OLD},
    ),
    "stitched_vamana": (
        lambda: test_vamana.make("stitched", *test_vamana.single_labels(), 8),
        2,
        {1: VAMANA_OLD},
    ),
}


def with_version(data: bytes, version: int) -> bytes:
    """The file with another format version (after the 8 magic bytes)."""
    return data[:8] + version.to_bytes(4, "little") + data[12:]


@pytest.mark.parametrize("name", sorted(CASES))
def test_saved_version_old_formats_and_a_newer_one(name, tmp_path):
    build, version, older = CASES[name]
    assert sorted(older) == list(range(1, version))  # every older version is named
    index = build()
    path = tmp_path / "index.bin"
    index.save(str(path))
    data = path.read_bytes()
    assert data[8:12] == version.to_bytes(4, "little")
    assert type(index).load(str(path)).params == index.params
    for old, message in older.items():
        (tmp_path / "old").write_bytes(with_version(data, old))
        if message is None:
            assert type(index).load(str(tmp_path / "old")).params == index.params
            continue
        with pytest.raises(RuntimeError, match=message):
            type(index).load(str(tmp_path / "old"))
    (tmp_path / "newer").write_bytes(with_version(data, version + 1))
    with pytest.raises(RuntimeError, match=f"format version {version + 1}, expected 1 to {version}"):
        type(index).load(str(tmp_path / "newer"))
