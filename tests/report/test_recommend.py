"""`fanns-bench recommend`: per bucket choices, limits, noise ties, merged ranges, the policy file."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from fanns_bench.cli import main
from fanns_bench.errors import ConfigError
from fanns_bench.recommend.choose import Limits, choose, recall_lower_bound
from fanns_bench.recommend.evaluate import verdicts
from fanns_bench.recommend.policy import Policy, Route, read_policy, write_policy
from fanns_bench.recommend.rules import merge
from fanns_bench.report.frame import choose_qps
from fanns_bench.report.quality import with_qps_bounds
from fanns_bench.results.row_files import write_row
from tests.report.test_outputs import make_row

SHAPES = {"EM": "eq(category)", "R": "range(score)"}


def row(method, bucket, recall, qps, *, filter_type="EM", low=None, high=None, search=None, k=10, **sizes):
    """One ok row; its QPS interval [low, high] defaults to the point itself (no spread)."""
    search = {"ef": int(qps)} if search is None else search
    base = make_row(method, bucket, recall, qps, {}, **sizes)
    return {
        **base,
        "key": f"{filter_type}-k{k}-{method}-{bucket}-{json.dumps(search, sort_keys=True)}".replace('"', ""),
        "search_params": json.dumps(search, sort_keys=True),
        "filter_type": filter_type,
        "k": k,
        "qps_min": low or qps,
        "qps_best": high or qps,
        "filter_shapes": [SHAPES[filter_type]],
        "method_name": method,
    }


NO_LIMITS = Limits()


def choices(rows, recall=0.9, limits=NO_LIMITS):
    frame = with_qps_bounds(choose_qps(pd.DataFrame(rows), "qps"))
    return {(c.filter_type, c.bucket): c for c in choose(frame, recall, limits)}


def test_the_fastest_method_reaching_the_recall_wins():
    rows = [row("alpha", 0.1, 0.95, 1000.0), row("beta", 0.1, 0.85, 5000.0), row("gamma", 0.1, 0.92, 800.0)]
    choice = choices(rows)[("EM", 0.1)]
    assert (choice.best.method, choice.runner_up.method, choice.reached) == ("alpha", "gamma", True)
    assert choices(rows, recall=0.8)[("EM", 0.1)].best.method == "beta"  # beta reaches 0.8 and is faster
    unreached = choices(rows, recall=0.99)[("EM", 0.1)]
    assert (unreached.best.method, unreached.reached) == ("alpha", False)  # the highest recall, marked


def test_limits_exclude_the_fastest_and_say_so():
    rows = [
        row("alpha", 0.1, 0.95, 1000.0, index_bytes=8_000_000_000, build_seconds=2.0),
        row("gamma", 0.1, 0.92, 800.0, index_bytes=1_000_000, build_seconds=100.0),
        row("delta", 0.1, 0.93, 500.0, index_bytes=1_000_000, build_seconds=1.0),
    ]
    assert choices(rows)[("EM", 0.1)].best.method == "alpha"
    memory = choices(rows, limits=Limits(memory_bytes=4e9))[("EM", 0.1)]
    assert (memory.best.method, memory.excluded) == ("gamma", ("alpha",))
    both = choices(rows, limits=Limits(memory_bytes=4e9, build_seconds=10.0))[("EM", 0.1)]
    assert (both.best.method, both.runner_up, both.excluded) == ("delta", None, ("alpha", "gamma"))
    assert choices(rows, limits=Limits(build_seconds=10.0))[("EM", 0.1)].best.method == "alpha"


def test_overlapping_qps_intervals_are_a_tie():
    best = row("alpha", 0.1, 0.95, 1000.0, low=900.0, high=1100.0)
    close = choices([best, row("gamma", 0.1, 0.92, 950.0, low=920.0, high=980.0)])[("EM", 0.1)]
    assert close.tied and close.margin == pytest.approx(1000 / 950)
    apart = choices([best, row("gamma", 0.1, 0.92, 850.0, low=800.0, high=880.0)])[("EM", 0.1)]
    assert not apart.tied


def test_a_noisy_row_or_a_single_repetition_is_within_the_noise():
    best = row("alpha", 0.1, 0.95, 1000.0, low=950.0, high=1050.0)
    runner_up = row("gamma", 0.1, 0.92, 700.0, low=680.0, high=720.0)
    assert choices([best, runner_up])[("EM", 0.1)].noise == ""  # apart, both quiet, 3 repetitions
    noisy = {**runner_up, "noisy": True, "noisy_reason": "load 2.5 above 1.2"}
    choice = choices([best, noisy])[("EM", 0.1)]
    assert choice.tied and choice.noise == "gamma flagged noisy: load 2.5 above 1.2"
    single = {**best, "batch_seconds": [0.1]}
    assert choices([single, runner_up])[("EM", 0.1)].noise == "one repetition: no spread measured"


def test_a_recall_margin_picks_a_configuration_whose_recall_bound_reaches_the_target():
    spread = {"recall_per_query": [1.0] * 31 + [0.6] * 9}  # recall 0.91, standard error 0.027
    steady = {"recall_per_query": [1.0] * 34 + [0.8] * 6}  # recall 0.97, standard error 0.011
    rows = [{**row("alpha", 0.1, 0.91, 5000.0), **spread}, {**row("beta", 0.1, 0.97, 2000.0), **steady}]
    assert choices(rows)[("EM", 0.1)].best.method == "alpha"
    frame = with_qps_bounds(choose_qps(pd.DataFrame(rows), "qps"))
    margin = {(c.filter_type, c.bucket): c for c in choose(frame, 0.9, NO_LIMITS, recall_z=2.0)}[("EM", 0.1)]
    assert (margin.best.method, margin.margin_kept) == ("beta", True)
    assert margin.best.recall_low == pytest.approx(0.97 - 2 * 0.011, abs=0.002)
    # 40 queries on two predicates: two independent draws, a wider bound (0.91 - 0.169 / sqrt 2)
    few = with_qps_bounds(choose_qps(pd.DataFrame([{**rows[0], "distinct_predicates": 2}, rows[1]]), "qps"))
    assert choose(few, 0.9, NO_LIMITS, recall_z=0.3)[0].best.method == "beta"  # bound 0.874
    assert recall_lower_bound(few, 1.0).iloc[0] == pytest.approx(0.91 - 0.1692 / math.sqrt(2), abs=0.002)
    assert recall_lower_bound(few.assign(distinct_predicates=1), 1.0).iloc[0] == pytest.approx(
        0.91 - 0.1692 / math.sqrt(40), abs=0.002
    )
    one = few.assign(distinct_predicates=1)  # one predicate, the same in every draw: 40 draws, bound 0.902
    assert choose(one, 0.9, NO_LIMITS, recall_z=0.3)[0].best.method == "alpha"
    alone = with_qps_bounds(choose_qps(pd.DataFrame(rows[:1]), "qps"))
    fallback = choose(alone, 0.9, NO_LIMITS, recall_z=2.0)[0]  # no bound reaches: the fastest at the recall
    assert (fallback.best.method, fallback.reached, fallback.margin_kept) == ("alpha", True, False)


def test_neighbouring_buckets_with_the_same_choice_merge_into_a_range():
    rows = [
        *(row("exact", b, 1.0, 3000.0, search={}) for b in (0.001, 0.01, 0.1, 0.5)),
        *(
            row("alpha", b, 0.95, q, search={"ef": 64})
            for b, q in ((0.001, 100.0), (0.01, 900.0), (0.1, 5000.0))
        ),
        row("alpha", 0.5, 0.95, 9000.0, search={"ef": 64}),
    ]
    rules = merge(list(choices(rows).values()))
    assert [(r.best.method, r.buckets) for r in rules] == [("exact", (0.001, 0.01)), ("alpha", (0.1, 0.5))]
    assert rules[0].max_selectivity == pytest.approx(math.sqrt(0.01 * 0.1))
    assert (rules[1].min_selectivity, rules[1].max_selectivity) == (rules[0].max_selectivity, 1.0)
    apart = [r for r in rows if not (r["method"] == "alpha" and r["selectivity_bucket"] == 0.5)]
    # exact wins 0.001, 0.01 and 0.5, alpha 0.1: the two exact runs are not neighbours
    assert [r.buckets for r in merge(list(choices(apart).values()))] == [(0.001, 0.01), (0.1,), (0.5,)]
    other_ef = [{**r, "search_params": '{"ef": 128}'} if r["selectivity_bucket"] == 0.5 else r for r in rows]
    assert len(merge(list(choices(other_ef).values()))) == 3  # same method, other search parameters


POLICY = Policy(
    routes={
        "EM": (
            Route(0.0316, "exact", {}, {}, (0.001, 0.01)),
            Route(1.0, "ung", {"max_degree": 32}, {"L_search": 50}, (0.1, 0.5)),
        ),
        "R": (Route(1.0, "serf", {"attribute": "day"}, {"ef_search": 64}, (0.1,)),),
    },
    shapes={"EM": ("eq(category)",), "R": ("range(day)",)},
    recall=0.9,
    source="results/x",
    limits={"memory_gb": 4.0, "build_s": None},
)


def test_the_policy_file_round_trips(tmp_path):
    path = write_policy(POLICY, tmp_path / "p.yaml", header="a comment\nover two lines")
    assert path.read_text().startswith("# a comment\n# over two lines\n")
    assert read_policy(path) == POLICY
    assert read_policy(path).route("EM", 0.02).method == "exact"
    assert read_policy(path).route("EM", 0.04).method == "ung"
    assert read_policy(path).route("R", 0.9).method == "serf"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "recall: 0.9\nfilter_types: {EM: {routes: []}}",
            "filter_types.EM.routes: expected a non-empty list",
        ),
        (
            "recall: 0.9\nfilter_types: {EM: {routes: [{max_selectivity: 0.5, method: a}, "
            "{max_selectivity: 0.1, method: b}]}}",
            "max_selectivity must increase from route to route, got [0.5, 0.1]",
        ),
        ("recall: 0.9\nfilter_types: {EM: {routes: [{max_selectivity: 1}]}}", "routes[0].method: expected"),
        ("recall: high\nfilter_types: {EM: {routes: [{max_selectivity: 1, method: a}]}}", "recall: expected"),
        (
            "recall: 0.9\nfilter_types: {EM: {shapes: [x], routes: [{max_selectivity: 1, method: a}]}, "
            "R: {shapes: [x], routes: [{max_selectivity: 1, method: a}]}}",
            "predicate form 'x' is listed under filter types 'EM' and 'R'",
        ),
        ("recall: [", "not valid YAML"),
        ("[1, 2]", "expected a mapping"),
        (
            "recall: 0.9\ncommits: abc\nfilter_types: {EM: {routes: [{max_selectivity: 1, method: a}]}}",
            "commits: expected a list of commit ids, got 'abc'",
        ),
    ],
)
def test_a_malformed_policy_is_one_error_naming_the_field(tmp_path, text, message):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        read_policy(path)
    assert message in str(error.value) and str(error.value).startswith(f"policy {path}")
    assert "\n" not in str(error.value)


def test_a_missing_policy_file_is_one_error(tmp_path):
    with pytest.raises(ConfigError, match=r"policy .*nope.yaml: cannot read it"):
        read_policy(tmp_path / "nope.yaml")


def folder(path, rows):
    for one in rows:
        write_row(path, one)
    return path


CLI_ROWS = [
    row("exact", 0.01, 1.0, 3000.0, search={}, low=2900.0, high=3100.0),
    row("alpha", 0.01, 0.95, 2950.0, low=2800.0, high=3050.0),
    row("exact", 0.1, 1.0, 400.0, search={}),
    row("alpha", 0.1, 0.95, 5000.0),
    row("serf", 0.1, 0.91, 7000.0, filter_type="R", index_bytes=9_000_000_000),
    row("exact", 0.1, 1.0, 600.0, filter_type="R", search={}),
]


def test_the_command_prints_rules_and_writes_the_policy(tmp_path, capsys):
    results, out = folder(tmp_path / "r", CLI_ROWS), tmp_path / "policy.yaml"
    assert main(["recommend", str(results), "--memory-gb", "4", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "recall >= 0.9 (lower bound: recall - 1 x its standard error); limits: memory <= 4 GB" in text
    assert (
        "EM:\n  selectivity <= 0.0316: exact\n    bucket 0.01: 3,000 QPS [2,900-3,100], recall 1.000" in text
    )
    assert 'runner-up alpha search {"ef":2950} 2,950 QPS [2,800-3,050], recall 0.950: tied' in text
    assert '  selectivity > 0.0316: alpha search {"ef":5000}\n' in text
    assert "12.50x, beyond the measured noise" in text
    assert "R:\n  every selectivity: exact\n" in text and "over the limits: serf" in text
    policy = read_policy(out)
    assert [(r.method, r.max_selectivity) for r in policy.routes["EM"]] == [
        ("exact", pytest.approx(math.sqrt(0.001))),
        ("alpha", 1.0),
    ]
    assert policy.shapes == {"EM": ("eq(category)",), "R": ("range(score)",)}
    assert policy.routes["EM"][1].search == {"ef": 5000} and policy.limits == {
        "memory_gb": 4.0,
        "build_s": None,
    }
    assert policy.commits == ("0123456789abcdef",)  # the code its rows were measured with
    assert main(["recommend", str(results)]) == 0
    assert "serf" in capsys.readouterr().out.split("R:")[1].split("\n")[1]  # without the limit, serf wins R


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    code = main(["recommend", str(tmp_path / "missing")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "no such results directory" in err
    mixed = folder(tmp_path / "mixed", [*CLI_ROWS, row("exact", 0.1, 1.0, 300.0, search={}, k=100)])
    code = main(["recommend", str(mixed), "--out", str(tmp_path / "p.yaml")])
    err = capsys.readouterr().err
    assert code == 2 and "2 (dataset, k, threads) combinations" in err and err.count("\n") == 1
    assert not (tmp_path / "p.yaml").exists()
    assert main(["recommend", str(mixed), "--k", "10", "--out", str(tmp_path / "p.yaml")]) == 0
    for flag, value in (("--recall", "2"), ("--memory-gb", "-1")):
        with pytest.raises(SystemExit) as exit_info:
            main(["recommend", str(mixed), flag, value])
        assert exit_info.value.code == 2


GRADED = [
    row("exact", 0.01, 1.0, 3000.0, search={}),
    row("router", 0.01, 1.0, 2900.0, search={}),
    row("exact", 0.1, 1.0, 400.0, search={}),
    row("alpha", 0.1, 0.95, 5000.0),
    row("alpha", 0.01, 0.95, 1000.0),
    row("router", 0.1, 0.95, 4000.0, search={}),
    row("exact", 0.1, 1.0, 600.0, filter_type="R", search={}),
]


def test_grade_compares_the_router_per_cell_and_over_the_workload(tmp_path, capsys):
    missed = folder(
        tmp_path / "missed", [*GRADED, row("router", 0.1, 0.5, 9000.0, filter_type="R", search={})]
    )
    assert main(["recommend", str(missed), "--grade"]) == 1  # a target does not hold
    text = capsys.readouterr().out
    assert "  EM bucket 0.01: router 2,900 QPS; best single exact 3,000 QPS: 0.97x" in text
    assert "  EM bucket 0.1: router 4,000 QPS; best single alpha 5,000 QPS: 0.80x" in text
    assert "  R bucket 0.1: router no row reaching the recall; best single exact 600 QPS" in text
    assert "cells a single method reaches: 3; the router reaches 2, within 10% of the best in 1" in text
    assert (
        "whole workload (each method's fastest configuration reaching the recall per cell): exact 667 QPS"
        in text
    )
    assert "not reaching the recall in every cell: alpha (1 cell), router (1 cell)" in text
    assert "R:\n  every selectivity: exact\n" in text  # the router's own rows are never recommended
    reached = folder(
        tmp_path / "reached", [*GRADED, row("router", 0.1, 0.95, 700.0, filter_type="R", search={})]
    )
    assert main(["recommend", str(reached), "--grade"]) == 1  # EM 0.1 at 0.80x: (b) does not hold
    text = capsys.readouterr().out
    assert "the router reaches 3, within 10% of the best in 2" in text
    assert "per cell): router 1,483 QPS; exact 667 QPS" in text
    assert "R:\n  every selectivity: exact\n" in text


HOLDING = [
    row("exact", 0.01, 1.0, 3000.0, search={}),
    row("router", 0.01, 1.0, 2900.0, search={}),
    row("alpha", 0.01, 0.95, 1000.0),
    row("exact", 0.1, 1.0, 400.0, search={}),
    row("alpha", 0.1, 0.95, 5000.0),
    row("router", 0.1, 0.95, 4800.0, search={}),
    row("exact", 0.1, 1.0, 600.0, filter_type="R", search={}),
    row("router", 0.1, 0.95, 700.0, filter_type="R", search={}),
]


def holds(rows):
    frame = with_qps_bounds(choose_qps(pd.DataFrame(rows), "qps"))
    return [v.holds for v in verdicts(frame, 0.9)]


def test_each_target_verdict_holds_and_fails_on_its_own():
    assert holds(HOLDING) == [True, True, True]
    missed = [r for r in HOLDING if not (r["method"] == "router" and r["filter_type"] == "R")]
    missed.append(row("router", 0.1, 0.5, 9000.0, filter_type="R", search={}))
    assert holds(missed)[0] is False  # (a): R 0.1 below the recall
    slow = [{**r, "qps": 4000.0, "qps_min": 4000.0, "qps_best": 4000.0} if r["method"] == "router" and
            r["selectivity_bucket"] == 0.1 and r["filter_type"] == "EM" else r for r in HOLDING]  # fmt: skip
    assert holds(slow) == [True, False, True]  # (b): EM 0.1 at 0.80x alpha
    # beta answers every cell a little faster than the router (within 10 %): only (c) fails
    beta = [
        row("beta", 0.01, 0.95, 3000.0),
        row("beta", 0.1, 0.95, 5000.0),
        row("beta", 0.1, 0.95, 750.0, filter_type="R"),
    ]
    assert holds([*HOLDING, *beta]) == [True, True, False]
    # a method answering every cell but below the recall in one has no total: not counted
    weak = [
        row("beta", 0.01, 0.5, 9000.0),
        row("beta", 0.1, 0.95, 5000.0),
        row("beta", 0.1, 0.95, 750.0, filter_type="R"),
    ]
    assert holds([*HOLDING, *weak]) == [True, True, True]


def test_grade_prints_verdicts_exits_1_when_one_fails_and_draws_the_figure(tmp_path, capsys):
    good = folder(tmp_path / "good", HOLDING)
    figure = tmp_path / "fig" / "router.png"
    assert main(["recommend", str(good), "--grade", "--figure", str(figure)]) == 0
    text = capsys.readouterr().out
    assert "target (a) recall: HOLDS (the router reaches recall 0.9 in 3 of the 3 cells" in text
    assert (
        "target (c) whole-workload throughput above every single method answering every filter type: HOLDS"
        in text
    )
    assert "router 1,514 QPS" in text and "best single exact 667 QPS" in text
    assert figure.stat().st_size > 10_000 and figure.read_bytes()[:4] == b"\x89PNG"
    beta = [
        row("beta", 0.01, 0.95, 3000.0),
        row("beta", 0.1, 0.95, 5000.0),
        row("beta", 0.1, 0.95, 750.0, filter_type="R"),
    ]
    losing = folder(tmp_path / "losing", [*HOLDING, *beta])
    assert main(["recommend", str(losing), "--grade"]) == 1
    assert (
        "target (c) whole-workload throughput above every single method answering every filter type: DOES NOT HOLD"
        in capsys.readouterr().out
    )
    assert main(["recommend", str(good), "--figure", str(figure)]) == 2  # --figure needs --grade
    assert "add --grade" in capsys.readouterr().err
    other = {
        **row("router", 0.1, 0.95, 9000.0, filter_type="R", search={}),
        "build_params": '{"policy":"b.yaml"}',
    }
    mixed = folder(tmp_path / "mixed", [*HOLDING, other])
    assert main(["recommend", str(mixed), "--grade"]) == 2  # two policies' router rows: not pooled
    assert "router's rows come from 2 build configurations" in capsys.readouterr().err


def test_grade_notes_a_policy_learned_on_rows_of_other_code(tmp_path, capsys):
    """The router's policy records its rows' commits; held-out rows of another commit get a
    note (a cost the code changed is in the held-out rows only); the same commit, none."""
    for name, commits in (("other", ["feedface"]), ("same", ["0123456789abcdef"]), ("unrecorded", [])):
        policy = write_policy(
            Policy(POLICY.routes, POLICY.shapes, 0.9, commits=tuple(commits)), tmp_path / name
        )
        graded = [
            {**r, "build_params": json.dumps({"policy": str(policy)})} if r["method"] == "router" else r
            for r in HOLDING
        ]
        assert main(["recommend", str(folder(tmp_path / f"rows-{name}", graded)), "--grade"]) == 0
        text = capsys.readouterr().out
        note = (
            "note: the policy was learned on rows measured at feedface, these rows at 0123456789abcdef: "
            "what changed between them in a method's cost is in these rows only"
        )
        assert (note in text) == (name == "other"), name


def answered_by(route: str, rows: int = 40) -> str:
    """A router row's counters: every query answered by `route` (`method {build} {search}`)."""
    return json.dumps({f"queries {route}": float(rows)})


