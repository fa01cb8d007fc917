"""The code that decides what a result row measures is pinned, file by file, beside the
methodology version it was last judged under.

A row is reused (a resumed run) or pooled (a report) with rows of the same key, and the key
holds `METHODOLOGY_VERSION`, not the harness's code: the version must move whenever the timing,
the filter preparation, recall or memory is measured differently. Between methodology 8 and 9
it did not, seven times (7b16a00..581760f): filter preparation got cheaper (737a637 alone: a
range method's 4.6 -> 1.2 us a query) and resumed results folders kept rows of the old cost
beside new ones. So a change to these files fails here until someone decides: if rows now
measure differently, bump `METHODOLOGY_VERSION` (fanns_bench/runner/plan.py, with a line saying
what changed); either way, re-pin `PINNED` with the digests the failure prints.
"""

from __future__ import annotations

import fanns_bench.runner.plan as plan
from tests.code_pins import changed, digests, pins

MEASURED_BY = (
    "fanns_bench/filters",  # predicates, the attribute index, selectivity counts
    "fanns_bench/groundtruth.py",
    "fanns_bench/methods/base.py",  # FilterBatch: every method's filter input
    "fanns_bench/methods/common",  # the filter inputs methods share (ordered, labels, id sets...)
    "fanns_bench/metrics.py",
    "fanns_bench/runner/affinity.py",
    "fanns_bench/runner/clocks.py",
    "fanns_bench/runner/measure.py",
    "fanns_bench/runner/memory.py",
    "fanns_bench/runner/schedule.py",
    "fanns_bench/runner/threads.py",
    "fanns_bench/scoring.py",
    "cpp/groundtruth",  # the exact filtered top-k recall is scored against
)
"""Files and folders (their code files, `code_pins.CODE_SUFFIXES`) whose code times, prepares
filters, scores or measures memory."""

PINNED_VERSION = 9
PINNED = {
    "cpp/groundtruth/CMakeLists.txt": "894f939ba035d63e",
    "cpp/groundtruth/groundtruth_bindings.cpp": "de0f4bbbd6eea2b8",
    "cpp/groundtruth/masked_topk.cpp": "5c7a6c6e46dc2c15",
    "cpp/groundtruth/masked_topk.h": "d441a04936b5371a",
    "fanns_bench/filters/__init__.py": "e3b0c44298fc1c14",
    "fanns_bench/filters/attribute_index.py": "515ea7ee3a36a3d8",
    "fanns_bench/filters/estimate.py": "85e98bd15d378230",
    "fanns_bench/filters/evaluate.py": "c6c3ed367b05fd2a",
    "fanns_bench/filters/predicates.py": "fa62f8ca686ffc42",
    "fanns_bench/filters/shape.py": "bf2e10514381e96e",
    "fanns_bench/filters/visitor.py": "1da03e0623ea11bc",
    "fanns_bench/groundtruth.py": "c644c523630d7618",
    "fanns_bench/methods/base.py": "e66d15d209748497",
    "fanns_bench/methods/common/__init__.py": "4f5aa276e289237d",
    "fanns_bench/methods/common/compiled.py": "4d9ba9f12f89f541",
    "fanns_bench/methods/common/disk.py": "47890ce2b24db090",
    "fanns_bench/methods/common/id_sets.py": "4db7d7664ceb542a",
    "fanns_bench/methods/common/label_methods.py": "cbf683f95385e932",
    "fanns_bench/methods/common/labels.py": "ef5c83a7543092a8",
    "fanns_bench/methods/common/membership.py": "796e64f8a6daab04",
    "fanns_bench/methods/common/ordered.py": "5dc29706a2caaf53",
    "fanns_bench/methods/common/postfilter.py": "f785e3001dad531a",
    "fanns_bench/methods/common/segment_graph_method.py": "b3874d0d6d2041b0",
    "fanns_bench/methods/common/sorted_range_index.py": "6a8c66ea5b42717c",
    "fanns_bench/methods/common/values.py": "de639707a63df1de",
    "fanns_bench/metrics.py": "c4bf08c3478b9bd9",
    "fanns_bench/runner/affinity.py": "2dd7da53f32a9a38",
    "fanns_bench/runner/clocks.py": "92fd163902a6f4bc",
    "fanns_bench/runner/measure.py": "3fd4e5d96860a7c3",
    "fanns_bench/runner/memory.py": "b12bcad0c8c32cab",
    "fanns_bench/runner/schedule.py": "c96f313ef369b52b",
    "fanns_bench/runner/threads.py": "de7db20a756445d5",
    "fanns_bench/scoring.py": "fe5232699b738d63",
}


def test_the_measuring_code_is_as_pinned_under_this_methodology():
    assert plan.METHODOLOGY_VERSION == PINNED_VERSION, (
        f"METHODOLOGY_VERSION is {plan.METHODOLOGY_VERSION}, pinned under {PINNED_VERSION}: "
        f"set PINNED_VERSION = {plan.METHODOLOGY_VERSION} and re-pin PINNED in {__file__}"
    )
    current = digests(MEASURED_BY)
    differing = changed(current, PINNED)
    assert not differing, (
        f"the code that measures changed: {', '.join(differing)}. If rows now measure differently "
        "(timing, filter costs, recall, memory), bump METHODOLOGY_VERSION in "
        "fanns_bench/runner/plan.py with a line saying what changed; either way, re-pin "
        f"in {__file__}:\n{pins(current)}"
    )


def test_a_changed_new_or_removed_file_is_named(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "b.py").write_text("y = 2\n")
    (tmp_path / "one.py").write_text("z = 3\n")
    before = digests(("pkg", "one.py"), tmp_path)
    assert sorted(before) == ["one.py", "pkg/a.py", "pkg/b.py"]
    assert changed(before, before) == []
    (tmp_path / "pkg" / "a.py").write_text("x = 2\n")
    (tmp_path / "pkg" / "b.py").unlink()
    (tmp_path / "pkg" / "c.py").write_text("w = 4\n")
    assert changed(digests(("pkg", "one.py"), tmp_path), before) == ["pkg/a.py", "pkg/b.py", "pkg/c.py"]
