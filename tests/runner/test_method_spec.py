"""The plan looks each method up once and carries it with its jobs (issue 20)."""

from __future__ import annotations

import pickle

from fanns_bench.methods import registry
from fanns_bench.methods.exact.method import ExactPrefilter
from fanns_bench.runner.plan import MethodSpec, build_jobs


def test_the_plan_looks_a_method_up_once_for_all_its_jobs(monkeypatch):
    calls = []
    real = registry.get_method
    monkeypatch.setattr(registry, "get_method", lambda name: calls.append(name) or real(name))
    methods = {"exact": {"build": {}, "search": {}}}
    jobs = build_jobs(methods, [("EM", 0.1), ("R", 0.5)], [10], [1, 2], "data", "workload", builds=3)
    assert len(jobs) == 3 and calls == ["exact"]
    assert {id(job.method) for job in jobs} == {id(jobs[0].method)}
    assert jobs[0].method.load() is ExactPrefilter and calls == ["exact"]


def test_a_spec_pickles_as_data_and_a_worker_looks_the_class_up_once(monkeypatch):
    spec = MethodSpec.of("exact")
    copy = pickle.loads(pickle.dumps(spec))
    assert copy == spec and copy.cls is None  # facts travel, the class does not
    assert (copy.threading, copy.package) == (ExactPrefilter.threading, "fanns-bench")
    calls = []
    real = registry.get_method
    monkeypatch.setattr(registry, "get_method", lambda name: calls.append(name) or real(name))
    assert copy.load() is ExactPrefilter and copy.load() is ExactPrefilter and calls == ["exact"]


def test_a_method_revision_changes_its_version_and_keys():
    from fanns_bench.runner.plan import MethodSpec, measurement_key

    ours, ref = MethodSpec.of("exact"), MethodSpec.of("acorn_gamma_ref")
    assert "+r" not in ours.version and ref.version.endswith("+r2")
    assert MethodSpec.of("acorn_gamma").version.endswith("+r1")
    point = dict(dataset_hash="d", workload_digest="w", method_key="m", build_params={}, search_params={},
                 threads=1, filter_type="EM", bucket=0.1, k=10)  # fmt: skip
    assert measurement_key(**point, method_version=ours.method_version) != measurement_key(
        **point, method_version=ref.method_version
    )


def test_a_wrapped_librarys_version_is_part_of_the_key():
    """A faiss upgrade under faiss_hnsw measures it again instead of reusing its rows."""
    import dataclasses

    from fanns_bench.runner.plan import measurement_key

    spec = MethodSpec.of("faiss_hnsw")
    assert spec.libraries.startswith("faiss-cpu==") and spec.method_version.endswith(spec.libraries)
    assert MethodSpec.of("exact").libraries == "" and MethodSpec.of("acorn_gamma").libraries == ""
    upgraded = dataclasses.replace(spec, libraries="faiss-cpu==99.0")
    point = dict(dataset_hash="d", workload_digest="w", method_key="m", build_params={}, search_params={},
                 threads=1, filter_type="EM", bucket=0.1, k=10)  # fmt: skip
    assert measurement_key(**point, method_version=upgraded.method_version) != measurement_key(
        **point, method_version=spec.method_version
    )
