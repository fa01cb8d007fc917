"""UNG (iffp/UNG): label-set containment filters, `build_UNG_index` + `search_UNG_index`.

Inputs (the formats of the authors' `Storage::load_from_file` and `load_gt_file`):
`base.fbin` / `query_<s>.fbin` (uint32 rows, uint32 dim, float32 rows), `base_labels.txt` /
`query_labels_<s>.txt` (one line per item, comma-separated integer labels), `gt_<s>.bin`
(nq x k pairs of uint32 id and float32 squared distance, id -1 where fewer match).
Outputs: `result_L<L>.csv` per L_search (one line per query: ground truth ids, comma,
returned ids), and `time=<ms>ms` on stdout (their wall-clock timer around the search).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fanns_bench.data.dataset import Dataset
from fanns_bench.data.importers.formats import write_bin
from fanns_bench.fidelity.adapter import (
    LabelAdapter,
    Theirs,
    checked_ids,
    item_codes,
    label_codes,
    selectivity_tag,
    write_lines,
)
from fanns_bench.fidelity.data import Slice
from fanns_bench.fidelity.reference import ReferenceError, run_program

TIME = re.compile(r"Lsearch=(\d+), time=(\d+)ms")


class UngAdapter(LabelAdapter):
    method = "ung"
    contains = True
    repository = "github.com/iffp/UNG (55750e0)"
    programs: ClassVar[dict[str, tuple[str, ...]]] = {
        "build": ("apps/build_UNG_index", "codes/build/apps/build_UNG_index", "build_UNG_index"),
        "search": ("apps/search_UNG_index", "codes/build/apps/search_UNG_index", "search_UNG_index"),
    }
    # the benchmark paper's medium EMIS setting (Table 4) and a short L_search sweep
    build: ClassVar[dict[str, Any]] = {
        "scenario": "general",
        "num_cross_edges": 8,
        "max_degree": 32,
        "L_build": 100,
        "alpha": 1.4,
    }
    points: ClassVar[list[dict[str, Any]]] = [{"num_entry_points": 16, "L_search": w} for w in (10, 50, 200)]
    qps_clock = "theirs: wall clock of their search loop (ms resolution); ours: CPU time"

    def run_theirs(
        self,
        programs: dict[str, Path],
        dataset: Dataset,
        slices: list[Slice],
        k: int,
        folder: Path,
        log: Path,
    ) -> dict[tuple[int, int], Theirs]:
        attribute = slices[0].predicates[0].attr
        codes = label_codes(dataset, attribute)
        write_bin(folder / "base.fbin", dataset.vectors, "<f4")
        write_lines(
            folder / "base_labels.txt",
            [",".join(map(str, item)) for item in item_codes(dataset, attribute, codes)],
        )
        index = folder / "ung_index"
        build = self.build
        run_program(
            [programs["build"], "--data_type", "float", "--dist_fn", "L2", "--num_threads", "1",
             "--base_bin_file", folder / "base.fbin", "--base_label_file", folder / "base_labels.txt",
             "--index_path_prefix", f"{index}/", "--scenario", build["scenario"], "--index_type", "Vamana",
             "--num_cross_edges", build["num_cross_edges"], "--max_degree", build["max_degree"],
             "--Lbuild", build["L_build"], "--alpha", build["alpha"]],
            log,
        )  # fmt: skip
        answers: dict[tuple[int, int], Theirs] = {}
        widths = [p["L_search"] for p in self.points]
        for s, slice_ in enumerate(slices):
            tag = selectivity_tag(slice_)
            write_bin(folder / f"query_{tag}.fbin", slice_.queries, "<f4")
            write_lines(folder / f"query_labels_{tag}.txt", [str(codes[p.value]) for p in slice_.predicates])
            _write_gt(folder / f"gt_{tag}.bin", slice_, k)
            results = folder / f"results_{tag}"
            results.mkdir(exist_ok=True)
            stdout = run_program(
                [programs["search"], "--data_type", "float", "--dist_fn", "L2", "--num_threads", "1",
                 "--base_bin_file", folder / "base.fbin", "--query_bin_file", folder / f"query_{tag}.fbin",
                 "--query_label_file", folder / f"query_labels_{tag}.txt",
                 "--gt_file", folder / f"gt_{tag}.bin",
                 "--K", k, "--result_path_prefix", f"{results}/", "--scenario", "containment",
                 "--index_path_prefix", f"{index}/", "--num_entry_points", self.points[0]["num_entry_points"],
                 "--Lsearch", *widths],
                log,
            )  # fmt: skip
            times = {int(w): int(ms) for w, ms in TIME.findall(stdout)}
            for p, width in enumerate(widths):
                if width not in times:
                    raise ReferenceError(
                        f"{programs['search']}: no 'Lsearch={width}, time=...ms' line in its output ({log})"
                    )
                ids = read_results(results / f"result_L{width}.csv", len(slice_.queries), k, dataset.count)
                seconds = times[width] / 1000
                answers[s, p] = Theirs(ids, None, len(slice_.queries) / seconds if seconds > 0 else None)
        return answers


def read_results(path: Path, queries: int, k: int, items: int) -> np.ndarray:
    """(queries, k) ids from their `result_L<L>.csv` (ids outside [0, items) become -1)."""
    if not path.is_file():
        raise ReferenceError(f"{path}: the authors' search wrote no result file")
    lines = path.read_text().splitlines()
    if not lines or lines[0].strip() != "GT,Result" or len(lines) - 1 != queries:
        raise ReferenceError(
            f"{path}: expected a 'GT,Result' header and {queries} result lines, cannot parse"
        )
    ids = np.full((queries, k), -1, dtype=np.int64)
    for row, line in enumerate(lines[1:]):
        parts = line.split(",")
        try:
            found = [int(token) for token in parts[1].split()] if len(parts) == 2 else None
        except ValueError:
            found = None
        if found is None or len(found) > k:
            raise ReferenceError(f"{path}: line {row + 2} is not '<gt ids>,<at most {k} ids>': {line[:80]!r}")
        ids[row, : len(found)] = found
    return checked_ids(ids, items)


def _write_gt(path: Path, slice_: Slice, k: int) -> None:
    pairs = np.zeros((len(slice_.queries), k), dtype=[("id", "<u4"), ("distance", "<f4")])
    ids = slice_.truth.ids[:, :k]
    pairs["id"] = np.where(ids >= 0, ids, -1).astype(np.int64) & 0xFFFFFFFF
    distances = np.nan_to_num(-slice_.truth.scores[:, :k], nan=np.inf)
    pairs["distance"] = distances
    pairs.tofile(path)


ADAPTER = UngAdapter()
