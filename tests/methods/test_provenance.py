"""Rows of a method installed from a local folder or in editable mode key on its code, so a
fix without a version bump gives new rows instead of reusing the old code's (issue 22 item 9)."""

from __future__ import annotations

import json
import sys

import pytest

from fanns_bench.methods import registry
from fanns_bench.methods.provenance import code_hash
from fanns_bench.runner.plan import build_jobs

METHOD = """
from fanns_bench.methods.exact.method import ExactPrefilter


class DevExact(ExactPrefilter):
    name = "dev_exact"
"""


def install(site, direct_url: dict | None):
    """A plugin `dev_plugin` (method `dev_exact`) as pip lays it out, optionally with the
    PEP 610 record pip writes for `pip install ./folder` or `pip install -e .`."""
    package = site / "dev_plugin"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "method.py").write_text(METHOD)
    info = site / "dev_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: dev-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[fanns_bench.methods]\ndev_exact = dev_plugin.method:DevExact\n")
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url))
    return package


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    (tmp_path / "site").mkdir()
    registry._entry_points.cache_clear()
    code_hash.cache_clear()
    yield tmp_path / "site"
    registry._entry_points.cache_clear()
    code_hash.cache_clear()
    for name in [m for m in sys.modules if m.startswith("dev_plugin")]:
        del sys.modules[name]


def keys() -> set[str]:
    jobs = build_jobs({"dev_exact": {}}, [("EM", 0.1)], [10], [1], "data", "workload")
    return {p.key for job in jobs for p in job.points}


@pytest.mark.parametrize("editable", [True, False])
def test_a_code_change_of_a_locally_installed_plugin_gives_new_keys(site, editable):
    package = install(site, {"url": f"file://{site}", "dir_info": {"editable": editable}})
    name, version = registry.method_distribution("dev_exact")
    assert name == "dev-plugin" and version.startswith("0.1+code.")
    before = keys()
    (package / "method.py").write_text(METHOD + "\n# fix: a bug\n")
    code_hash.cache_clear()  # a new process (each run) hashes afresh
    assert registry.method_distribution("dev_exact")[1] != version
    assert keys().isdisjoint(before)


def test_a_plugin_installed_from_an_index_keys_on_its_version(site):
    package = install(site, None)
    assert registry.method_distribution("dev_exact") == ("dev-plugin", "0.1")
    before = keys()
    (package / "method.py").write_text(METHOD + "\n# same version\n")
    code_hash.cache_clear()
    assert keys() == before
