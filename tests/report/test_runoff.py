"""`recommend --runoff`: each cell's finalists, the run that measures them again, `run @FILE`."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from fanns_bench.cli import expand_argument_files, main
from fanns_bench.configs import compose
from fanns_bench.errors import ResultsError
from fanns_bench.recommend.choose import Limits
from fanns_bench.recommend.runoff import finalists, read_arguments, runoff_arguments, runoff_dir
from fanns_bench.report.frame import choose_qps
from fanns_bench.report.quality import with_qps_bounds
from tests.report.test_recommend import answered_by, folder, row


def frame_of(rows) -> pd.DataFrame:
    return with_qps_bounds(choose_qps(pd.DataFrame(rows), "qps"))


def kept(rows, **options) -> set[tuple[str, float, str]]:
    chosen = finalists(frame_of(rows), 0.9, **options)
    return set(zip(chosen["method"], chosen["selectivity_bucket"], chosen["search_params"], strict=True))


RACE = [  # EM 0.1: five methods reaching 0.9, one not; each method's fastest reaching row counts
    row("alpha", 0.1, 0.95, 1000.0),
    row("alpha", 0.1, 0.85, 4000.0),  # faster, below the recall
    row("beta", 0.1, 0.92, 900.0),
    row("gamma", 0.1, 0.97, 800.0, index_bytes=8_000_000_000),
    row("delta", 0.1, 0.93, 760.0),
    row("epsilon", 0.1, 0.99, 700.0),  # below 0.75 x 1000
    row("zeta", 0.1, 0.50, 9000.0),  # never reaches
]


def test_finalists_are_the_fastest_within_a_quarter_of_the_best_three_at_most():
    assert kept(RACE) == {
        ("alpha", 0.1, '{"ef": 1000}'),
        ("beta", 0.1, '{"ef": 900}'),
        ("gamma", 0.1, '{"ef": 800}'),
    }
    # a limit takes gamma out, delta moves up; epsilon stays out (700 < 750)
    within = kept(RACE, limits=Limits(memory_bytes=4e9))
    assert {m for m, _, _ in within} == {"alpha", "beta", "delta"}
    # a cell where nothing reaches the recall has no finalist
    assert kept([row("zeta", 0.1, 0.5, 9000.0), row("eta", 0.1, 0.6, 100.0)]) == set()


def test_a_policys_finalists_follow_its_recall_margin():
    """With z = 2, alpha's recall bound (0.91 - 2 x 0.027) misses 0.9: beta leads alone."""
    spread = {"recall_per_query": [1.0] * 31 + [0.6] * 9}
    steady = {"recall_per_query": [1.0] * 34 + [0.8] * 6}
    rows = [{**row("alpha", 0.1, 0.91, 5000.0), **spread}, {**row("beta", 0.1, 0.97, 2000.0), **steady}]
    assert {m for m, _, _ in kept(rows)} == {"alpha"}  # beta at 0.4x is no finalist
    assert {m for m, _, _ in kept(rows, recall_z=2.0)} == {"beta"}


def test_a_grades_finalists_add_the_router_its_pick_and_close_workload_rivals():
    rows = [
        *RACE,
        row("epsilon", 0.1, 0.99, 300.0, search={"ef": 30}),
        {**row("router", 0.1, 0.99, 950.0, search={}), "method_stats": answered_by('epsilon {} {"ef":30}')},
    ]
    grade = kept(rows, grade=True, limits=Limits(memory_bytes=1.0))  # limits do not apply to a grade
    assert grade == {
        ("alpha", 0.1, '{"ef": 1000}'),
        ("beta", 0.1, '{"ef": 900}'),
        ("gamma", 0.1, '{"ef": 800}'),
        ("router", 0.1, "{}"),
        ("epsilon", 0.1, '{"ef": 30}'),  # the pick, at 0.3x
        ("delta", 0.1, '{"ef": 760}'),  # a workload rival within 0.75x of the router (epsilon's 700 is not)
    }
    assert ("router", 0.1, "{}") not in kept(rows)  # a policy's runoff never measures the router
    fast_router = [*rows[:-1], {**rows[-1], "qps": 2000.0}]  # rivals under 1,500 QPS stay out
    assert {m for m, _, _ in kept(fast_router, grade=True)} == {"alpha", "beta", "gamma", "router", "epsilon"}


def hydra_run(results, name: str, overrides: list[str]) -> None:
    folder = results / "hydra" / name / ".hydra"
    folder.mkdir(parents=True)
    (folder / "overrides.yaml").write_text(yaml.safe_dump(overrides))


