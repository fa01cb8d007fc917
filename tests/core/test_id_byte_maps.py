"""`_core.IdByteMaps`: CSR id sets as a byte per id and set, validated once when built."""

from __future__ import annotations

import numpy as np
import pytest

from fanns_bench import _core
from tests.core.test_acorn import csr


def test_each_row_holds_its_set_as_ones_and_nothing_else():
    """Ranges (written 64 at a time), scattered ids, a set ending on the last id and an empty
    one: a run written too long or short, or a row written into its neighbour, shows here."""
    n = 1000
    rng = np.random.default_rng(3)
    sets = [
        np.arange(100, 100 + 64 * 3 + 5, dtype=np.int64),
        np.sort(rng.choice(n, size=300, replace=False)).astype(np.int64),
        np.arange(n - 129, n, dtype=np.int64),
        np.empty(0, np.int64),
        np.array([0, 63, 64, 127, 128], np.int64),
    ]
    maps = _core.IdByteMaps(*csr(sets), n)
    assert (maps.sets, maps.num_items) == (len(sets), n)
    assert maps.memory_bytes() >= len(sets) * n
    for s, members in enumerate(sets):
        expected = np.zeros(n, np.uint8)
        expected[members] = 1
        np.testing.assert_array_equal(maps.row(s), expected)
        assert maps.count(s) == len(members)


@pytest.mark.parametrize(
    ("ids", "offsets", "message"),
    [
        (np.array([5, 3], np.int64), np.array([0, 2], np.int64), "must be sorted and unique"),
        (np.array([3, 3], np.int64), np.array([0, 2], np.int64), "must be sorted and unique"),
        (np.array([-1, 2], np.int64), np.array([0, 2], np.int64), "filter id -1 of set 0 is outside"),
        (np.array([5, 100], np.int64), np.array([0, 2], np.int64), "filter id 100 of set 0 is outside"),
        (np.array([5], np.int64), np.array([0, 2], np.int64), "must start at 0 and end at len"),
        (np.array([5], np.int32), np.array([0, 1], np.int64), "filter_ids must have dtype int64"),
    ],
)
def test_bad_sets_are_refused_as_the_searches_refuse_them(ids, offsets, message):
    with pytest.raises(ValueError, match=message):
        _core.IdByteMaps(ids, offsets, 100)


def test_a_set_that_is_not_there_is_named():
    maps = _core.IdByteMaps(*csr([np.arange(3, dtype=np.int64)]), 10)
    with pytest.raises(ValueError, match="set 1 is not one of the 1 sets"):
        maps.row(1)
    with pytest.raises(ValueError, match="set 1 is not one of the 1 sets"):
        maps.count(1)
