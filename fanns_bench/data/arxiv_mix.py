"""Draw the shipped sample's records: a seeded, stratified mix of several Kaggle-layout files.

The shipped default (`datasets/arxiv_sample/`) should span every arXiv archive like the full
snapshot, yet keep the attributes some record sets lack (`submitter`, `license`, versions)
real where it can. Three strata, each a seeded draw (smallest `blake2b("<seed>:<id>")` keys,
as the `arxiv` builder draws):

- `oai`: an all-archive OAI-PMH sample (2007-2017), records **without** astro-ph;
- `full`: full-schema astro-ph listings (2007-2017, every field real), standing in for the
  astro-ph records of the OAI sample at the OAI sample's own astro-ph share;
- `recent`: daily listings, only those updated up to `recent_until` (the paper's snapshot
  ends in May 2025), `recent_share` of the total.

Every record must have valid arXiv categories (daily listings carry ACM/MSC class tokens
such as `I.2.7` or `68T50` in a few `categories` fields; such records are left out, not
edited). The chosen lines are written verbatim, in key order, to one gzip JSONL file that
the `arxiv` builder then embeds (`count` + `query_count` = all of it).

    python -m fanns_bench.data.arxiv_mix --oai OAI.jsonl.gz --full FULL.jsonl.gz \
        --recent DAILY.jsonl.gz --total 11000 OUT.jsonl.gz
"""

from __future__ import annotations

import argparse
import gzip
import heapq
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fanns_bench.atomic_files import temporary_sibling
from fanns_bench.data.arxiv import record_key
from fanns_bench.data.arxiv_records import ArxivRecord, RecordError, days_since_epoch, iter_records, raw_lines
from fanns_bench.data.file_hashes import file_hash
from fanns_bench.errors import ConfigError, DatasetError, FannsBenchError

CATEGORY = re.compile(r"^[a-z]+(-[a-z]+)?(\.[A-Za-z]+(-[a-z]+)?)?$")
ASTRO = "astro-ph"
PAPER_SNAPSHOT_END = "2025-05-08"  # the last update_date of the paper's medium set (20216)


def valid_categories(record: ArxivRecord) -> bool:
    """Every category token looks like an arXiv category (`math.CO`, `hep-th`, `cond-mat.str-el`)."""
    return all(CATEGORY.match(category) for category in record.attributes["sub_categories"])


def draw(path: Path, keep: Callable[[ArxivRecord], bool], seed: int) -> tuple[list[tuple[int, str]], Counter]:
    """(key, id) of every record of `path` with valid categories that `keep` accepts, and
    counts: `usable`, `valid` (categories valid), `astro` (valid and holding astro-ph)."""
    keyed, seen = [], Counter()
    for record in iter_records(path, on_error="strict"):
        seen["usable"] += 1
        if not valid_categories(record):
            continue
        seen["valid"] += 1
        seen["astro"] += ASTRO in record.attributes["main_categories"]
        if keep(record):
            keyed.append((record_key(seed, record.arxiv_id), record.arxiv_id))
    return keyed, seen


def plan(total: int, recent_share: float, oai_astro_share: float) -> dict[str, int]:
    """Items per stratum: `recent_share` of `total` recent, astro-ph at the OAI sample's share
    of the rest, the remainder from the OAI sample without astro-ph."""
    if total < 3 or not 0 <= recent_share < 1:
        raise ConfigError(f"total={total} must be >= 3 and recent_share={recent_share} in [0, 1)")
    recent = round(total * recent_share)
    full = round((total - recent) * oai_astro_share)
    return {"oai": total - recent - full, "full": full, "recent": recent}