def test_the_runoff_run_is_the_folders_command_narrowed_to_the_finalists(tmp_path):
    rows = [
        row("ung", 0.1, 0.95, 3000.0, search={"L_search": 20, "entry_points": "first"}),
        row("ung", 0.1, 0.99, 1000.0, search={"L_search": 100, "entry_points": "first"}),
        row("ung", 0.1, 0.999, 300.0, search={"L_search": 500, "entry_points": "first"}),
        row("ung", 0.01, 0.93, 900.0, search={"L_search": 100, "entry_points": "first"}),
        row("ung", 0.01, 0.95, 800.0, search={"L_search": 500, "entry_points": "first"}),
        row("pgvector", 0.1, 0.97, 2800.0, search={"ef_search": 40, "iterative_scan": "off"}),
        row("pgvector", 0.1, 0.99, 200.0, search={"ef_search": 40, "iterative_scan": "relaxed_order"}),
        row("exact", 0.01, 1.0, 100.0, search={}),
    ]
    results = folder(tmp_path / "laptop", rows)
    hydra_run(
        results, "1", ["experiment=laptop", f"paths.results={results}", "workload.queries_per_bucket=30"]
    )
    hydra_run(results, "2", ["experiment=laptop", "method=[ung]", "runner.force=true"])  # a resumed run
    frame = frame_of(rows)
    arguments = runoff_arguments(frame, finalists(frame, 0.9), results, processes=3)
    assert arguments == [
        "experiment=laptop",
        "workload.queries_per_bucket=30",
        f"paths.results={tmp_path / 'laptop-runoff'}",
        "method=[pgvector,ung]",  # exact (0.11x ung at 0.01) is no finalist
        "method.pgvector.search.iterative_scan=['off']",  # quoted: a string, not YAML's false
        "method.ung.search.L_search=[20,100]",  # each cell's fastest reaching; entry_points not swept
        "runner.processes=3",
        "runner.repetitions=9",
    ]
    assert runoff_dir(results) == tmp_path / "laptop-runoff"
    # the arguments compose: the experiment's other settings kept, the grids narrowed
    config = compose(arguments)
    assert sorted(config["method"]) == ["pgvector", "ung"]
    assert config["method"]["ung"]["search"]["L_search"] == [20, 100]
    assert config["method"]["pgvector"]["search"]["iterative_scan"] == ["off"]
    assert config["workload"]["queries_per_bucket"] == 30
    assert (config["runner"]["processes"], config["runner"]["repetitions"]) == (3, 9)


def test_runs_of_a_folder_that_disagree_or_rows_without_a_command_line(tmp_path):
    rows = [row("alpha", 0.1, 0.95, 1000.0)]
    frame = frame_of(rows)
    bare = folder(tmp_path / "bare", rows)
    assert runoff_arguments(frame, frame, bare, 1)[0] == "experiment=test"  # from the rows
    mixed = folder(tmp_path / "mixed", rows)
    hydra_run(mixed, "1", ["experiment=laptop", "workload.seed=0"])
    hydra_run(mixed, "2", ["experiment=laptop", "workload.seed=1"])
    with pytest.raises(ResultsError, match=r"its runs differ on workload.seed \(workload.seed=0 in .*/1/"):
        runoff_arguments(frame, frame, mixed, 1)
    with pytest.raises(ResultsError, match="no cell has a configuration to measure again"):
        runoff_arguments(frame, frame.iloc[:0], bare, 1)


def test_recommend_writes_the_runoff_and_run_reads_it(tmp_path, capsys):
    results = folder(tmp_path / "r", RACE)
    hydra_run(results, "1", ["experiment=laptop", "method.alpha.name=exact"])
    args = tmp_path / "runoff.args"
    assert main(["recommend", str(results), "--runoff", str(args), "--runoff-processes", "2"]) == 0
    out = capsys.readouterr().out
    assert "runoff: 3 rows in 1 cells (alpha, beta, gamma) to measure again in 2 fresh processes each" in out
    assert f"  fanns-bench run @{args}\n  fanns-bench recommend {tmp_path / 'r-runoff'} --recall 0.9" in out
    text = args.read_text()
    assert text.startswith(f"# the runoff of {results} (policy)") and "runner.repetitions=6\n" in text
    assert read_arguments(args)[0] == "experiment=laptop"  # the header is skipped
    assert expand_argument_files(["--force", f"@{args}", "x=1"]) == ["--force", *read_arguments(args), "x=1"]
    with pytest.raises(SystemExit) as stopped:
        main(["recommend", str(results), "--runoff", str(args), "--runoff-processes", "0"])
    assert stopped.value.code == 2
    assert "expected 1 or more" in capsys.readouterr().err
    assert main(["run", f"@{tmp_path / 'missing.args'}"]) == 2
    assert f"error: @{tmp_path / 'missing.args'}: cannot read the argument file" in capsys.readouterr().err
