"""A stable method -> (colour, marker, line style, hatch) mapping, readable without colour.

A style is a slot: one of `len(COLORS)` colours x `len(MARKERS)` markers (the line style and
hatch follow from the slot). Slots are given out once per installation, from the method
names alone, never from the results being drawn, so a method looks the same in every
figure and every results folder: first the built-in methods, then the other registered
methods, each in name order, then names the registry does not know (in name order, after
the registered ones). Each name starts from a slot hashed from its name and takes the
nearest slot whose colour is least used so far, then whose marker is; so the first
`len(COLORS)` methods get distinct colours, and two methods of one colour differ in marker
and line style.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points

# Okabe-Ito (without yellow, weak on white), Paul Tol's muted and vibrant, tab10's brown and
# grey: 16 colours that stay apart on white and in print.
COLORS = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#882255",
    "#332288", "#999933", "#117733", "#AA4499", "#8C564B", "#7F7F7F", "#44AA99", "#EE3377",
]  # fmt: skip
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "h", "<"]
LINESTYLES = ["-", "--", "-.", ":"]
HATCHES = ["", "//", "\\\\", "x", "..", "o", "+", "-", "|", "O"]
SLOTS = len(COLORS) * len(MARKERS)


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
    """The style of slot `slot` (0 <= slot < SLOTS); distinct slots differ in colour or marker,
    and slots of one colour also differ in line style for the first four markers."""
    marker, color = divmod(slot % SLOTS, len(COLORS))
    return Style(
        color=COLORS[color],
        marker=MARKERS[marker],
        linestyle=LINESTYLES[(marker + color) % len(LINESTYLES)],
        hatch=HATCHES[(marker + color) % len(HATCHES)],
    )


def method_styles(methods: Iterable[str]) -> dict[str, Style]:
    """Styles for `methods`: a registered method always gets its installation-wide slot;
    unknown names get free slots after them (distinct for up to SLOTS names in all)."""
    methods = list(methods)
    registered = registered_slots()
    unknown = sorted(set(methods) - set(registered))
    slots = dict(registered)
    slots.update(assign_slots(unknown, taken=list(registered.values())))
    return {name: slot_style(slots[name]) for name in methods}


GROUP, HARNESS = "fanns_bench.methods", "fanns-bench"  # as methods.registry (tests/report/test_pareto.py)


@cache
def registered_slots() -> dict[str, int]:
    """Slot of every method in the registry: built-ins first, then plugins (see module doc).

    Read from the installed entry points' metadata, not through `methods.registry`, so
    figures need neither the methods' extras nor the compiled core.
    """
    points = entry_points(group=GROUP)
    names = sorted({point.name for point in points})
    try:
        builtin = sorted({p.name for p in points if p.dist is not None and p.dist.name == HARNESS})
    except Exception:  # noqa: BLE001 - a broken plugin's metadata must not break the figures
        builtin = names
    builtin_slots = assign_slots(builtin)
    plugins = assign_slots([n for n in names if n not in builtin_slots], taken=list(builtin_slots.values()))
    return {**builtin_slots, **plugins}


def assign_slots(names: Iterable[str], taken: list[int] | None = None) -> dict[str, int]:
    """Slots for `names` (in name order), avoiding `taken`: from each name's hashed slot, the
    nearest free slot with the least used colour, then the least used marker."""
    taken = list(taken or [])
    colors = Counter(slot % len(COLORS) for slot in taken)
    markers = Counter(slot // len(COLORS) % len(MARKERS) for slot in taken)
    used, slots = set(taken), {}
    for name in sorted(set(names)):
        start = zlib.crc32(name.encode())
        free = [(start + step) % SLOTS for step in range(SLOTS)]
        free = [slot for slot in free if slot not in used] or [start % SLOTS]  # more than SLOTS: share
        slot = min(free, key=lambda s: (colors[s % len(COLORS)], markers[s // len(COLORS)]))
        slots[name] = slot
        used.add(slot)
        colors[slot % len(COLORS)] += 1
        markers[slot // len(COLORS)] += 1
    return slots
