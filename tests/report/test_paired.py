"""`recommend --grade --paired`: which configurations a cell measures, the paired ratios and
their verdict, and the whole command on a real sweep (router, counting methods, Hydra config)."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest
from omegaconf import OmegaConf

from fanns_bench.cli import main
from fanns_bench.errors import ResultsError
from fanns_bench.methods.router.method import Router
from fanns_bench.recommend.choose import Limits, choose
from fanns_bench.recommend.evaluate import config_keys
from fanns_bench.recommend.paired import (
    COLUMNS,
    Contender,
    build_key,
    built,
    cell_ratios,
    check_one_combination,
    contenders,
    finalist_cells,
    hindsight_lines,
    measure,
    paired_lines,
    run_context,
    table_path,
    with_paired_figures,
)
from fanns_bench.recommend.policy import read_policy, write_policy
from fanns_bench.recommend.watchdog import Watchdog
from fanns_bench.report.frame import choose_qps, load_frame
from fanns_bench.report.quality import with_qps_bounds
from fanns_bench.runner.run import run_sweep
from tests.report.test_recommend import answered_by, row
from tests.sweeps import sweep_config

COUNTING = "tests.fakes:FakeCounting"


def cell_rows():
    """EM 0.1: the router (4,000 QPS, answered by alpha ef 4000), alpha ef 5000 the fastest,
    beta and delta within 75 % of it, epsilon a fourth within (left out: 3 at most), gamma
    below 75 %, zeta fast but below the recall."""
    return [
        {**row("router", 0.1, 0.95, 4000.0, search={}), "method_stats": answered_by('alpha {} {"ef":4000}')},
        row("alpha", 0.1, 0.95, 5000.0, search={"ef": 5000}),
        row("alpha", 0.1, 0.95, 4500.0, search={"ef": 4000}),
        row("beta", 0.1, 0.95, 4000.0),
        row("delta", 0.1, 0.95, 3900.0),
        row("epsilon", 0.1, 0.95, 3800.0),
        row("gamma", 0.1, 0.95, 3000.0),
        row("zeta", 0.1, 0.80, 9000.0),
    ]


def test_a_cell_measures_the_router_its_fastest_singles_its_pick_and_the_admitted():
    frame = pd.DataFrame(cell_rows())
    gamma = frame[frame["method"] == "gamma"]
    cells = contenders(frame, 0.9, admitted=set(config_keys(gamma)))
    chosen = {(c.method, c.search): c.roles for c in cells[("EM", 0.1)]}
    assert chosen == {
        ("router", "{}"): ("router",),
        ("alpha", '{"ef": 5000}'): ("fastest",),
        ("beta", '{"ef": 4000}'): ("fastest",),
        ("delta", '{"ef": 3900}'): ("fastest",),
        ("alpha", '{"ef": 4000}'): ("pick",),
        ("gamma", '{"ef": 3000}'): ("admitted",),
    }
    assert list(chosen)[0] == ("router", "{}")  # the router first
    # no admitted set: no admitted contender; a cell without a router row: not measured
    assert all("admitted" not in c.roles for c in contenders(frame, 0.9)[("EM", 0.1)])
    assert contenders(frame[frame["method"] != "router"], 0.9) == {}


def paired_table(router, others):
    """One cell's paired table: the router's QPS per round, and each other contender's
    (label -> (roles, QPS per round, recall))."""
    rows = [("router {} {}", "router", q, 0.95, n) for n, q in enumerate(router)]
    for label, (roles, qps, recall) in others.items():
        rows += [(label, roles, q, recall, n) for n, q in enumerate(qps)]
    return pd.DataFrame(
        [
            {
                "filter_type": "EM",
                "selectivity_bucket": 0.1,
                "method": label.split(" ")[0],
                "build_params": "{}",
                "search_params": "{}",
                "label": label,
                "roles": roles,
                "round": n,
                "qps": q,
                "recall": recall,
            }
            for label, roles, q, recall, n in rows
        ],
        columns=COLUMNS,
    )


def test_the_paired_ratio_is_the_median_of_each_rounds_ratio_to_the_fastest_reaching_the_recall():
    """alpha is fastest by median (100); the router's rounds give 0.9, 1.0, 0.8: median 0.9
    (quartiles 0.85-0.95); zeta, faster but below the recall, is not the best; beta is the pick."""
    table = paired_table(
        [90.0, 100.0, 80.0],
        {
            "alpha {} {}": ("fastest", [100.0, 100.0, 100.0], 0.95),
            "beta {} {}": ("fastest,pick", [90.0, 95.0, 80.0], 0.95),
            "zeta {} {}": ("fastest", [300.0, 300.0, 300.0], 0.80),
        },
    )
    (cell,) = cell_ratios(table, 0.9)
    assert cell.best.label == "alpha {} {}" and cell.best.qps == 100.0
    assert (cell.best.ratio, cell.best.ratio_low, cell.best.ratio_high) == pytest.approx((0.9, 0.85, 0.95))
    assert cell.pick is not None and cell.pick.method == "beta" and cell.pick.ratio == pytest.approx(1.0)
    assert cell.admitted is None
    by_cpu = table.assign(qps_cpu=table["qps"].where(table["roles"] != "router", 50.0))  # router: 50 by CPU
    (cpu_cell,) = cell_ratios(by_cpu, 0.9)
    assert cpu_cell.best.cpu_ratio == 0.5 and "0.90x [0.85-0.95] (CPU 0.50x)" in cpu_cell.line()
    lines, verdict = paired_lines(table, 0.9)
    assert verdict.holds  # 0.9 is within 10 %
    assert (
        "  EM bucket 0.1: router 90 QPS; best single alpha 100 QPS: 0.90x [0.85-0.95]; its pick beta "
        "90 QPS: 1.00x [1.00-1.03]; recall 0.950 / 0.950"
    ) in lines


def test_the_paired_verdict_fails_on_a_slow_router_and_says_when_the_rounds_overlap_the_band():
    slow = paired_table([80.0, 80.0, 80.0], {"alpha {} {}": ("fastest", [100.0, 100.0, 100.0], 0.95)})
    lines, verdict = paired_lines(slow, 0.9)
    assert not verdict.holds
    assert "DOES NOT HOLD (0 of 1 cells; slower: EM 0.1 0.80x alpha)" in lines[-1]
    fine = paired_table([95.0, 95.0, 95.0], {"alpha {} {}": ("fastest", [100.0, 100.0, 100.0], 0.95)})
    assert paired_lines(fine, 0.9)[1].holds
    _, verdict = paired_lines(fine, 0.9, lost=("R 0.1",))  # a cell the router misses fails (b) too
    assert not verdict.holds
    assert verdict.detail == "1 of 2 cells; the router not reaching the recall: R 0.1"
    spread = paired_table([70.0, 80.0, 110.0], {"alpha {} {}": ("fastest", [100.0, 100.0, 100.0], 0.95)})
    _, verdict = paired_lines(spread, 0.9)
    assert not verdict.holds
    assert "(1 of them with the rounds' upper quartile at or above 0.90: EM 0.1)" in verdict.detail


def test_as_learned_the_router_is_compared_with_the_best_admitted_contender():
    """alpha (not admitted) is 2x the router; gamma (admitted) is 1.05x: (b) fails, as learned holds."""
    table = paired_table(
        [100.0, 100.0, 100.0],
        {
            "alpha {} {}": ("fastest", [200.0, 200.0, 200.0], 0.95),
            "gamma {} {}": ("admitted", [105.0, 105.0, 105.0], 0.95),
        },
    )
    lines, verdict = paired_lines(table, 0.9, learned=True)
    assert not verdict.holds
    assert "slower: EM 0.1 0.50x alpha (hindsight); hindsight: 1 of them, whose best single" in lines[-2]
    assert lines[-1].startswith("also, target (b) paired as learned: QPS within 10% of the best single "
                                "configuration the learning draw admitted")  # fmt: skip
    assert "HOLDS (1 of 1 cells)" in lines[-1]
    assert "; best admitted gamma 105 QPS: 0.95x [0.95-0.95]" in lines[1]
    admitted_best = table.assign(roles=table["roles"].replace({"fastest": "fastest,admitted"}))
    lines, _ = paired_lines(admitted_best, 0.9, learned=True)  # alpha admitted too: no hindsight
    assert lines[-2].endswith("DOES NOT HOLD (0 of 1 cells; slower: EM 0.1 0.50x alpha)")


def test_a_hindsight_cell_shows_its_best_as_the_learning_draw_measured_it():
    """alpha (fastest here, not admitted) had recall 0.88 on the learning draw: its line gives
    that and its bound (z = 1: 0.88 less the standard error of its 4 per-query recalls,
    0.163 / 2); its row in another cell is not it; gamma (admitted) gets no line; no hindsight
    cell, no lines."""
    table = paired_table(
        [100.0, 100.0, 100.0],
        {
            "alpha {} {}": ("fastest", [200.0, 200.0, 200.0], 0.95),
            "gamma {} {}": ("admitted", [105.0, 105.0, 105.0], 0.95),
        },
    )
    per_query = [0.68, 0.88, 0.88, 1.08]  # standard deviation 0.163
    learning = pd.DataFrame(
        [
            {**row("alpha", 0.1, 0.88, 300.0, search={}), "recall_per_query": per_query},
            {**row("gamma", 0.1, 0.97, 90.0, search={}), "recall_per_query": per_query},
            {**row("alpha", 0.1, 0.99, 300.0, filter_type="R", search={}), "recall_per_query": per_query},
        ]
    )
    cells = cell_ratios(table, 0.9)
    lines = hindsight_lines(cells, 0.9, learning, 1.0)
    assert lines[0].startswith("hindsight cells: each one's best single configuration here")
    assert lines[1:] == ["  EM 0.1: alpha {} {}: recall 0.880 (bound 0.798) on the learning draw, 0.950 here"]
    text, _ = paired_lines(table, 0.9, learned=True, learning=learning, recall_z=1.0)
    assert text[-2:] == lines  # after the verdicts
    missing = hindsight_lines(cells, 0.9, learning.iloc[1:], 1.0)[1]
    assert missing == "  EM 0.1: alpha {} {}: not measured on the learning draw, 0.950 here"
    admitted_best = table.assign(roles=table["roles"].replace({"fastest": "fastest,admitted"}))
    assert hindsight_lines(cell_ratios(admitted_best, 0.9), 0.9, learning, 1.0) == []


def router_folders(tmp_path, only_a: bool = False):
    """A policy learned on seed 0 (two counting methods; `only_a`: every route then sent to
    `a`), and a held-out sweep (seed 1) of the router and both methods, with the Hydra config
    the CLI would have kept."""
    methods = {
        "a": {"name": COUNTING, "build": {"reverse": [False]}},
        "b": {"name": COUNTING, "build": {"reverse": [True]}},
    }
    learning = sweep_config(tmp_path / "learn", methods)
    learned = run_sweep(learning).results_dir
    keep_config(learned, learning)
    assert main(["recommend", str(learned), "--recall", "0.9", "--out", str(tmp_path / "p.yaml")]) == 0
    if only_a:
        plan = read_policy(tmp_path / "p.yaml")
        routes = {t: tuple(replace(r, build={"reverse": False}) for r in rs) for t, rs in plan.routes.items()}
        write_policy(replace(plan, routes=routes), tmp_path / "p.yaml")
    router = {"name": "router", "build": {"policy": [str(tmp_path / "p.yaml")]}}
    config = sweep_config(tmp_path / "held", {**methods, "router": router})
    config["workload"]["seed"] = 1
    held = run_sweep(config).results_dir
    return learned, held, keep_config(held, config)


def keep_config(results_dir, config):
    """Write `config` where the Hydra CLI keeps a run's config in its results folder."""
    kept = results_dir / "hydra" / "2026-12-07_00-00-00" / ".hydra" / "config.yaml"
    kept.parent.mkdir(parents=True)
    OmegaConf.save(OmegaConf.create(config), kept)
    return kept


