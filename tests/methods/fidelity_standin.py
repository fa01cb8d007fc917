"""A stand-in for the authors' programs, for the tests of `fanns-bench fidelity`: it reads
the same exchange files and takes the same command lines, and answers by exact search.

    fidelity_standin.py MODE BEHAVIOUR ARGS...
MODE: ung-build | ung-search | serf | acorn (our ACORN driver's command line) | dsg-build |
dsg-search (also iRangeGraph's programs: the same files, other option names) |
nhq-nsw-build | nhq-nsw-search | nhq-kgraph-build | nhq-kgraph-search | caps-build |
caps-search | diskann-build (DiskANN's build_memory_index and build_stitched_index) |
diskann-search. BEHAVIOUR: exact (right answers), wrong (matching ids from the far half),
garbled (unparseable output), fail (exit 3), spread (build b answers its first 2b queries
wrongly, the rest exactly: b is the seed our ACORN driver is given, or for DSG's unseeded
build the count of earlier builds, kept in `<index>.builds`). DSG's search records its pid
and prints a chosen QPS per run where `STANDIN_RUNS` is set (`dsg_qps`).
Independent of fanns_bench on purpose: only numpy and the files.
"""

from __future__ import annotations

import json
import os
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
        if token.startswith("--") or (len(token) == 2 and token[0] == "-" and token[1].isalpha()):
            key = token.lstrip("-")
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


def per_query(behaviour: str, build: int, query: int) -> str:
    """`spread`: build b answers its first 2b queries wrongly, the others exactly."""
    if behaviour != "spread":
        return behaviour
    return "wrong" if query < 2 * build else "exact"


def acorn(argv: list[str], behaviour: str) -> None:
    base, queries = read_fvecs(argv[0]), read_fvecs(argv[1])
    mask = np.fromfile(argv[2], dtype=np.uint8).reshape(len(queries), len(base))
    k, prefix, rng, seed = int(argv[8]), argv[9], np.random.default_rng(0), int(argv[6])
    for ef in argv[7].split(","):
        rows = np.full((len(queries), k), -1, dtype="<i4")
        for i, query in enumerate(queries):
            ids = answer(base, query, np.flatnonzero(mask[i]), k, per_query(behaviour, seed, i), rng)
            rows[i, : len(ids)] = ids
        with open(f"{prefix}{ef}.ivecs", "wb") as handle:
            for row in rows:
                handle.write(np.int32(k).tobytes() + row.tobytes())
        if behaviour == "garbled":
            Path(f"{prefix}{ef}.ivecs").write_bytes(b"\x07\x00")
        print(f"ef={ef} cpu_seconds=0.010000 wall_seconds=0.010000")


def dsg_build(argv: list[str]) -> None:
    given = options(argv)
    index = Path((given.get("index_path") or given["index_file"])[0])
    builds = Path(f"{index}.builds")
    build = int(builds.read_text()) if builds.exists() else 0
    builds.write_text(str(build + 1))
    index.write_text(json.dumps({"base": given["data_path"][0], "build": build}))


def dsg_search(argv: list[str], behaviour: str) -> None:
    given = options(argv)
    base = read_fbin(given["data_path"][0])
    build = json.loads(Path((given.get("index_path") or given["index_file"])[0]).read_text())["build"]
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
    for i, (query, (low, high), true) in enumerate(zip(queries, ranges, truth, strict=True)):
        ids = mapping[answer(base, query, np.arange(low, high + 1), k, per_query(behaviour, build, i), rng)]
        total += np.intersect1d(ids, true[:k]).size / k
    print("garbled" if behaviour == "garbled" else f"QPS: {dsg_qps(build)}\nRecall: {total / len(queries)}")


def dsg_qps(build: int) -> str:
    """1234.5, or with `STANDIN_RUNS` set (a file: one line per search run, with its pid) the
    b-th of the comma-separated `STANDIN_QPS` for build b (from 0)."""
    runs = os.environ.get("STANDIN_RUNS")
    if not runs:
        return "1234.5"
    with open(runs, "a") as handle:
        handle.write(f"dsg-search {os.getpid()}\n")
    return os.environ["STANDIN_QPS"].split(",")[build]


def ints(path: str) -> np.ndarray:
    return np.loadtxt(path, dtype=np.int64, ndmin=1)


