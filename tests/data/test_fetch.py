"""`fanns-bench datasets fetch` against a local stand-in of the Hub (127.0.0.1, HF_ENDPOINT)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fanns_bench.cli import main
from fanns_bench.data.fetch import PARTIAL_SUFFIX, FetchSpec, fetch, file_checksum
from fanns_bench.errors import ConfigError, DatasetError
from tests.data.hub_standin import COMMIT, HubStandIn
from tests.data.test_published import published  # noqa: F401 - the published-files fixture

REPO = "SPCL/arxiv-for-fanns-small"
ROOT = Path(__file__).resolve().parents[2]
REQUIRED = ("database_vectors.fvecs", "query_vectors.fvecs", "database_attributes.jsonl")


def _spec(files=REQUIRED, optional=(), revision="main") -> FetchSpec:
    return FetchSpec(REPO, revision, tuple(files), tuple(optional))


@pytest.fixture
def hub(published, monkeypatch):  # noqa: F811
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    standin = HubStandIn(REPO, {p.name: p.read_bytes() for p in sorted(published.iterdir())})
    server, endpoint = standin.start()
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    yield standin
    server.shutdown()
    server.server_close()


def _gets(hub: HubStandIn, name: str) -> list[str | None]:
    return [r for method, path, r in hub.requests if method == "GET" and path.endswith("/" + name)]


def test_fetch_downloads_verifies_and_records_the_commit(hub, tmp_path):
    lines: list[str] = []
    files = fetch(
        _spec(optional=("ground_truth_em.ivecs", "no_such_file.ivecs")), tmp_path / "d", say=lines.append
    )
    assert [f.name for f in files] == [*REQUIRED, "ground_truth_em.ivecs"]
    for remote in files:
        assert (tmp_path / "d" / remote.name).read_bytes() == hub.files[remote.name]
        assert remote.url.endswith(f"/resolve/{COMMIT}/{remote.name}")
    state = json.loads((tmp_path / "d" / "fetch.json").read_text())
    assert state["commit"] == COMMIT and set(state["verified"]) == {f.name for f in files}
    assert {f.checksum.partition(":")[0] for f in files} == {"sha256", "git-sha1"}  # LFS and small
    assert "still to download" in lines[0] and not list((tmp_path / "d").glob("*" + PARTIAL_SUFFIX))
    hub.requests.clear()
    fetch(_spec(), tmp_path / "d", say=lines.append)  # verified files are not downloaded again
    assert not [r for r in hub.requests if r[0] == "GET"]


def test_a_dropped_connection_resumes_with_a_range_request(hub, tmp_path):
    """huggingface_hub writes 10 MiB chunks: a connection dropped after the first one resumes there."""
    big = np.random.default_rng(0).bytes(12 << 20)
    hub.files["big.bin"] = big
    hub.cut_after = 11 << 20
    fetch(_spec(files=("big.bin",)), tmp_path / "d", say=lambda line: None)
    assert _gets(hub, "big.bin") == [None, f"bytes={10 << 20}-"]
    assert (tmp_path / "d" / "big.bin").read_bytes() == big


def test_a_rerun_after_an_interruption_resumes_the_partial_file(hub, tmp_path):
    name = "database_vectors.fvecs"
    target = tmp_path / "d"
    target.mkdir()
    (target / (name + PARTIAL_SUFFIX)).write_bytes(hub.files[name][:1000])
    lines: list[str] = []
    fetch(_spec(), target, say=lines.append)
    assert _gets(hub, name) == ["bytes=1000-"]
    assert (target / name).read_bytes() == hub.files[name]
    assert any("resuming" in line for line in lines)


def test_a_corrupted_download_is_refused_and_removed(hub, tmp_path):
    hub.corrupt = {"database_vectors.fvecs"}
    with pytest.raises(DatasetError, match="checksum sha256:.* differs from the Hub's"):
        fetch(_spec(), tmp_path / "d", say=lambda line: None)
    assert not (tmp_path / "d" / "database_vectors.fvecs").exists()
    assert not (tmp_path / "d" / ("database_vectors.fvecs" + PARTIAL_SUFFIX)).exists()


def test_files_of_another_commit_are_fetched_afresh(hub, tmp_path):
    fetch(_spec(), tmp_path / "d", say=lambda line: None)
    name = "database_vectors.fvecs"
    (tmp_path / "d" / (name + PARTIAL_SUFFIX)).write_bytes(b"old")
    hub.commit = "f" * 40
    hub.files[name] = hub.files[name][::-1]
    hub.requests.clear()
    lines: list[str] = []
    fetch(_spec(), tmp_path / "d", say=lines.append)
    assert "from commit 0123456789" in lines[0] and "fetching ffff" in lines[0]
    assert _gets(hub, name) == [None] and (tmp_path / "d" / name).read_bytes() == hub.files[name]


def test_a_download_shorter_than_the_hubs_size_is_refused(hub, tmp_path):
    hub.short = {"query_vectors.fvecs"}
    with pytest.raises(DatasetError, match="download failed .*should be of size"):
        fetch(_spec(), tmp_path / "d", say=lambda line: None)
    assert not (tmp_path / "d" / "query_vectors.fvecs").exists()


def test_a_corrupted_partial_file_is_refused_too(hub, tmp_path):
    name = "database_attributes.jsonl"
    target = tmp_path / "d"
    target.mkdir()
    (target / (name + PARTIAL_SUFFIX)).write_bytes(b"X" * 100)  # not the file's first 100 bytes
    with pytest.raises(DatasetError, match="differs from the Hub's"):
        fetch(_spec(), target, say=lambda line: None)
    assert not (target / name).exists()


def test_missing_required_file_gated_repo_and_offline_mode_are_one_line_errors(hub, tmp_path, monkeypatch):
    with pytest.raises(DatasetError, match="no file 'nothing.fvecs' on the Hub"):
        fetch(_spec(files=("nothing.fvecs",)), tmp_path / "d", say=lambda line: None)
    with pytest.raises(DatasetError, match="no revision 'v9'"):
        fetch(_spec(revision="v9"), tmp_path / "d", say=lambda line: None)
    hub.gated = True
    with pytest.raises(DatasetError, match="is gated: accept its conditions"):
        fetch(_spec(), tmp_path / "d", say=lambda line: None)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(DatasetError, match="HF_HUB_OFFLINE is set"):
        fetch(_spec(), tmp_path / "d", say=lambda line: None)


def test_not_enough_disk_space_is_refused_before_anything_is_written(hub, tmp_path, monkeypatch):
    import shutil

    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda path: real(path)._replace(free=100))
    lines: list[str] = []
    with pytest.raises(DatasetError, match="not enough disk space: .* needed .* 0.0 MB free"):
        fetch(_spec(), tmp_path / "d", say=lines.append)
    assert "still to download" in lines[0]
    assert not (tmp_path / "d").exists() and not [r for r in hub.requests if r[0] == "GET"]


def test_a_second_fetch_into_the_same_folder_is_refused(hub, tmp_path):
    from filelock import FileLock

    from fanns_bench.data.fetch import LOCK_FILE

    (tmp_path / "d").mkdir()
    with FileLock(tmp_path / "d" / LOCK_FILE), pytest.raises(DatasetError, match="another fetch is writing"):
        fetch(_spec(), tmp_path / "d", say=lambda line: None)
    assert not [r for r in hub.requests if r[0] == "GET"]
    fetch(_spec(), tmp_path / "d", say=lambda line: None)  # once the other has ended


def test_the_checksum_of_a_small_file_is_its_git_blob_sha1(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"hello\n")
    assert file_checksum(path, "git-sha1") == "git-sha1:ce013625030ba8dba906f756967f9e9ca394464a"


def test_a_config_without_a_fetch_block_says_what_can_be_fetched():
    with pytest.raises(ConfigError, match="has nothing to fetch"):
        FetchSpec.from_config("synthetic_small", None)


def test_cli_fetch_downloads_and_converts_once(hub, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FANNS_BENCH_ROOT", str(tmp_path))
    monkeypatch.setenv("ARXIV_FOR_FANNS", str(tmp_path / "downloads"))
    monkeypatch.chdir(ROOT)
    assert main(["datasets", "fetch", "arxiv_published_small"]) == 0
    out = capsys.readouterr().out
    assert f"commit {COMMIT}" in out and "converted: 40 x 8 vectors, 6 queries" in out
    store = tmp_path / "datasets" / "arxiv_published_small"
    assert sorted(p.name for p in (store / "workloads").iterdir())[0] == "paper_em.parquet"
    assert np.load(store / "vectors.npy").shape == (40, 8)


def test_cli_fetch_killed_midway_resumes_on_the_rerun(tmp_path):
    """The real interruption: the fetch process is killed during a slow download, then rerun."""
    files = tmp_path / "hub"
    files.mkdir()
    big = np.random.default_rng(1).bytes(24 << 20)
    (files / "database_vectors.fvecs").write_bytes(big)
    (files / "query_vectors.fvecs").write_bytes(b"q" * 2000)
    (files / "database_attributes.jsonl").write_bytes(b"{}\n")
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "data" / "hub_standin.py"), str(files), REPO, "0", "0.01"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        endpoint = server.stdout.readline().split(" at ")[1].strip()
        env = {**os.environ, "HF_ENDPOINT": endpoint, "ARXIV_FOR_FANNS": str(tmp_path / "dl"),
               "FANNS_BENCH_ROOT": str(tmp_path), "HF_HUB_DISABLE_PROGRESS_BARS": "1"}  # fmt: skip
        env.pop("HF_HUB_OFFLINE", None)
        command = [sys.executable, "-m", "fanns_bench.cli", "datasets", "fetch", "arxiv_published_small"]
        command.append("--download-only")
        first = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        partial = tmp_path / "dl" / "arxiv-for-fanns-small" / ("database_vectors.fvecs" + PARTIAL_SUFFIX)
        deadline = time.time() + 60
        while time.time() < deadline and not (partial.is_file() and partial.stat().st_size > 0):
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait()
        kept = partial.stat().st_size
        assert 0 < kept < len(big)
        second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr
        assert "database_vectors.fvecs: resuming at" in second.stdout
        assert (tmp_path / "dl" / "arxiv-for-fanns-small" / "database_vectors.fvecs").read_bytes() == big
    finally:
        server.terminate()
        server.wait()
