"""The example plugin (examples/ivf_prefilter_plugin) as a user installs it: out of tree, found
through its entry point, its config beside its module, conformance and a run by name."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fanns_bench.results.row_files import load_results

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "ivf_prefilter_plugin"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The plugin installed with pip into a folder of its own (no network, no dependencies)."""
    source = tmp_path_factory.mktemp("source") / "ivf_prefilter_plugin"
    shutil.copytree(EXAMPLE, source)  # builds write into the source tree: keep the checkout clean
    target = tmp_path_factory.mktemp("site")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, "--no-index", "--target", str(target), str(source)], check=True, timeout=300)
    return target


def cli(site: Path, root: Path, *arguments: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "FANNS_BENCH_ROOT": str(root),
        "FANNS_BENCH_CONFIGS": str(REPO / "configs"),
    }
    return subprocess.run(
        [sys.executable, "-m", "fanns_bench.cli", *arguments],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_list_shows_the_plugin_and_its_package(site, tmp_path):
    result = cli(site, tmp_path, "list")
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("ivf_prefilter "))
    assert line.split()[1] == "yes"
    assert "fanns-bench-ivf-prefilter 0.1.0" in result.stdout
    params = cli(site, tmp_path, "list", "--params", "ivf_prefilter")
    assert "  nprobe: int = 4 (>= 1): lists scanned per query" in params.stdout


def test_the_plugin_passes_conformance(site, tmp_path):
    result = cli(site, tmp_path, "conformance", "ivf_prefilter")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ivf_prefilter conforms" in result.stdout
    assert "deterministic build: always: two builds on 2 thread(s) returned identical ids" in result.stdout


def test_validate_finds_the_plugin_config_and_its_typos(site, tmp_path):
    assert cli(site, tmp_path, "validate", "smoke", "method=[ivf_prefilter]").returncode == 0
    typo = cli(
        site,
        tmp_path,
        "validate",
        "smoke",
        "method=[ivf_prefilter]",
        "+method.ivf_prefilter.search.nprob=[2]",
    )
    assert typo.returncode == 1
    assert "unknown search parameter 'nprob' (did you mean 'nprobe'?)" in typo.stdout


def test_a_run_by_name_records_the_plugin_package(site, tmp_path):
    result = cli(
        site, tmp_path, "run", "smoke", "method=[exact,ivf_prefilter]", "workload.selectivities=[0.5]"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = load_results(tmp_path / "results" / "smoke")
    assert set(rows.method) == {"exact", "ivf_prefilter"} and set(rows.status) == {"ok"}
    plugin = rows[rows.method == "ivf_prefilter"]
    assert set(plugin.method_package) == {"fanns-bench-ivf-prefilter"}
    (version,) = set(plugin.method_version)  # pip installed it from a local folder: keyed on its code too
    assert version.startswith("0.1.0+code.") and len(version) == len("0.1.0+code.") + 12
    assert set(rows[rows.method == "exact"].method_package) == {"fanns-bench"}
    assert set(plugin.search_params) == {'{"nprobe":1}', '{"nprobe":4}', '{"nprobe":16}'}
