"""A stand-in for the authors' programs (UNG's build/search, SeRF's driver), for the tests
of `fanns-bench fidelity`: it reads the same exchange files and answers by exact search.

    fidelity_standin.py MODE BEHAVIOUR ARGS...
MODE: ung-build | ung-search | serf | acorn (our ACORN driver's command line) | dsg-build |
dsg-search (also iRangeGraph's programs: the same files, other option names). BEHAVIOUR: exact (right answers), wrong (ids drawn at
random among the matches of the wrong half), garbled (unparseable output), fail (exit 3).
Independent of fanns_bench on purpose: only numpy and the files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def read_fbin(path: str) -> np.ndarray:
    rows, dim = np.fromfile(path, dtype="<u4", count=2)
    return np.fromfile(path, dtype="<f4", offset=8).reshape(int(rows), int(dim))


def read_fvecs(path: str) -> np.ndarray:
    raw = np.fromfile(path, dtype="<i4")
    return raw.reshape(-1, raw[0] + 1)[:, 1:].view("<f4")


def read_ivecs(path: str) -> list[np.ndarray]:
    raw, rows, at = np.fromfile(path, dtype="<i4"), [], 0
    while at < raw.size:
        rows.append(raw[at + 1 : at + 1 + raw[at]])
        at += 1 + raw[at]
    return rows


def options(argv: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    key = ""
    for token in argv:
        if token.startswith("--"):
            key = token[2:]
            found[key] = []
        else:
            found[key].append(token)
    return found


def answer(
    base: np.ndarray, query: np.ndarray, matches: np.ndarray, k: int, behaviour: str, rng
) -> np.ndarray:
    if behaviour == "wrong":  # matching ids, but far from the nearest
        order = np.argsort(((base[matches] - query) ** 2).sum(axis=1), kind="stable")
        return matches[order[len(order) // 2 :]][:k]
    order = np.argsort(((base[matches] - query) ** 2).sum(axis=1), kind="stable")
    return matches[order[:k]]


def ung_build(argv: list[str]) -> None:
    given = options(argv)
    index = Path(given["index_path_prefix"][0])
    index.mkdir(parents=True, exist_ok=True)
    paths = {"base": given["base_bin_file"][0], "labels": given["base_label_file"][0]}
    (index / "standin.json").write_text(json.dumps(paths))


def label_sets(path: str) -> list[set[int]]:
    return [{int(v) for v in line.split(",") if v} for line in Path(path).read_text().splitlines()]


def ung_search(argv: list[str], behaviour: str) -> None:
    given = options(argv)
    paths = json.loads((Path(given["index_path_prefix"][0]) / "standin.json").read_text())
    base, items = read_fbin(paths["base"]), label_sets(paths["labels"])
    queries, wanted = read_fbin(given["query_bin_file"][0]), label_sets(given["query_label_file"][0])
    k, prefix, rng = int(given["K"][0]), given["result_path_prefix"][0], np.random.default_rng(0)
    for width in given["Lsearch"]:
        lines = ["GT,Result"]
        for query, labels in zip(queries, wanted, strict=True):
            matches = np.array([i for i, have in enumerate(items) if labels <= have], dtype=np.int64)
            ids = answer(base, query, matches, k, behaviour, rng)
            lines.append(" ,{}".format(" ".join(str(i) for i in ids)))
        if behaviour == "garbled":
            lines = ["not a result file"]
        Path(f"{prefix}result_L{width}.csv").write_text("\n".join(lines) + "\n")
        print(f"- Lsearch={width}, time=5ms")


def serf(argv: list[str], behaviour: str) -> None:
    base, positions = read_fvecs(argv[0]), np.loadtxt(argv[1], dtype=np.int64)
    queries = read_fvecs(argv[2])
    ranges = [tuple(int(v) for v in line.split("-")) for line in Path(argv[3]).read_text().splitlines()]
    truth, k, rng = read_ivecs(argv[4]), int(argv[9]), np.random.default_rng(0)
    hits = total = 0
    for query, (low, high), true in zip(queries, ranges, truth, strict=True):
        matches = np.flatnonzero((positions >= low) & (positions <= high))
        ids = answer(base, query, matches, k, behaviour, rng)
        hits += np.intersect1d(ids, true[:k]).size
        total += min(k, len(true))
    for ef in argv[8].split(","):
        print(
            "garbled"
            if behaviour == "garbled"
            else f"ef_search: {ef} QPS: 1234.500 Recall: {hits / total:.3f}"
        )


def acorn(argv: list[str], behaviour: str) -> None:
    base, queries = read_fvecs(argv[0]), read_fvecs(argv[1])
    mask = np.fromfile(argv[2], dtype=np.uint8).reshape(len(queries), len(base))
    k, prefix, rng = int(argv[8]), argv[9], np.random.default_rng(0)
    for ef in argv[7].split(","):
        rows = np.full((len(queries), k), -1, dtype="<i4")
        for i, query in enumerate(queries):
            ids = answer(base, query, np.flatnonzero(mask[i]), k, behaviour, rng)
            rows[i, : len(ids)] = ids
        with open(f"{prefix}{ef}.ivecs", "wb") as handle:
            for row in rows:
                handle.write(np.int32(k).tobytes() + row.tobytes())
        if behaviour == "garbled":
            Path(f"{prefix}{ef}.ivecs").write_bytes(b"\x07\x00")
        print(f"ef={ef} cpu_seconds=0.010000 wall_seconds=0.010000")


def dsg_build(argv: list[str]) -> None:
    given = options(argv)
    Path((given.get("index_path") or given["index_file"])[0]).write_text(given["data_path"][0])


def dsg_search(argv: list[str], behaviour: str) -> None:
    given = options(argv)
    base = read_fbin(given["data_path"][0])
    mapping = np.fromfile(given["data_path"][0] + ".mapping", dtype="<u8", offset=4)
    queries, truth, k = (
        read_fbin(given["query_path"][0]),
        read_ivecs(given["groundtruth_file"][0]),
        int(given["k"][0]),
    )
    ranges = [
        tuple(int(v) for v in line.split("-"))
        for line in Path(given["query_ranges_file"][0]).read_text().splitlines()
    ]
    rng, total = np.random.default_rng(0), 0.0
    for query, (low, high), true in zip(queries, ranges, truth, strict=True):
        ids = mapping[answer(base, query, np.arange(low, high + 1), k, behaviour, rng)]
        total += np.intersect1d(ids, true[:k]).size / k
    print("garbled" if behaviour == "garbled" else f"QPS: 1234.5\nRecall: {total / len(queries)}")


def main(argv: list[str]) -> int:
    mode, behaviour, rest = argv[0], argv[1], argv[2:]
    if behaviour == "fail":
        print("standin: failing as asked", file=sys.stderr)
        return 3
    if mode == "ung-build":
        ung_build(rest)
    elif mode == "ung-search":
        ung_search(rest, behaviour)
    elif mode == "dsg-build":
        dsg_build(rest)
    elif mode == "dsg-search":
        dsg_search(rest, behaviour)
    elif mode == "acorn":
        acorn(rest, behaviour)
    else:
        serf(rest, behaviour)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