@pytest.mark.slow
def test_the_command_measures_the_cells_in_one_process_and_writes_the_table(tmp_path, capsys, monkeypatch):
    from fanns_bench.recommend import figure as figures

    learned, held, kept = router_folders(tmp_path)
    capsys.readouterr()
    arguments = ["recommend", str(held), "--grade", "--paired", "--paired-rounds", "3"]
    figure = tmp_path / "router_vs_best.png"
    spreads: list[str] = []
    real = figures._handles
    monkeypatch.setattr(figures, "_handles", lambda *a: spreads.append(a[-1]) or real(*a))
    code = main([*arguments, "--learned", str(learned), "--figure", str(figure)])
    text = capsys.readouterr().out
    assert figure.stat().st_size > 10_000 and spreads == ["round"]  # the legend: paired rounds
    assert code in (0, 1)  # the counting methods' speeds decide; the verdict line is there
    assert "target (b) paired: QPS within 10% of the best single configuration" in text
    assert "also, target (b) paired as learned" in text
    table = pd.read_parquet(table_path(held))
    assert set(table["filter_type"]) == {"EM", "R"}
    for _, cell in table.groupby(["filter_type", "selectivity_bucket"]):
        assert (cell.groupby("label")["round"].apply(sorted) == pd.Series([[0, 1, 2]] * cell.label.nunique(),
                index=sorted(cell.label.unique()))).all()  # fmt: skip
        router = cell[cell["roles"].str.contains("router")]
        assert len(router) == 3 and (router["recall"] == 1.0).all()
    assert json.loads(table["build_params"][table["roles"].str.contains("router")].iloc[0]) == {
        "policy": str(tmp_path / "p.yaml")
    }
    # a workload other than the rows' is refused, naming both
    config = OmegaConf.load(kept)
    config.workload.seed = 7
    OmegaConf.save(config, kept)
    assert main(arguments) == 2
    assert "the rows were measured on" in capsys.readouterr().err
    kept.unlink()
    assert main(arguments) == 2
    assert "keeps no Hydra config" in capsys.readouterr().err
    assert main([*arguments, "--runoff", str(tmp_path / "r.args")]) == 2
    assert "pick one" in capsys.readouterr().err
    # a policy chosen on paired figures: the learning folder's finalists measured side by side
    policy = tmp_path / "paired.yaml"
    assert main(["recommend", str(learned), "--paired", "--paired-rounds", "3", "--out", str(policy)]) == 0
    assert "finalists measured side by side in one process, 3 alternating rounds" in capsys.readouterr().out
    assert read_policy(policy).routes and table_path(learned).is_file()