def printed_recall(
    base: np.ndarray,
    labels: np.ndarray,
    queries: np.ndarray,
    wanted: np.ndarray,
    truth_path: str,
    k: int,
    behaviour: str,
) -> None:
    """The NHQ / CAPS forks' output: `Queries per second: Q` and `Recall: R` (3 decimals)."""
    truth, rng, hits, total = read_ivecs(truth_path), np.random.default_rng(0), 0, 0
    for query, label, true in zip(queries, wanted, truth, strict=True):
        ids = answer(base, query, np.flatnonzero(labels == label), k, behaviour, rng)
        hits += np.intersect1d(ids, true[:k]).size
        total += min(k, len(true))
    print(
        "garbled" if behaviour == "garbled" else f"Queries per second: 1234.500\nRecall: {hits / total:.3f}"
    )


def remember(path: Path, **paths: str) -> None:
    """What a stand-in build leaves as its index: the paths its search needs."""
    path.write_text(json.dumps(paths))


def nhq_build(argv: list[str]) -> None:  # NSW and KGraph: <base> <attributes> <index> <params...>
    remember(Path(f"{argv[2]}_model"), base=argv[0], labels=argv[1])


def nhq_search(argv: list[str], behaviour: str, kgraph: bool) -> None:
    if kgraph:  # <base> <queries> <query attributes> <gt> <index> <k> <weight> <L_search>
        argv = argv[1:]
    queries, wanted, truth, index, k = argv[0], argv[1], argv[2], argv[3], int(argv[4])
    paths = json.loads(Path(f"{index}_model").read_text())
    base, labels = read_fvecs(paths["base"]), ints(paths["labels"])
    printed_recall(base, labels, read_fvecs(queries), ints(wanted), truth, k, behaviour)


def caps_build(argv: list[str]) -> None:  # <base> <attributes> <index folder> <nc> <metric> <mode> <algo>
    Path(argv[2]).mkdir(exist_ok=True)
    remember(Path(argv[2]) / "standin.json", base=argv[0], labels=argv[1])


def caps_search(argv: list[str], behaviour: str) -> None:
    # <base> <attributes> <queries> <query attributes> <gt> <index> <metric> <mode> <algo> <nc> <m> <k>
    base, labels = read_fvecs(argv[0]), ints(argv[1])
    printed_recall(base, labels, read_fvecs(argv[2]), ints(argv[3]), argv[4], int(argv[11]), behaviour)


def diskann_build(argv: list[str]) -> None:
    given = options(argv)
    remember(
        Path(given["index_path_prefix"][0] + "_standin.json"),
        base=given["data_path"][0],
        labels=given["label_file"][0],
    )


def diskann_search(argv: list[str], behaviour: str) -> None:
    given = options(argv)
    paths = json.loads(Path(given["index_path_prefix"][0] + "_standin.json").read_text())
    base, items = read_fbin(paths["base"]), label_sets(paths["labels"])
    queries, wanted = read_fbin(given["query_file"][0]), ints(given["query_filters_file"][0])
    k, prefix, rng = int(given["K"][0]), given["result_path"][0], np.random.default_rng(0)
    print("  Ls         QPS     Avg dist cmps  Mean Latency (mus)   99.9 Latency\n" + "=" * 69)
    for width in given["L"]:
        rows = np.full((len(queries), k), np.iinfo(np.uint32).max, dtype="<u4")
        for i, (query, label) in enumerate(zip(queries, wanted, strict=True)):
            matches = np.array([j for j, have in enumerate(items) if label in have], dtype=np.int64)
            ids = answer(base, query, matches, k, behaviour, rng)
            rows[i, : len(ids)] = ids
        with open(f"{prefix}_{width}_idx_uint32.bin", "wb") as handle:
            handle.write(np.array(rows.shape, dtype="<u4").tobytes() + rows.tobytes())
        if behaviour == "garbled":
            Path(f"{prefix}_{width}_idx_uint32.bin").write_bytes(b"\x07\x00")
        print(f"{width:>4}{1234.5:>12.2f}{100.0:>18.2f}{800.0:>20.2f}{900.0:>15.2f}")


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
    elif mode in ("nhq-nsw-build", "nhq-kgraph-build"):
        nhq_build(rest)
    elif mode in ("nhq-nsw-search", "nhq-kgraph-search"):
        nhq_search(rest, behaviour, kgraph=mode == "nhq-kgraph-search")
    elif mode == "caps-build":
        caps_build(rest)
    elif mode == "caps-search":
        caps_search(rest, behaviour)
    elif mode == "diskann-build":
        diskann_build(rest)
    elif mode == "diskann-search":
        diskann_search(rest, behaviour)
    else:
        serf(rest, behaviour)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