def test_grade_says_whether_a_slow_cell_is_the_policys_pick_or_the_routing(tmp_path, capsys):
    """EM 0.1: the router answered with alpha ef 4000 (alone 4,500 QPS, 0.90x the best,
    alpha ef 5000) at 4,000 QPS, beyond the repetitions' spread; R 0.1: it answered with
    exact, the best, at 0.60x of it, within the spread; EM 0.01 (0.97x) gets no line."""
    rows = [
        *(r for r in GRADED if r["method"] != "router"),
        row("alpha", 0.1, 0.95, 4500.0, search={"ef": 4000}, low=4400.0, high=4600.0),
        {**row("router", 0.01, 1.0, 2900.0, search={}), "method_stats": answered_by("exact {} {}")},
        {
            **row("router", 0.1, 0.95, 4000.0, search={}, low=3900.0, high=4100.0),
            "method_stats": answered_by('alpha {} {"ef":4000}'),
        },
        {
            **row("router", 0.1, 1.0, 360.0, filter_type="R", search={}, low=300.0, high=700.0),
            "method_stats": answered_by("exact {} {}"),
        },
    ]
    assert main(["recommend", str(folder(tmp_path / "r", rows)), "--grade"]) == 1
    text = capsys.readouterr().out
    assert (
        "  EM bucket 0.1: router 4,000 QPS; best single alpha 5,000 QPS: 0.80x\n"
        "    answered by alpha, alone here 4,500 QPS: the policy's pick is 0.90x the best; the router "
        '0.89x its pick alone (beyond the measured noise); pick: alpha {} {"ef":4000}\n'
    ) in text
    assert (
        "    answered by exact, alone here 600 QPS: the policy's pick is 1.00x the best; the router "
        "0.60x its pick alone (within the measured noise); pick: exact {} {}\n"
    ) in text
    assert "  EM bucket 0.01: router 2,900 QPS; best single exact 3,000 QPS: 0.97x\n  EM bucket 0.1" in text
    # a pick with no row of its own in the cell says so
    lone = [r for r in rows if not (r["method"] == "alpha" and r["search_params"] == '{"ef": 4000}')]
    assert main(["recommend", str(folder(tmp_path / "lone", lone)), "--grade"]) == 1
    assert (
        'answered by alpha {} {"ef":4000}; that configuration has no row of its own'
        in capsys.readouterr().out
    )
    # a config key other than the registry name (`alpha_tuned: {name: alpha}`): the route
    # spells the name, and the pick is still found by it
    keyed = [{**r, "method": "alpha_tuned"} if r["method"] == "alpha" else r for r in rows]
    assert main(["recommend", str(folder(tmp_path / "keyed", keyed)), "--grade"]) == 1
    assert (
        "answered by alpha, alone here 4,500 QPS: the policy's pick is 0.90x the best"
        in capsys.readouterr().out
    )