@pytest.mark.slow
def test_a_single_configuration_the_router_holds_is_measured_on_the_routers_own_index(tmp_path):
    """The router against its pick is what routing costs: the pick is the router's member,
    not a second copy built beside it; a configuration it does not hold is built once."""
    _, held, _ = router_folders(tmp_path, only_a=True)
    frame = load_frame(held)
    b_rows = frame[frame["build_params"] == '{"reverse":true}']  # `b` measured whatever its speed
    assert len(b_rows) == 4
    cells = contenders(frame, 0.9, admitted=set(config_keys(b_rows)))
    digest, _ = check_one_combination(frame, held)
    with built(cells, run_context(held, digest), lambda _: None) as methods:
        (router,) = [m for m in methods.values() if isinstance(m, Router)]
        members = router.members()
        assert members and all(methods[key] is member for key, member in members.items())
        singles = {build_key(c) for cs in cells.values() for c in cs if "router" not in c.roles}
        held_ones, others = singles & set(members), singles - set(members)
        assert held_ones and others  # the router holds `a` only; `b` is built beside it
        # the pick is found by its registry name (the routes' spelling), not its key `a`
        (pick,) = {build_key(c) for cs in cells.values() for c in cs if "pick" in c.roles}
        assert pick in held_ones
        assert all(methods[key] is members[key] for key in held_ones)
        assert len({id(m) for m in methods.values()}) == len(methods)  # no key shares another's index
    # a method failing in a search fails the measurement with one error naming it
    broken = {("EM", 0.1): [Contender("tests.fakes:FakeBrokenSearch", "", "", ("fastest",))]}
    context = run_context(held, digest)
    with (
        built(broken, context, lambda _: None) as methods,
        pytest.raises(
            ResultsError,
            match=r"tests.fakes:FakeBrokenSearch \{\} \{\}: a search failed \(RuntimeError: deliberate",
        ),
    ):
        measure(broken, context, methods, 5, rounds=2)
    # a step running past its limit is named (here recorded; the command's watchdog exits)
    slow = {("EM", 0.1): [Contender("tests.fakes:FakeSlow", "", "", ("fastest",))]}
    fired: list[str] = []
    watchdog = Watchdog(0.05, expire=fired.append)
    with built(slow, context, lambda _: None, watchdog) as methods:
        assert not fired  # its build is quick
        measure(slow, context, methods, 5, rounds=1, watchdog=watchdog)
    assert fired and fired[0].startswith(
        "tests.fakes:FakeSlow {} {} (calibration): still running after 0.05 s"
    )


