"""Builder `table`: a `datasets` save_to_disk folder, a Parquet file or a CSV as a dataset."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from fanns_bench.cli import main
from fanns_bench.data import embedding
from fanns_bench.data.builders import ensure_dataset
from fanns_bench.data.describe import describe
from fanns_bench.data.embedding import EmbeddingModel
from fanns_bench.data.table import attribute_kinds, build
from fanns_bench.errors import ConfigError, DatasetError
from fanns_bench.filters.predicates import Contains, Eq, Range
from fanns_bench.workloads.workload import WorkloadSpec, generate_workload

ROOT = Path(__file__).resolve().parents[2]
N, DIM = 120, 6


def _vectors(n: int = N, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _columns(n: int = N) -> dict:
    return {
        "id": [f"doc{i}" for i in range(n)],
        "genre": [["rock", "jazz", "folk", "pop"][i % 4] for i in range(n)],
        "year": [1990 + i % 30 for i in range(n)],
        "price": [float(i) / 4 for i in range(n)],
        "released": [dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(n)],
        "tags": [["a", "b", "c"][: 1 + i % 3] for i in range(n)],
        "text": [f"document {i} about {['rock', 'jazz', 'folk', 'pop'][i % 4]}" for i in range(n)],
    }


def _parquet(path: Path, **changes) -> Path:
    columns = {**_columns(), "emb": list(_vectors()), **changes}
    table = pa.table({k: v for k, v in columns.items() if v is not None})
    pq.write_table(table, path)
    return path


def test_parquet_vector_column_with_inferred_kinds_and_seeded_held_out_queries(tmp_path):
    source = _parquet(tmp_path / "t.parquet")
    dataset = build(tmp_path / "ds", "mine", source=str(source), vector_column="emb", query_count=20, seed=3)
    assert (dataset.count, dataset.queries.shape) == (100, (20, DIM))
    assert dataset.attributes.kinds == {
        "id": "categorical",
        "genre": "categorical",
        "year": "ordered",
        "price": "ordered",
        "released": "ordered",
        "tags": "set",
        "text": "categorical",
    }
    ids = dataset.attributes.table.column("id").to_pylist()
    rows = [int(i[3:]) for i in ids]
    assert rows == sorted(rows)  # base items keep the source order
    np.testing.assert_array_equal(dataset.vectors, _vectors()[rows])
    held = sorted(set(range(N)) - set(rows))
    assert len(held) == 20 and {tuple(q) for q in dataset.queries} == {tuple(_vectors()[i]) for i in held}
    again = build(tmp_path / "ds2", "mine", source=str(source), vector_column="emb", query_count=20, seed=3)
    np.testing.assert_array_equal(again.queries, dataset.queries)
    other = build(tmp_path / "ds3", "mine", source=str(source), vector_column="emb", query_count=20, seed=4)
    assert not np.array_equal(other.queries, dataset.queries)
    fewer = build(
        tmp_path / "ds4", "mine", source=str(source), vector_column="emb", query_count=20, seed=3, count=50
    )
    np.testing.assert_array_equal(fewer.queries, dataset.queries)  # nested: same queries, subset of items
    assert set(fewer.attributes.table.column("id").to_pylist()) < set(ids)


def test_csv_with_json_vectors_and_declared_kinds(tmp_path):
    columns = _columns()
    table = pa.table(
        {
            "emb": [json.dumps([float(x) for x in v]) for v in _vectors()],
            "id": columns["id"],
            "genre": columns["genre"],
            "year": columns["year"],
            "day": [d.isoformat() for d in columns["released"]],
            "labels": ["|".join(t) for t in columns["tags"]],
        }
    )
    pacsv.write_csv(table, tmp_path / "t.csv")
    dataset = build(
        tmp_path / "ds",
        "csv",
        source=str(tmp_path / "t.csv"),
        vector_column="emb",
        query_count=10,
        kinds={"year": "categorical", "labels": "set", "day": "ordered"},
        list_separator="|",
    )
    kinds = dataset.attributes.kinds
    assert kinds == {
        "id": "categorical",
        "genre": "categorical",
        "year": "categorical",
        "day": "ordered",
        "labels": "set",
    }
    schema = dataset.attributes.table.schema
    assert schema.field("day").type == pa.date32() and schema.field("year").type == pa.string()
    np.testing.assert_allclose(np.linalg.norm(dataset.vectors, axis=1), 1.0, atol=1e-6)
    rows = [int(i[3:]) for i in dataset.attributes.table.column("id").to_pylist()]
    assert dataset.attributes.table.column("labels").to_pylist() == [columns["tags"][i] for i in rows]
    assert dataset.attributes.count(Contains("labels", "c")) == sum(i % 3 == 2 for i in rows)
    assert dataset.attributes.count(Range("day", "2020-01-01", "2020-01-31")) == sum(i < 31 for i in rows)
    assert dataset.attributes.count(Eq("year", "1995")) == sum(i % 30 == 5 for i in rows)


def test_workload_templates_work_on_table_attributes(tmp_path):
    dataset = build(tmp_path / "ds", "mine", source=str(_parquet(tmp_path / "t.parquet")), vector_column="emb",
                    query_count=20, kinds={"year": "categorical"})  # fmt: skip
    spec = WorkloadSpec.from_config(
        {
            "name": "w",
            "selectivities": [0.1, 0.5],
            "queries_per_bucket": 5,
            "tolerance": 3.0,
            "filters": [
                {"type": "EM", "template": "eq", "attribute": "genre"},
                {"type": "Y", "template": "eq", "attribute": "year"},
                {"type": "R", "template": "range", "attribute": "released"},
                {"type": "EMIS", "template": "contains", "attribute": "tags"},
            ],
        }
    )
    workload = generate_workload(spec, dataset)
    assert set(workload.table["filter_type"]) == {"EM", "Y", "R", "EMIS"}
    for predicate in workload.predicates:
        assert 0 < dataset.attributes.count(predicate) < dataset.count
    assert dataset.attributes.count(Eq("year", 1995)) == dataset.attributes.count(Eq("year", "1995")) > 0


def _fake_model(calls: list, fail_after: int | None = None):
    class Encoder:
        def encode(self, texts, **_options):
            if fail_after is not None and len(calls) >= fail_after:
                raise KeyboardInterrupt
            calls.append(list(texts))
            vectors = np.array([[len(t), sum(map(ord, t)) % 97, 1.0] for t in texts], np.float32)
            return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    class FakeModel(EmbeddingModel):
        def threads(self) -> int:  # torch's count: `make test` installs no torch (the embed extra)
            return 1

    return lambda *args, **kwargs: FakeModel("fake", Encoder(), "cpu", dimension=3, max_seq_length=16)


def _save_to_disk(path: Path) -> Path:
    import datasets

    columns = _columns()
    base = datasets.Dataset.from_dict({k: columns[k] for k in ("text", "genre", "year", "tags")})
    queries = datasets.Dataset.from_dict({"text": [f"query {i}" for i in range(7)]})
    datasets.DatasetDict({"train": base, "test": queries}).save_to_disk(str(path))
    return path


def test_save_to_disk_folder_text_column_query_split_embedding_resumes(tmp_path, monkeypatch):
    folder = _save_to_disk(tmp_path / "hf")
    calls: list = []
    params = dict(source=str(folder), text_column="text", query_split="test", chunk_size=25, progress=False)
    monkeypatch.setattr(embedding, "load_model", _fake_model(calls, fail_after=2))
    with pytest.raises(KeyboardInterrupt):
        build(tmp_path / "ds", "hf", **params)
    assert (tmp_path / "ds.work" / "base.npy").is_file() and len(calls) == 2
    calls.clear()
    monkeypatch.setattr(embedding, "load_model", _fake_model(calls))
    dataset = build(tmp_path / "ds", "hf", **params)
    assert [len(c) for c in calls] == [25, 25, 20, 7]  # chunks 1-2 resumed, not redone
    assert calls[0][0] == "document 50 about folk" and calls[-1][0] == "query 0"
    assert (dataset.count, dataset.dimension, dataset.queries.shape[0]) == (N, 3, 7)
    assert dataset.attributes.kinds == {"genre": "categorical", "year": "ordered", "tags": "set"}
    assert (
        dataset.manifest["queries_from"] == "split 'test'" and dataset.manifest["embedding_model"] == "fake"
    )
    assert not (tmp_path / "ds.work").exists()


def test_save_to_disk_single_dataset_holds_out_queries(tmp_path):
    import datasets

    columns = _columns()
    datasets.Dataset.from_dict(
        {"emb": [list(map(float, v)) for v in _vectors()], "genre": columns["genre"]}
    ).save_to_disk(str(tmp_path / "one"))
    dataset = build(tmp_path / "ds", "one", source=str(tmp_path / "one"), vector_column="emb", query_count=5)
    assert (dataset.count, dataset.queries.shape[0]) == (N - 5, 5)
    with pytest.raises(ConfigError, match="no split 'nope'; it has \\['train', 'test'\\]"):
        build(
            tmp_path / "ds",
            "hf",
            source=str(_save_to_disk(tmp_path / "hf")),
            text_column="text",
            query_split="nope",
        )
    with pytest.raises(ConfigError, match="one dataset without splits"):
        build(tmp_path / "ds", "one", source=str(tmp_path / "one"), vector_column="emb", split="train")


BAD = [
    ({"attributes": ["genre", "nope"]}, {}, "no column 'nope'"),
    ({"vector_column": "vectors"}, {}, "no column 'vectors'"),
    ({"kinds": {"missing": "set"}}, {}, "no column 'missing'"),
    ({}, {"emb": [None, *list(_vectors())[1:]]}, "vector column 'emb', row 0: no vector"),
    (
        {},
        {"emb": [*list(_vectors())[:7], np.full(DIM, np.nan, np.float32), *list(_vectors())[8:]]},
        "row 7: NaN",
    ),
    (
        {},
        {"emb": [*list(_vectors())[:4], _vectors()[4][:3], *list(_vectors())[5:]]},
        "row 4: 3 numbers; expected",
    ),
    ({"dimension": 8}, {}, "row 0: 6 numbers; expected dimension 8"),
    ({}, {"emb": list(_vectors() * 2)}, "row 0: norm 2.0000; metric 'ip' needs unit vectors"),
    ({}, {"price": [*[0.5] * 9, float("nan"), *[0.5] * (N - 10)]}, "column 'price', row 9: NaN"),
    (
        {},
        {"year": [*["1999"] * 5, "n/a", *["2001"] * (N - 6)]},
        "column 'year' mixes types: row 0 holds '1999'",
    ),
    ({"kinds": {"genre": "ordered"}}, {}, "column 'genre', row 0: 'rock' does not parse"),
    ({"kinds": {"genre": "set"}}, {}, "to read it as a set of labels, give list_separator"),
    (
        {"kinds": {"tags": "ordered"}},
        {},
        "column 'tags' (list<element: string>, set) cannot be read as ordered",
    ),
    ({"kinds": {"year": "numeric"}}, {}, "kinds.year = 'numeric'; expected one of"),
    ({"attributes": ["nested"]}, {"nested": [{"a": 1}] * N}, "column 'nested' has type struct"),
    ({"text_column": "text"}, {}, "give exactly one of text_column and vector_column"),
    ({"vector_column": None, "text_column": "year"}, {}, "text column 'year' has type int64"),
    ({"query_count": N}, {}, f"{N} rows; need more than query_count={N}"),
    ({"count": 0}, {}, "count=0 must be >= 1"),
    ({"split": "train"}, {}, "a parquet file has no splits"),
    ({"batchsize": 8}, {}, "unknown table parameter(s) ['batchsize']"),
    ({"source": "/no/such/file.parquet"}, {}, "file not found"),
    ({"source": "notes.txt"}, {}, "expected a .parquet or .csv file"),
]


@pytest.mark.parametrize(("params", "changes", "message"), BAD)
def test_bad_columns_are_one_error_naming_column_and_row(tmp_path, monkeypatch, params, changes, message):
    monkeypatch.setattr(embedding, "load_model", _fake_model([]))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("not a table")
    source = _parquet(tmp_path / "t.parquet", **changes)
    with pytest.raises((DatasetError, ConfigError)) as raised:
        build(
            tmp_path / "ds",
            "bad",
            **{"source": str(source), "vector_column": "emb", "query_count": 10, **params},
        )
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert not (tmp_path / "ds").exists()


def test_null_text_is_an_error_naming_the_row(tmp_path, monkeypatch):
    monkeypatch.setattr(embedding, "load_model", _fake_model([]))
    source = _parquet(tmp_path / "t.parquet", text=[*["x"] * 3, None, *["y"] * (N - 4)])
    with pytest.raises(DatasetError, match="text column 'text', row 3: no text"):
        build(tmp_path / "ds", "bad", source=str(source), text_column="text", query_count=10)


def test_describe_prints_kinds_top_values_and_quantiles(tmp_path):
    columns = _columns()
    pq.write_table(
        pa.table({"emb": list(_vectors()), "genre": columns["genre"], "released": columns["released"],
                  "tags": columns["tags"], "note": [None if i % 4 else "x" for i in range(N)]}),
        tmp_path / "t.parquet",
    )  # fmt: skip
    dataset = build(
        tmp_path / "ds", "d", source=str(tmp_path / "t.parquet"), vector_column="emb", query_count=20
    )
    lines = describe(dataset)
    rows = {line.split()[0]: line for line in lines[2:] if line and not line.startswith(" ")}
    genre = dataset.attributes.table.column("genre").to_pylist()
    top = max(set(genre), key=lambda g: (genre.count(g), -sorted(set(genre)).index(g)))
    assert rows["genre"].split()[1:4] == ["categorical", "0.0%", "4"]
    assert f"'{top}' {genre.count(top) / 100:.3g}" in rows["genre"]
    tags = dataset.attributes.table.column("tags").to_pylist()
    assert f"'a' {sum('a' in t for t in tags) / 100:.3g}" in rows["tags"] and rows["tags"].split()[1] == "set"
    released = sorted(dataset.attributes.table.column("released").to_pylist())
    assert (
        f"min {released[0].isoformat()}" in rows["released"]
        and f"max {released[-1].isoformat()}" in rows["released"]
    )
    assert f"50% {released[49].isoformat()}" in rows["released"]
    nulls = dataset.attributes.table.column("note").null_count / 100
    assert rows["note"].split()[2] == f"{nulls:.1%}" and "'x' " in rows["note"]
    assert "  {type: tags, template: contains, attribute: tags}" in lines


def test_cli_describe_builds_from_the_config_and_bad_columns_end_in_one_line(tmp_path, monkeypatch, capsys):
    source = _parquet(tmp_path / "t.parquet")
    monkeypatch.setenv("FANNS_BENCH_ROOT", str(tmp_path))
    monkeypatch.chdir(ROOT)
    args = [
        "datasets",
        "describe",
        "table",
        f"dataset.params.source={source}",
        "dataset.params.query_count=20",
    ]
    assert main([*args, "dataset.params.vector_column=emb"]) == 0
    out = capsys.readouterr().out
    assert "dataset 'table': 100 vectors x 6 (ip), 20 queries; builder table" in out
    assert (tmp_path / "datasets" / "table" / "manifest.json").is_file()
    assert main(["datasets", "describe", str(tmp_path / "datasets" / "table")]) == 0
    assert "genre" in capsys.readouterr().out
    assert main([*args, "dataset.params.vector_column=genre"]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: dataset 'table'")
    assert "vector column 'genre', row 0: 'rock' is not a list of numbers" in errors[0]
    assert "Traceback" not in err and "Logging error" not in err


def test_validate_reads_the_kinds_of_a_local_table_before_it_is_built(tmp_path):
    source = _parquet(tmp_path / "t.parquet")
    kinds = attribute_kinds({"source": str(source), "vector_column": "emb", "kinds": {"year": "categorical"}})
    assert kinds["year"] == "categorical" and kinds["tags"] == "set" and "emb" not in kinds
    assert attribute_kinds({"source": "someone/hub-dataset"}) is None


def test_ensure_dataset_rebuilds_a_table_when_its_parameters_change(tmp_path):
    source = str(_parquet(tmp_path / "t.parquet"))
    params = {"source": source, "vector_column": "emb", "query_count": 20}
    first = ensure_dataset("t", "table", params, tmp_path)
    again = ensure_dataset("t", "table", params, tmp_path)
    assert again.content_hash == first.content_hash
    changed = ensure_dataset("t", "table", {**params, "query_count": 30}, tmp_path)
    assert changed.queries.shape[0] == 30


def test_validate_checks_workload_filters_against_a_table_and_accepts_hub_names(tmp_path, monkeypatch):
    from fanns_bench.validate import validate_config

    source = _parquet(tmp_path / "t.parquet")
    monkeypatch.setenv("FANNS_BENCH_ROOT", str(tmp_path))
    monkeypatch.chdir(ROOT)
    table = ["experiment=smoke", "dataset=table", "dataset.params.vector_column=emb"]
    filters = "workload.filters=[{type: X, template: range, attribute: genre}, {type: none, template: none}]"
    problems = [str(p) for p in validate_config([*table, f"dataset.params.source={source}", filters])]
    assert any("template 'range' cannot apply to categorical attribute 'genre'" in p for p in problems)
    good = filters.replace("range", "eq")
    assert not [
        p for p in validate_config([*table, f"dataset.params.source={source}", good]) if p.level == "error"
    ]
    hub = [str(p) for p in validate_config([*table, "dataset.params.source=someone/their-dataset", good])]
    assert not any("does not exist" in p for p in hub)
    missing = [
        str(p) for p in validate_config([*table, f"dataset.params.source={tmp_path}/none.parquet", good])
    ]
    assert any("params.source" in p and "does not exist" in p for p in missing)


def test_ensure_dataset_rebuilds_a_table_whose_source_file_was_edited(tmp_path):
    source = _parquet(tmp_path / "t.parquet")
    params = {"source": str(source), "vector_column": "emb", "query_count": 20}
    first = ensure_dataset("t", "table", params, tmp_path)
    _parquet(source, genre=["blues"] * N)
    edited = ensure_dataset("t", "table", params, tmp_path)
    assert set(edited.attributes.table.column("genre").to_pylist()) == {"blues"}
    assert edited.content_hash != first.content_hash


def test_describe_cuts_long_values_keeping_both_ends(tmp_path):
    urls = [f"http://creativecommons.org/licenses/{kind}/4.0/" for kind in ("by", "by-sa", "by-nc")]
    pq.write_table(
        pa.table({"emb": list(_vectors()), "license": [urls[i % 3] for i in range(N)]}),
        tmp_path / "t.parquet",
    )
    dataset = build(
        tmp_path / "ds", "d", source=str(tmp_path / "t.parquet"), vector_column="emb", query_count=20
    )
    line = next(line for line in describe(dataset) if line.startswith("license"))
    assert (
        "'http://creativecom...icenses/by-sa/4.0/'" in line
        and "'http://creativecom...icenses/by-nc/4.0/'" in line
    )
