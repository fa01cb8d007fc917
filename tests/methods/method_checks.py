"""The per-method tests' shared checks, which live in `fanns_bench.conformance`."""

from fanns_bench.conformance import (
    COLORS,
    PREDICATES,
    RARE,
    batch_recall,
    check_no_match_is_all_padding,
    check_rare_padded,
    check_satisfies_with_recall,
    predicates,
    recall,
    run,
    small_dataset,
    unreachable_items,
)

__all__ = [
    "COLORS",
    "PREDICATES",
    "RARE",
    "batch_recall",
    "check_no_match_is_all_padding",
    "check_rare_padded",
    "check_satisfies_with_recall",
    "predicates",
    "recall",
    "run",
    "small_dataset",
    "unreachable_items",
]
