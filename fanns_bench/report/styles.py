"""A stable method -> (colour, marker, line style, hatch) mapping, readable without colour.

Each method gets a slot from a hash of its name (so it keeps its look as other methods come
and go), probing for a free slot on a clash. The first 10 slots have distinct markers and
colours (and cycle the line styles), so up to 10 methods never share a marker; slots 10-39
reuse markers with another line style and colour. Compute the mapping once per report, from
every method in the results, so a method looks the same in every figure.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass

# Okabe-Ito (without yellow, weak on white) plus three of Paul Tol's: colour-blind safe.
COLORS = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
    "#56B4E9", "#000000", "#882255", "#332288", "#999933",
]  # fmt: skip
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "h", "<"]
LINESTYLES = ["-", "--", "-.", ":"]
HATCHES = ["", "//", "\\\\", "xx", "..", "oo", "++", "--", "||", "**"]
PRIMARY_SLOTS = len(MARKERS)
SLOTS = PRIMARY_SLOTS * len(LINESTYLES)


@dataclass(frozen=True)
class Style:
    """How one method is drawn."""

    color: str
    marker: str
    linestyle: str
    hatch: str

    def line_kwargs(self) -> dict[str, str]:
        return {"color": self.color, "marker": self.marker, "linestyle": self.linestyle}


def slot_style(slot: int) -> Style:
    """The style of slot `slot` (0 <= slot < SLOTS); distinct slots differ in marker or line."""
    block, index = divmod(slot % SLOTS, PRIMARY_SLOTS)
    return Style(
        color=COLORS[(index + 3 * block) % len(COLORS)],
        marker=MARKERS[index],
        linestyle=LINESTYLES[(index + block) % len(LINESTYLES)],
        hatch=HATCHES[(index + block) % len(HATCHES)],
    )


def method_styles(methods: Iterable[str]) -> dict[str, Style]:
    """Styles for `methods`: distinct for up to SLOTS methods, each name's preferred slot first."""
    taken: set[int] = set()
    styles = {}
    for name in sorted(set(methods)):
        slot = _free_slot(zlib.crc32(name.encode()), taken)
        taken.add(slot)
        styles[name] = slot_style(slot)
    return styles


def _free_slot(hashed: int, taken: set[int]) -> int:
    """First free slot from the name's preferred one: primary slots, then the others."""
    for low, size in ((0, PRIMARY_SLOTS), (PRIMARY_SLOTS, SLOTS - PRIMARY_SLOTS)):
        for step in range(size):
            slot = low + (hashed + step) % size
            if slot not in taken:
                return slot
    return hashed % SLOTS  # more methods than slots: share
