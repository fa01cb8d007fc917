"""Cap every thread pool of the job process to the thread count a row records.

`threadpoolctl` sets the BLAS libraries (OpenBLAS, MKL, BLIS) and every OpenMP runtime
loaded in the process (faiss's own libgomp included) to `threads`; faiss's setter is
called as well where faiss is loaded. Libraries loaded later start from the
OMP_NUM_THREADS/OPENBLAS_NUM_THREADS the worker was spawned with (the build's count), and
the cap is applied again at the next phase. Engines with their own pools (Lance, Qdrant,
PostgreSQL backends) follow the method's `set_query_threads`: `query_threads` applies both,
the one policy for every search phase.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from threadpoolctl import threadpool_limits

if TYPE_CHECKING:
    from fanns_bench.methods.base import Method


@contextmanager
def capped_threads(threads: int) -> Iterator[None]:
    """Within the block, BLAS and OpenMP pools use at most `threads` threads."""
    threads = max(1, int(threads))
    faiss = sys.modules.get("faiss")
    previous = faiss.omp_get_max_threads() if faiss is not None else None
    with threadpool_limits(limits=threads):
        if faiss is not None:
            faiss.omp_set_num_threads(threads)
        try:
            yield
        finally:
            if faiss is not None and previous is not None:
                faiss.omp_set_num_threads(previous)


@contextmanager
def query_threads(method: Method, threads: int) -> Iterator[None]:
    """Search phases: the method's own pools follow `threads` (its one hook,
    `set_query_threads`) and, within the block, BLAS and OpenMP pools are capped to it."""
    method.set_query_threads(threads)
    with capped_threads(threads):
        yield