def test_a_paired_choice_keeps_a_cells_measured_finalists_with_the_rounds_figures():
    """EM 0.1: alpha (5,000 QPS alone) and beta (4,000) are the finalists, gamma (3,000) is not;
    side by side beta is faster (rounds 110, 120, 130 against 100 each): the choice goes to beta.
    R 0.1 has one finalist: not measured, its rows kept as they are."""
    rows = [
        row("alpha", 0.1, 0.95, 5000.0),
        row("beta", 0.1, 0.95, 4000.0),
        row("gamma", 0.1, 0.95, 3000.0),
        row("exact", 0.1, 1.0, 600.0, filter_type="R", search={}),
    ]
    frame = with_qps_bounds(choose_qps(pd.DataFrame(rows), "qps"))
    cells = finalist_cells(frame, 0.9, Limits(), 0.0)
    assert {key: [(c.method, c.roles) for c in cs] for key, cs in cells.items()} == {
        ("EM", 0.1): [("alpha", ("fastest",)), ("beta", ("fastest",))]
    }
    table = pd.concat(
        [
            paired_table([], {"alpha {} {}": ("fastest", [100.0, 100.0, 100.0], 0.95)}),
            paired_table([], {"beta {} {}": ("fastest", [110.0, 130.0, 120.0], 0.95)}),
        ]
    )
    table["search_params"] = [json.dumps({"ef": 5000 if m == "alpha" else 4000}) for m in table["method"]]
    paired = with_paired_figures(frame, table)
    assert sorted(zip(paired["method"], paired["filter_type"], strict=True)) == [
        ("alpha", "EM"), ("beta", "EM"), ("exact", "R")
    ]  # fmt: skip
    beta = paired[paired["method"] == "beta"].iloc[0]
    assert (beta["qps"], beta["qps_low"], beta["qps_high"]) == (120.0, 110.0, 130.0)
    assert list(beta["qps_processes"]) == [110.0, 130.0, 120.0] and not beta["noisy"]
    assert paired.loc[paired["method"] == "exact", "qps"].item() == 600.0
    (em, _) = sorted(choose(paired, 0.9, Limits()), key=lambda c: c.filter_type)
    assert em.best.method == "beta" and em.runner_up.method == "alpha"
    assert list(beta["qps_rounds"]) == [110.0, 130.0, 120.0]  # by round number
    assert em.tied and "Wilcoxon p 0.12 over 3 rounds" in em.noise  # 3 rounds: p >= 1/8
