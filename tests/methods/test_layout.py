"""Every built-in method follows the layout rule (README "Add a method", cpp/README.md), and
every test file sits in its part's folder (README "Layout"). The method rule:

registry name `<family>` or `<family>_<variant>` (`<variant>_<family>` where the paper's name puts
the variant first: `filtered_vamana`; the family is the first word when a folder has that name,
else the last); code in `fanns_bench/methods/<family>/`, the class in
`method.py` or in the module named by the name's last word (`faiss/hnsw.py` for `faiss_hnsw`);
config `configs/method/<name>.yaml`; a compiled method's part in `cpp/<family>/` with
`<family>_bindings.cpp`. One spelling per method: a package's implementation of a method the
harness also registers is `<package>_<that name>`, spelled as that name (`kannolo_acorn_1`
beside `acorn_1`, not `kannolo_acorn1`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from importlib.metadata import distribution
from pathlib import Path

import pytest

from fanns_bench.errors import MethodError
from fanns_bench.methods.registry import GROUP, HARNESS, get_method

REPO = Path(__file__).resolve().parents[2]
CORE = "fanns_bench._core"
PACKAGE = "fanns_bench.methods."
NOT_METHODS = {"core", "groundtruth"}  # cpp parts that are not a method's


@dataclass(frozen=True)
class Tree:
    """What the rule is checked against: folders and files of a checkout."""

    families: frozenset[str]  # folders under fanns_bench/methods/ (common/ excluded)
    configs: frozenset[str]  # configs/method/*.yaml stems
    cpp_parts: frozenset[str]  # cpp/*/ folders with a CMakeLists.txt
    bindings: frozenset[str]  # cpp/<part>/<file> of every *bindings.cpp


def checkout_tree(root: Path) -> Tree:
    methods = root / "fanns_bench" / "methods"
    return Tree(
        families=frozenset(p.name for p in methods.iterdir() if (p / "__init__.py").is_file()) - {"common"},
        configs=frozenset(p.stem for p in (root / "configs" / "method").glob("*.yaml")),
        cpp_parts=frozenset(p.parent.name for p in (root / "cpp").glob("*/CMakeLists.txt")),
        bindings=frozenset(f"{p.parent.name}/{p.name}" for p in (root / "cpp").glob("*/*bindings.cpp")),
    )


def violations(points: dict[str, str], compiled: set[str], tree: Tree) -> list[str]:
    """One line per way `points` (registry name -> `module:Class`) breaks the rule."""
    found = []
    for name, target in sorted(points.items()):
        module = target.partition(":")[0]
        parts = module.removeprefix(PACKAGE).split(".")
        if not module.startswith(PACKAGE) or len(parts) != 2:
            found.append(f"{name}: {module} is not fanns_bench.methods.<family>.<module>")
            continue
        family, leaf = parts
        words = name.split("_")
        expected = words[0] if words[0] in tree.families else words[-1]
        if family != expected:
            found.append(
                f"{name}: lives in methods/{family}/; its family (first word, else last) is {expected!r}"
            )
        elif leaf != "method" and not (words[0] == family and leaf == words[-1] and len(words) > 1):
            found.append(f"{name}: module {family}/{leaf}.py; expected method.py or {words[-1]}.py")
        if name not in tree.configs:
            found.append(f"{name}: no configs/method/{name}.yaml")
        if name in compiled and f"{family}/{family}_bindings.cpp" not in tree.bindings:
            found.append(f"{name}: compiled, but no cpp/{family}/{family}_bindings.cpp")
    found += spelling_violations(sorted(points))
    for stem in sorted(tree.configs - set(points)):
        found.append(f"configs/method/{stem}.yaml: no method registered as {stem!r}")
    for part in sorted(tree.cpp_parts - tree.families - NOT_METHODS):
        found.append(f"cpp/{part}/: no method family fanns_bench/methods/{part}/")
    for part in sorted(tree.cpp_parts):
        if f"{part}/{part}_bindings.cpp" not in tree.bindings:
            found.append(f"cpp/{part}/: no {part}_bindings.cpp (its register_{part})")
    for binding in sorted(tree.bindings):
        part, file = binding.split("/")
        if file != f"{part}_bindings.cpp":
            found.append(f"cpp/{binding}: expected cpp/{part}/{part}_bindings.cpp")
    return found


def spelling_violations(names: list[str]) -> list[str]:
    """Names whose trailing words spell another registry name with other underscores."""
    found = []
    for long in names:
        words = long.split("_")
        for short in names:
            for start in range(len(words)):
                tail = words[start:]
                if long != short and "".join(tail) == short.replace("_", "") and "_".join(tail) != short:
                    found.append(f"{long}: spells {short!r} as {'_'.join(tail)!r}; one spelling per method")
    return found


def builtin_points() -> dict[str, str]:
    return {ep.name: ep.value for ep in distribution(HARNESS).entry_points if ep.group == GROUP}


def compiled_names(points: dict[str, str]) -> set[str]:
    """Built-in methods that need the compiled core (`requires`), among those that import
    here (an import failure is the conformance tests' to report)."""
    compiled = set()
    for name in points:
        try:
            if CORE in get_method(name).requires:
                compiled.add(name)
        except MethodError:
            continue
    return compiled


def test_every_builtin_method_follows_the_layout_rule() -> None:
    points = builtin_points()
    assert len(points) >= 28
    assert violations(points, compiled_names(points), checkout_tree(REPO)) == []


TREE = Tree(
    families=frozenset({"faiss", "vamana", "acorn", "kannolo"}),
    configs=frozenset({"faiss_hnsw", "filtered_vamana", "acorn_1", "kannolo_acorn_1"}),
    cpp_parts=frozenset({"core", "vamana", "acorn"}),
    bindings=frozenset({"core/core_bindings.cpp", "vamana/vamana_bindings.cpp", "acorn/acorn_bindings.cpp"}),
)
GOOD = {
    "faiss_hnsw": "fanns_bench.methods.faiss.hnsw:FaissHNSW",
    "filtered_vamana": "fanns_bench.methods.vamana.method:FilteredVamana",
    "acorn_1": "fanns_bench.methods.acorn.method:Acorn1",
    "kannolo_acorn_1": "fanns_bench.methods.kannolo.method:KannoloACORN1",
}


def test_a_tree_that_follows_the_rule_passes() -> None:
    assert violations(GOOD, {"filtered_vamana", "acorn_1"}, TREE) == []


@pytest.mark.parametrize(
    ("change", "compiled", "tree_change", "expected"),
    [
        # the folder is neither the first nor the last word of the name
        (
            {"acorn_1": "fanns_bench.methods.vamana.method:Acorn1"},
            set(),
            {},
            "acorn_1: lives in methods/vamana/; its family (first word, else last) is 'acorn'",
        ),
        # the first word wins where both ends name a folder (qdrant_acorn is qdrant's)
        (
            {"kannolo_acorn": "fanns_bench.methods.acorn.method:K"},
            set(),
            {},
            "kannolo_acorn: lives in methods/acorn/",
        ),
        # a package's ACORN-1 spelled otherwise than the harness's acorn_1 (the old name)
        (
            {"kannolo_acorn1": "fanns_bench.methods.kannolo.method:KannoloACORN1"},
            set(),
            {"configs": TREE.configs | {"kannolo_acorn1"}},
            "kannolo_acorn1: spells 'acorn_1' as 'acorn1'; one spelling per method",
        ),
        # a module named neither method.py nor by the last word (the old acorn/reference.py)
        ({"acorn_1": "fanns_bench.methods.acorn.reference:Acorn1"}, set(), {}, "module acorn/reference.py"),
        # the paper-first order keeps its class in method.py
        ({"filtered_vamana": "fanns_bench.methods.vamana.vamana:F"}, set(), {}, "module vamana/vamana.py"),
        # a module outside the methods package, or nested deeper
        ({"acorn_1": "my_package.acorn:Acorn1"}, set(), {}, "is not fanns_bench.methods"),
        ({"acorn_1": "fanns_bench.methods.acorn.x.method:Acorn1"}, set(), {}, "is not fanns_bench.methods"),
        # a registered name without a config, and a config without a registered name
        (
            {"faiss_ivf": "fanns_bench.methods.faiss.ivf:FaissIVF"},
            set(),
            {},
            "no configs/method/faiss_ivf.yaml",
        ),
        ({}, set(), {"configs": TREE.configs | {"old_name"}}, "old_name.yaml: no method registered"),
        # a compiled method without its binding file, a cpp part without a method family
        (
            {},
            {"acorn_1"},
            {"bindings": TREE.bindings - {"acorn/acorn_bindings.cpp"}},
            "no cpp/acorn/acorn_bindings.cpp",
        ),
        ({}, set(), {"cpp_parts": TREE.cpp_parts | {"ung"}}, "cpp/ung/: no method family"),
        (
            {},
            set(),
            {"bindings": TREE.bindings - {"core/core_bindings.cpp"}},
            "cpp/core/: no core_bindings.cpp",
        ),
        (
            {},
            set(),
            {"bindings": TREE.bindings | {"acorn/bindings.cpp"}},
            "expected cpp/acorn/acorn_bindings.cpp",
        ),
    ],
)
def test_each_way_of_breaking_the_rule_is_named(
    change: dict[str, str], compiled: set[str], tree_change: dict[str, frozenset[str]], expected: str
) -> None:
    found = violations(GOOD | change, compiled, replace(TREE, **tree_change))
    assert any(expected in line for line in found), found


def flat_test_files(tests: Path) -> list[str]:
    """Test files directly in `tests/`: each belongs in its part's folder (README "Layout")."""
    return sorted(p.name for p in tests.glob("test_*.py"))


def test_every_test_file_is_in_a_group(tmp_path: Path) -> None:
    assert flat_test_files(REPO / "tests") == []
    (tmp_path / "methods").mkdir()
    (tmp_path / "methods" / "test_x.py").touch()
    (tmp_path / "conftest.py").touch()
    assert flat_test_files(tmp_path) == []
    (tmp_path / "test_methods_x.py").touch()
    assert flat_test_files(tmp_path) == ["test_methods_x.py"]


def test_a_renamed_method_answers_its_old_name_with_a_warning() -> None:
    with pytest.warns(FutureWarning, match="'kannolo_acorn1' is now 'kannolo_acorn_1'"):
        assert get_method("kannolo_acorn1") is get_method("kannolo_acorn_1")
    assert "kannolo_acorn1" not in builtin_points() and "kannolo_acorn_1" in builtin_points()
    assert spelling_violations(["acorn_1", "kannolo_acorn_1", "qdrant_acorn", "acorn_gamma"]) == []
