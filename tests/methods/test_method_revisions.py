"""Each built-in method package's code (its folder under fanns_bench/methods/ and its compiled
part under cpp/), and the compiled code they share, is pinned by digest.

A built-in method's rows are keyed on the harness version and the method's `revision`, not on
its code (methods/provenance.py: a harness edit should not discard resumable work), so a fix
that changes results at the same parameters must raise `revision`, or a resumed results
folder keeps rows of the old code beside new ones. ACORN's parallel-build fix (8073c56) was
given its revision only afterwards. So a change here fails until someone decides: if the
package's methods now give other results at the same parameters, raise their `revision` (with
a line saying why); either way, re-pin `PINNED` with what the failure prints. Third-party and
local plugins need none of this: their rows are keyed on their code's own hash.
"""

from __future__ import annotations

from pathlib import Path

from fanns_bench.methods.registry import get_method, method_names
from tests.code_pins import ROOT, changed, combined, pins

SHARED_COMPILED = ("cpp/core", "cpp/graph", "cpp/bindings", "cpp/module.cpp", "CMakeLists.txt")
"""Compiled code every core method uses (distance kernels, heaps, graph search, bindings)."""

PINNED = {
    "acorn": "236132f7c51a",
    "caps": "fdc3cfbd7a69",
    "digra": "84d0fb4cac7e",
    "diskann": "26ce07082774",
    "dsg": "d3ca315314f5",
    "exact": "25de57e6035e",
    "faiss": "10726e0f68ed",
    "hnswlib": "1a18d916fef5",
    "irangegraph": "99eb9c9007f4",
    "kannolo": "e46af6b3ca88",
    "lancedb": "4045004071d5",
    "nhq": "260c32e29d5e",
    "pgvector": "abd5c0ddcfed",
    "qdrant": "fa95a43bf6b3",
    "router": "ded36f734a75",
    "serf": "666d92974a01",
    "shared compiled core": "4ff381c7cdf8",
    "ung": "d23d47661701",
    "usearch": "95f97afc1e9a",
    "vamana": "220125777eb2",
}


def packages() -> dict[str, tuple[str, ...]]:
    """Method package -> the code it is pinned by (its Python folder, its cpp/ part if any);
    "shared compiled core" -> SHARED_COMPILED. methods/common is test_methodology's."""
    found = {}
    for folder in sorted((ROOT / "fanns_bench" / "methods").iterdir()):
        if folder.is_dir() and (folder / "__init__.py").exists() and folder.name != "common":
            part = Path("cpp") / folder.name
            found[folder.name] = (f"fanns_bench/methods/{folder.name}",) + (
                (part.as_posix(),) if (ROOT / part).is_dir() else ()
            )
    return {**found, "shared compiled core": SHARED_COMPILED}


def methods_of(package: str) -> list[str]:
    """The registered methods a package provides (for the shared core: every method that
    requires the compiled core)."""
    if package == "shared compiled core":
        return sorted(n for n in method_names() if "fanns_bench._core" in get_method(n).requires)
    return sorted(n for n in method_names() if module_package(n) == package)


def module_package(name: str) -> str:
    module = get_method(name).__module__
    return module.split(".")[2] if module.startswith("fanns_bench.methods.") else module


def test_each_method_packages_code_is_as_pinned():
    current = {package: combined(entries) for package, entries in packages().items()}
    differing = changed(current, PINNED)
    named = "; ".join(f"{package} ({', '.join(methods_of(package)) or 'no method'})" for package in differing)
    assert not differing, (
        f"method code changed: {named}. If these methods now give other results at the same "
        "parameters (a fix, a fidelity change), raise their `revision` (Method.revision) with a "
        f"line saying why; either way, re-pin in {__file__}:\n{pins(current)}"
    )


def test_every_built_in_method_belongs_to_a_pinned_package():
    assert {module_package(name) for name in method_names()} <= set(packages())
    assert "acorn_gamma" in methods_of("acorn") and "serf" in methods_of("shared compiled core")
    assert "faiss_hnsw" not in methods_of("shared compiled core")


def test_a_changed_file_changes_its_packages_digest(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.cpp").write_text("int x;\n")
    (tmp_path / "a" / "notes.md").write_text("words\n")
    before = combined(("a",), tmp_path)
    (tmp_path / "a" / "notes.md").write_text("other words\n")  # not code: no change
    assert combined(("a",), tmp_path) == before
    (tmp_path / "a" / "x.cpp").write_text("int y;\n")
    assert combined(("a",), tmp_path) != before
    (tmp_path / "a" / "x.cpp").write_text("int x;\n")
    (tmp_path / "a" / "x.cpp").rename(tmp_path / "a" / "y.cpp")  # a renamed file changes it too
    assert combined(("a",), tmp_path) != before
