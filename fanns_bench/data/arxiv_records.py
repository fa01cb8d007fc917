"""Read a Kaggle-schema arXiv metadata dump line by line and derive the 11 attributes.

The dump (`arxiv-metadata-oai-snapshot.json`) holds one JSON object per line with the keys
`id, submitter, authors, title, comments, journal-ref, doi, report-no, categories, license,
abstract, versions, update_date, authors_parsed`. Plain or gzip, always streamed.
The derivation of each attribute is documented in `datasets/README.md`.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fanns_bench.errors import ConfigError, DatasetError

EPOCH = dt.date(1970, 1, 1)
ON_ERROR = ("strict", "skip")
KEPT_LINE_NUMBERS = 20
AUTHOR_SPLIT = re.compile(r",\s*|\s+and\s+")


class RecordError(ValueError):
    """One record cannot be used; the message names the field."""


@dataclass
class ScanReport:
    """What a pass over a dump saw: usable records and everything left out, with line numbers."""

    lines: int = 0
    usable: int = 0
    malformed: int = 0
    invalid: int = 0
    no_abstract: int = 0
    duplicates: int = 0
    problem_lines: list[str] = field(default_factory=list)

    def note(self, kind: str, line_number: int, message: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.problem_lines) < KEPT_LINE_NUMBERS:
            self.problem_lines.append(f"line {line_number}: {message}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "usable": self.usable,
            "malformed": self.malformed,
            "invalid": self.invalid,
            "no_abstract": self.no_abstract,
            "duplicates": self.duplicates,
            "problem_lines": list(self.problem_lines),
        }


@dataclass(frozen=True)
class ArxivRecord:
    """One usable record: its id, line number, the text to embed, and its 11 attributes."""

    arxiv_id: str
    line_number: int
    text: str
    attributes: dict[str, Any]


def iter_records(
    path: str | Path, *, on_error: str = "strict", report: ScanReport | None = None
) -> Iterator[ArxivRecord]:
    """Usable records in file order: malformed lines stop (`strict`) or are counted (`skip`).

    Records without an abstract and repeated ids (after the first) are counted and left out
    in both modes; they are properties of the dump, not errors.
    """
    if on_error not in ON_ERROR:
        raise ConfigError(f"on_error={on_error!r}; expected one of {ON_ERROR}")
    path = Path(path)
    report = report if report is not None else ScanReport()
    seen: set[str] = set()
    for line_number, raw in raw_lines(path):
        report.lines += 1
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise RecordError(f"expected a JSON object, found {type(data).__name__}")
        except (json.JSONDecodeError, UnicodeDecodeError, RecordError) as error:
            _problem(path, report, on_error, "malformed", line_number, f"not valid JSON ({error})")
            continue
        try:
            record = derive_record(data, line_number)
        except RecordError as error:
            _problem(path, report, on_error, "invalid", line_number, str(error))
            continue
        if record is None:
            report.no_abstract += 1
            continue
        if record.arxiv_id in seen:
            report.note("duplicates", line_number, f"id {record.arxiv_id!r} seen before")
            continue
        seen.add(record.arxiv_id)
        report.usable += 1
        yield record


def derive_record(data: dict[str, Any], line_number: int = 0) -> ArxivRecord | None:
    """The record for one dump object, or `None` when it has no abstract."""
    arxiv_id = _required_string(data, "id")
    abstract = data.get("abstract")
    if abstract is not None and not isinstance(abstract, str):
        raise RecordError(f"field 'abstract' of {arxiv_id} is {type(abstract).__name__}")
    text = " ".join((abstract or "").split())
    if not text:
        return None
    return ArxivRecord(arxiv_id, line_number, text, derive_attributes(data))


def derive_attributes(data: dict[str, Any]) -> dict[str, Any]:
    """The 11 published attributes of one dump object (see the README for each rule)."""
    categories = _unique(_required_string(data, "categories").split())
    if not categories:
        raise RecordError("field 'categories' is empty")
    main_categories = _unique(category.split(".")[0] for category in categories)
    authors = _authors(data)
    versions = data.get("versions")
    if versions is not None and not isinstance(versions, list):
        raise RecordError(f"field 'versions' is {type(versions).__name__}; expected a list")
    comments = _optional_string(data, "comments")
    return {
        "submitter": _optional_string(data, "submitter"),
        "has_comments": bool(comments and comments.strip()),
        "main_categories": main_categories,
        "sub_categories": categories,
        "number_of_main_categories": len(main_categories),
        "number_of_sub_categories": len(categories),
        "license": _optional_string(data, "license"),
        "number_of_versions": len(versions) if versions else None,  # [] = not carried (every paper has v1)
        "update_date": days_since_epoch(_required_string(data, "update_date")),
        "authors": authors,
        "number_of_authors": len(authors),
    }


def days_since_epoch(date_text: str) -> int:
    """`YYYY-MM-DD` to whole days since 1970-01-01 (the published `update_date`)."""
    try:
        return (dt.date.fromisoformat(date_text.strip()) - EPOCH).days
    except ValueError:
        raise RecordError(f"field 'update_date' is {date_text!r}; expected YYYY-MM-DD") from None


def _authors(data: dict[str, Any]) -> list[str]:
    parsed = data.get("authors_parsed")
    if parsed is not None:
        if not isinstance(parsed, list) or not all(isinstance(p, list) for p in parsed):
            raise RecordError("field 'authors_parsed' is not a list of [last, first, suffix]")
        names = [_parsed_name(parts) for parts in parsed]
    else:
        text = _optional_string(data, "authors") or ""
        names = [" ".join(part.split()) for part in AUTHOR_SPLIT.split(text)]
    return _unique(name for name in names if name)


def _parsed_name(parts: list[Any]) -> str:
    """`[last, first, suffix, affiliation...]` -> "first last suffix" (affiliations dropped)."""
    if not all(isinstance(p, str) for p in parts):
        raise RecordError(f"authors_parsed entry {parts!r} holds a non-string")
    last, first, suffix = [*parts[:3], "", "", ""][:3]
    return " ".join(" ".join(p.split()) for p in (first, last, suffix) if p.strip())


def _required_string(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        found = "missing" if value is None else f"a {type(value).__name__}"
        raise RecordError(f"field {key!r} is {found}; expected a string")
    return value


def _optional_string(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise RecordError(f"field {key!r} is a {type(value).__name__}; expected a string or null")
    return value


def _unique(values: Any) -> list[str]:
    return list(dict.fromkeys(values))


def _problem(
    path: Path, report: ScanReport, on_error: str, kind: str, line_number: int, message: str
) -> None:
    if on_error == "strict":
        raise DatasetError(f"{path}:{line_number}: {message} (use on_error='skip' to skip it)")
    report.note(kind, line_number, message)


def raw_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of the non-blank lines, gzip detected by its magic bytes."""
    if not path.is_file():
        raise DatasetError(f"{path}: arXiv metadata dump not found")
    with open(path, "rb") as probe:
        compressed = probe.read(2) == b"\x1f\x8b"
    with gzip.open(path, "rb") if compressed else open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                yield number, raw