def test_grade_learned_compares_with_what_the_learning_draw_admitted(tmp_path, capsys):
    """Held out, alpha ef 5000 is the best at recall 0.95; on the learning draw it had 0.85, so
    no choice made there could take it: beside beta (admitted there), the router holds (b) as
    learned, not (b) itself; a slower router fails both."""
    learning = folder(
        tmp_path / "learn",
        [
            row("alpha", 0.1, 0.85, 5200.0, search={"ef": 5000}),
            row("beta", 0.1, 0.97, 3100.0, search={"ef": 64}),
        ],
    )
    held = [
        row("alpha", 0.1, 0.95, 5000.0, search={"ef": 5000}),
        row("beta", 0.1, 0.96, 3000.0, search={"ef": 64}),
    ]
    fast = folder(tmp_path / "fast", [*held, row("router", 0.1, 0.96, 2900.0, search={})])
    assert main(["recommend", str(fast), "--grade", "--learned", str(learning), "--recall-z", "0"]) == 1
    text = capsys.readouterr().out
    assert "target (b) QPS within 10% of the best single method per cell: DOES NOT HOLD" in text
    assert (
        "also, target (b) as learned: QPS within 10% of the best single configuration the learning "
        "draw admitted: HOLDS (1 of 1 cells where one reaches the recall here)"
    ) in text
    slow = folder(tmp_path / "slow", [*held, row("router", 0.1, 0.96, 2000.0, search={})])
    assert main(["recommend", str(slow), "--grade", "--learned", str(learning), "--recall-z", "0"]) == 1
    assert (
        "draw admitted: DOES NOT HOLD (0 of 1 cells where one reaches the recall here; slower: EM 0.1 0.67x beta)"
        in (capsys.readouterr().out)
    )
    assert main(["recommend", str(slow), "--learned", str(learning)]) == 2
    assert "--learned adds to the --grade comparison: add --grade" in capsys.readouterr().err


