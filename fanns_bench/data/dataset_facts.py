"""What a dataset is, in one line for people: items, queries, embedding model, dimension and
the arXiv archives it spans, read from its manifest (whatever of these the manifest holds).

Builders name these facts differently (`model` or `embedding_model`; `archives` at the top
or under `selection`, as a list of names or a name -> item count mapping); a fact the
manifest lacks is left out of the line, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SHOWN_ARCHIVES = 12  # more are summarised as "+N more"


def dataset_facts(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest's name, items, queries, model, dimension and archives (those present)."""
    selection = manifest.get("selection")
    selection = selection if isinstance(selection, Mapping) else {}
    found = {
        "name": manifest.get("name"),
        "items": _first(manifest, selection, "count"),
        "queries": _first(manifest, selection, "query_count"),
        "model": _first(manifest, {}, "model", "embedding_model"),
        "dimension": _first(manifest, {}, "dimension", "embedding_dimension"),
        "archives": _archives(_first(manifest, selection, "archives")),
    }
    return {key: value for key, value in found.items() if value not in (None, "", [], {})}


def _first(manifest: Mapping[str, Any], selection: Mapping[str, Any], *keys: str) -> Any:
    for source in (manifest, selection):
        for key in keys:
            if source.get(key) not in (None, ""):
                return source[key]
    return None


def _archives(value: Any) -> dict[str, int | None] | None:
    """Archive name -> item count (None where only the names are given)."""
    if isinstance(value, Mapping):
        return {str(k): v if isinstance(v, int) else None for k, v in value.items()}
    if isinstance(value, list | tuple):
        return {str(name): None for name in value}
    return None


def dataset_text(facts: Mapping[str, Any]) -> str:
    """One line: "arxiv_sample: 10,000 items + 1,000 queries, all-MiniLM-L6-v2, 384-d,
    archives: astro-ph 3,120, cs 2,004, ..." (only the facts given)."""
    parts = []
    if "items" in facts:
        size = f"{_number(facts['items'])} items"
        parts.append(size + (f" + {_number(facts['queries'])} queries" if "queries" in facts else ""))
    if "model" in facts:
        parts.append(str(facts["model"]).rpartition("/")[2])
    if "dimension" in facts:
        parts.append(f"{facts['dimension']}-d")
    archives = sorted((facts.get("archives") or {}).items(), key=lambda item: (-(item[1] or 0), item[0]))
    if archives:  # largest first, then by name
        shown = [name if count is None else f"{name} {count:,}" for name, count in archives]
        more = len(shown) - SHOWN_ARCHIVES
        listed = ", ".join(shown[:SHOWN_ARCHIVES]) + (f" (+{more} more)" if more > 0 else "")
        parts.append(f"{len(shown)} archive{'' if len(shown) == 1 else 's'}: {listed}")
    name = str(facts.get("name") or "unnamed dataset")
    return f"{name}: {', '.join(parts)}" if parts else name


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)