def mix(
    out: Path,
    *,
    oai: Path,
    full: Path,
    recent: Path,
    total: int = 11_000,
    recent_share: float = 0.10,
    recent_until: str = PAPER_SNAPSHOT_END,
    seed: int = 0,
) -> dict[str, Any]:
    """Write the chosen records of the three files to `out` (gzip JSONL); return the plan."""
    try:
        until = days_since_epoch(recent_until)
    except RecordError:
        raise ConfigError(f"recent_until={recent_until!r}; expected YYYY-MM-DD") from None
    files = {"oai": oai, "full": full, "recent": recent}
    keeps: dict[str, Callable[[ArxivRecord], bool]] = {
        "oai": lambda r: ASTRO not in r.attributes["main_categories"],
        "full": lambda r: ASTRO in r.attributes["main_categories"],
        "recent": lambda r: r.attributes["update_date"] <= until,
    }
    drawn = {stratum: draw(files[stratum], keep, seed) for stratum, keep in keeps.items()}
    pools = {stratum: pool for stratum, (pool, _) in drawn.items()}
    oai_astro_share = drawn["oai"][1]["astro"] / drawn["oai"][1]["valid"]
    counts = plan(total, recent_share, oai_astro_share)
    chosen: dict[str, tuple[int, str]] = {}
    for stratum, pool in pools.items():
        if len(pool) < counts[stratum]:
            raise DatasetError(f"stratum {stratum!r}: {len(pool)} records, need {counts[stratum]}")
        for key, arxiv_id in heapq.nsmallest(counts[stratum], pool):
            if arxiv_id in chosen:
                raise DatasetError(f"id {arxiv_id} is in two strata ({chosen[arxiv_id][1]}, {stratum})")
            chosen[arxiv_id] = (key, stratum)
    _write_lines(out, chosen, files)
    return {
        "seed": seed,
        "total": total,
        "counts": counts,
        "oai_astro_share": round(oai_astro_share, 4),
        "recent_share": recent_share,
        "recent_until": recent_until,
        "rule": {
            "oai": "all-archive OAI-PMH sample, records without astro-ph",
            "full": "full-schema astro-ph listings (at the OAI sample's astro-ph share)",
            "recent": f"daily listings updated up to {recent_until}",
        },
        "scanned": {s: {**seen, "kept": len(pool)} for s, (pool, seen) in drawn.items()},
        "files": {s: {"file": p.name, "sha256": file_hash(p)} for s, p in files.items()},
        "out": {"file": out.name, "sha256": file_hash(out)},
    }


def _write_lines(out: Path, chosen: dict[str, tuple[int, str]], files: dict[str, Path]) -> None:
    """The chosen records' lines, verbatim, in key order (so rows interleave the strata)."""
    lines: dict[str, bytes] = {}
    for stratum, path in files.items():
        for _, raw in raw_lines(path):
            arxiv_id = json.loads(raw).get("id")
            if chosen.get(arxiv_id, (0, None))[1] == stratum and arxiv_id not in lines:
                lines[arxiv_id] = raw if raw.endswith(b"\n") else raw + b"\n"
    if len(lines) != len(chosen):
        raise DatasetError(f"found {len(lines)} of the {len(chosen)} chosen records on the second pass")
    temporary = temporary_sibling(out)
    try:
        with open(temporary, "wb") as raw, gzip.GzipFile("", "wb", fileobj=raw, mtime=0) as handle:
            for arxiv_id in sorted(chosen, key=lambda i: chosen[i][0]):  # no name, no time: same bytes
                handle.write(lines[arxiv_id])
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)


def archive_counts(main_categories: list[list[str]]) -> dict[str, int]:
    """Items holding each archive, largest first (ties by name)."""
    counts = Counter(archive for mains in main_categories for archive in mains)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--oai", type=Path, required=True, help="all-archive OAI-PMH sample (.jsonl.gz)")
    parser.add_argument("--full", type=Path, required=True, help="full-schema astro-ph records (.jsonl.gz)")
    parser.add_argument("--recent", type=Path, required=True, help="daily listings (.jsonl.gz)")
    parser.add_argument("--total", type=int, default=11_000, help="base + query records")
    parser.add_argument("--recent-share", type=float, default=0.10)
    parser.add_argument("--recent-until", default=PAPER_SNAPSHOT_END)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("out", type=Path, help="the mixed records (.jsonl.gz)")
    args = parser.parse_args(argv)
    try:
        info = mix(
            args.out,
            oai=args.oai,
            full=args.full,
            recent=args.recent,
            total=args.total,
            recent_share=args.recent_share,
            recent_until=args.recent_until,
            seed=args.seed,
        )
    except FannsBenchError as error:
        sys.exit(f"error: {error}")
    plan_path = args.out.with_name(args.out.name.split(".")[0] + ".mix.json")
    plan_path.write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info["counts"]))


if __name__ == "__main__":
    main()