def test_rows_of_several_processes_are_judged_by_their_processes():
    """A runoff's rows: their repetitions' min-max spans every process's draw and overlaps;
    the processes' QPS decide (one-sided Mann-Whitney, p < 0.05)."""
    apart = {"qps_processes": [1000.0, 1020.0, 980.0, 1010.0, 902.0]}  # one slow process
    behind = {"qps_processes": [900.0, 910.0, 890.0, 905.0, 895.0]}
    best = {**row("alpha", 0.1, 0.95, 1000.0, low=650.0, high=1100.0), **apart}
    other = {**row("gamma", 0.1, 0.92, 900.0, low=600.0, high=1000.0), **behind, "noisy": True}
    choice = choices([best, other])[("EM", 0.1)]
    assert choice.noise == ""  # 23 of the 25 pairs in alpha's favour: p = 0.016, though flagged noisy
    mixed = {**other, "qps_processes": [990.0, 1015.0, 890.0, 905.0, 895.0]}
    tied = choices([best, mixed])[("EM", 0.1)]
    assert (
        tied.noise.startswith("processes' QPS not apart: Mann-Whitney p 0.") and "over 5 and 5" in tied.noise
    )
    two = {**other, "qps_processes": [900.0, 910.0]}  # fewer than 3: the repetitions decide
    assert choices([best, two])[("EM", 0.1)].noise == "QPS intervals overlap"


