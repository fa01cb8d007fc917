"""faiss IVF's nlist: what a row records is what was built."""

import pytest

from fanns_bench.conformance import small_dataset
from fanns_bench.errors import MethodError
from fanns_bench.methods.faiss.ivf import FaissIVF


def test_an_nlist_too_large_for_the_data_is_refused_not_capped(tmp_path):
    dataset = small_dataset(tmp_path / "d")  # 3000 items: at most 76 lists of 39
    with pytest.raises(MethodError, match=r"nlist=100000 needs 3900000 items .* has 3000: use nlist <= 76"):
        FaissIVF(metric="ip", threads=1, nlist=100000, seed=1).build(dataset)


def test_an_nlist_the_data_allows_is_built_as_given(tmp_path):
    method = FaissIVF(metric="ip", threads=1, nlist=76, seed=1)
    method.build(small_dataset(tmp_path / "d"))
    assert method.nlist == 76 and method.index.nlist == 76