def test_rows_measured_in_paired_rounds_are_judged_round_for_round():
    """Paired rounds (`recommend --paired`): the host moves every row of a round together, so
    the rounds are pairs. alpha is 5 % faster than gamma in each of 15 rounds whose level drifts
    2x: apart (Wilcoxon), though as independent samples (Mann-Whitney) the rounds overlap. The
    same rounds with gamma ahead in 7 of them: a tie; a round missing from one row is skipped."""
    levels = [1000.0 + 70.0 * i for i in range(15)]
    alpha = {"qps_rounds": [q * 1.05 for q in levels], "qps_processes": [q * 1.05 for q in levels]}
    gamma = {"qps_rounds": levels, "qps_processes": levels}
    best = {**row("alpha", 0.1, 0.95, 1000.0, low=650.0, high=1100.0), **alpha}
    other = {**row("gamma", 0.1, 0.92, 900.0, low=600.0, high=1000.0), **gamma}
    assert choices([best, other])[("EM", 0.1)].noise == ""
    independent = {k: v for k, v in other.items() if k != "qps_rounds"}
    assert "Mann-Whitney" in choices([{**best, "qps_rounds": None}, independent])[("EM", 0.1)].noise
    mixed = [q * (0.95 if i % 2 else 1.05) for i, q in enumerate(levels)]  # 5 % behind gamma in 7 rounds
    tied = choices([{**best, "qps_rounds": mixed}, other])[("EM", 0.1)]
    assert tied.noise.startswith("paired rounds not apart: Wilcoxon p 0.") and "over 15 rounds" in tied.noise
    gap = {**best, "qps_rounds": [math.nan, *alpha["qps_rounds"][1:]]}
    assert choices([gap, other])[("EM", 0.1)].noise == ""
    assert (
        "over 14 rounds" in choices([{**gap, "qps_rounds": [math.nan, *mixed[1:]]}, other])[("EM", 0.1)].noise
    )


def test_the_figure_legend_says_what_the_routers_bars_span():
    """The runner's repetitions, or (`--paired`) the paired rounds."""
    from fanns_bench.recommend.figure import _handles

    def router_label(spread: str) -> str:
        return [h.get_label() for h in _handles(None, 0.1, spread)][1]

    assert router_label("round").endswith("(bars: slowest to fastest round)")
    assert router_label("repetition").endswith("(bars: slowest to fastest repetition)")
