"""`fanns-bench run|plot|report|compare|recommend|list|validate|conformance|datasets|fidelity`."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from functools import partial
from pathlib import Path

from fanns_bench.errors import FannsBenchError
from fanns_bench.fidelity import command as fidelity_command
from fanns_bench.recommend import command as recommend_command

log = logging.getLogger("fanns_bench")


class _StderrHandler(logging.StreamHandler):
    """Log lines to whatever `sys.stderr` is when a line is written (a handler bound to the
    stream of its first call writes into a closed stream once that stream is replaced,
    as when `main` is called again inside one process)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _configure_logging() -> None:
    """Warnings and up as bare lines on stderr; fanns_bench's own INFO lines too (once)."""
    root = logging.getLogger()
    for logger in (root, log):  # e.g. Hydra's handlers of an earlier in-process run, stream closed since
        for handler in list(logger.handlers):
            if getattr(getattr(handler, "stream", None), "closed", False):
                logger.removeHandler(handler)
    if not any(isinstance(handler, _StderrHandler) for handler in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.WARNING)
    log.setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["run"]:
        return _run(argv[1:])
    parser = _parser()
    arguments = parser.parse_args(argv)
    if not getattr(arguments, "command", None):
        parser.print_help()
        return 2
    _configure_logging()
    try:
        return arguments.handler(arguments)
    except FannsBenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fanns-bench", description="Filtered ANN search benchmark harness.")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser(
        "run",
        help="run a sweep: fanns-bench run [--multirun] [--force] [--allow-failures] [key=value ...] "
        "(fanns-bench run --help: options and exit codes)",
    )
    listing = commands.add_parser("list", help="registered methods, capabilities, install state")
    listing.add_argument("--params", metavar="METHOD", help="METHOD's declared build and search parameters")
    listing.set_defaults(handler=_list)
    conformance = commands.add_parser("conformance", help="run the conformance suite on a registered method")
    conformance.add_argument("method", help="registry name (built-in or plugin)")
    conformance.set_defaults(handler=_conformance)
    validate = commands.add_parser("validate", help="check a config before anything runs")
    validate.add_argument("config", nargs="*", help="experiment name and/or key=value overrides")
    validate.set_defaults(handler=_validate)
    for name, handler, what in (("plot", _plot, "figures"), ("report", _report, "tables")):
        sub = commands.add_parser(name, help=f"redraw the {what} of a results directory")
        sub.add_argument("results_dir", type=Path)
        sub.add_argument("--out", type=Path, default=None, help=f"where to write the {what}")
        sub.add_argument(
            "--qps",
            choices=("qps", "qps_given_filter"),
            default="qps",
            help="throughput shown: end to end (default) or search alone with filters prepared",
        )
        sub.set_defaults(handler=handler)
        if name == "report":
            sub.add_argument(
                "--compare",
                choices=("paper",),
                default=None,
                help="check the seed paper's claims on these results",
            )
            sub.add_argument(
                "--recompute",
                action="store_true",
                help="recompute recall from the stored ids; exit 1 on any difference",
            )
    tune = commands.add_parser(
        "tune",
        help="search one method's build parameters (the seed paper's greedy search, or Optuna); "
        "writes a method config",
    )
    tune.add_argument("method", help="the method's key in the composed config (options go before it)")
    tune.add_argument("config", nargs="*", help="experiment name and/or key=value overrides")
    tune.add_argument("--filter-type", help="tune on this filter type only (the paper tunes per type)")
    tune.add_argument("--selectivity", type=float, help="and on this selectivity bucket only")
    tune.add_argument("--queries", type=int, default=50, help="random queries per evaluation (paper: 50)")
    tune.add_argument("--builds", type=int, default=2, help="builds averaged per evaluation (paper: 2)")
    tune.add_argument("--target-recall", type=float, default=0.95, help="reward: QPS at this recall")
    tune.add_argument("--out", type=Path, default=None, help="default: <results>/tune/<method>")
    tune.add_argument(
        "--strategy",
        choices=("greedy", "optuna"),
        default="greedy",
        help="greedy: the paper's coordinate search (default); optuna: Optuna's TPE sampler for "
        "--trials trials (pip install 'fanns-bench[optuna]')",
    )
    tune.add_argument("--trials", type=int, default=20, help="optuna: configurations evaluated")
    tune.add_argument("--seed", type=int, default=0, help="optuna: the TPE sampler's seed")
    tune.set_defaults(handler=_tune)
    fidelity_command.add_parser(commands)
    _compare_parser(commands)
    recommend_command.add_parser(commands)
    datasets = commands.add_parser(
        "datasets", help="datasets built under datasets/ (list); describe one; fetch published files"
    )
    datasets.add_argument("--root", type=Path, default=Path("datasets"))
    datasets.set_defaults(handler=_datasets)
    actions = datasets.add_subparsers(dest="action")
    describe = actions.add_parser(
        "describe", help="a dataset's attributes, kinds and selectivities (built first when needed)"
    )
    describe.add_argument("name", help="a dataset config (dataset=NAME) or a built dataset folder")
    describe.add_argument("config", nargs="*", help="key=value overrides, e.g. dataset.params.source=...")
    describe.add_argument("--top", type=int, default=5, help="most common values shown (5)")
    describe.set_defaults(handler=_datasets_describe)
    fetch = actions.add_parser(
        "fetch", help="download a dataset's published files from the Hugging Face Hub, then convert them"
    )
    fetch.add_argument("name", help="e.g. arxiv_published_small (its config's fetch: block)")
    fetch.add_argument("config", nargs="*", help="key=value overrides, e.g. dataset.fetch.revision=<commit>")
    fetch.add_argument("--download-only", action="store_true", help="download and check, do not convert")
    fetch.set_defaults(handler=_datasets_fetch)
    return parser


def _compare_parser(commands: argparse._SubParsersAction) -> None:
    compare = commands.add_parser(
        "compare",
        help="two runs of the same experiment, rows matched by key: QPS ratios, recall agreement, "
        "rank and verdict changes; exit 1 when a tolerance given is exceeded, 2 on bad input",
    )
    compare.add_argument("dir_a", type=Path, help="results directory of the first run (A)")
    compare.add_argument("dir_b", type=Path, help="results directory of the second run (B)")
    compare.add_argument(
        "--qps-band",
        type=_pair,
        metavar="LOW,HIGH",
        help="fail unless the point wall-QPS ratio B/A lies in [LOW, HIGH] from the low to the high "
        "--percentiles (e.g. 0.9,1.1)",
    )
    compare.add_argument(
        "--cpu-qps-band", type=_pair, metavar="LOW,HIGH", help="the same for the CPU-time QPS (qps_cpu)"
    )
    compare.add_argument("--percentiles", type=_percentiles, metavar="LOW,HIGH", help="default 5,95")
    compare.add_argument(
        "--min-recall-agreement",
        type=_share,
        metavar="SHARE",
        help="fail when fewer than SHARE (0-1) of the matched ok points have identical recall "
        "(of the deterministic points, where the results record which are)",
    )
    compare.add_argument(
        "--max-rank-changes", type=int, metavar="N", help="fail on more than N leaderboard rank changes"
    )
    compare.add_argument(
        "--max-verdict-changes", type=int, metavar="N", help="fail on more than N paper-claim verdict changes"
    )
    compare.add_argument(
        "--min-noisy-flagged",
        type=_share,
        metavar="SHARE",
        help="fail when fewer than SHARE (0-1) of the points whose wall QPS moved by more than --moved "
        "are flagged noisy in A or B",
    )
    compare.add_argument(
        "--moved", type=float, metavar="FRACTION", help="a point moved: |B/A - 1| > this (0.2)"
    )
    compare.add_argument(
        "--recall",
        dest="recalls",
        type=lambda text: tuple(_numbers(text)),
        metavar="R[,R...]",
        help="leaderboard recall levels (default 0.9,0.95)",
    )
    compare.set_defaults(handler=_compare)


def _numbers(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated numbers") from None


def _pair(text: str) -> tuple[float, float]:
    values = _numbers(text)
    if len(values) != 2 or values[0] > values[1]:
        raise argparse.ArgumentTypeError(f"{text!r}: expected LOW,HIGH with LOW <= HIGH")
    return values[0], values[1]


def _percentiles(text: str) -> tuple[float, float]:
    low, high = _pair(text)
    if low < 0 or high > 100:
        raise argparse.ArgumentTypeError(f"{text!r}: expected percentiles between 0 and 100")
    return low, high


def _share(text: str) -> float:
    (value,) = _numbers(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a share between 0 and 1")
    return value


def _compare(arguments: argparse.Namespace) -> int:
    from dataclasses import fields

    from fanns_bench.report.compare import Tolerances, compare_dirs

    # the flags given; the defaults are Tolerances' own (the help text quotes them)
    given = {f.name: getattr(arguments, f.name) for f in fields(Tolerances)}
    tolerances = Tolerances(**{name: value for name, value in given.items() if value is not None})
    comparison = compare_dirs(arguments.dir_a, arguments.dir_b, tolerances)
    print("\n".join(comparison.lines))
    for problem in comparison.exceeded:
        print(f"exceeded: {problem}")
    print("outside tolerance" if comparison.exceeded else "within tolerances")
    return 1 if comparison.exceeded else 0


RUN_FLAGS = {
    "--force": "runner.force=true",
    "--retry-failed": "runner.retry_failed=true",
    "--no-retry-failed": "runner.retry_failed=false",
    "--wait": "runner.wait=true",
}


def _run(argv: list[str]) -> int:
    """Hand the overrides to Hydra, so --multirun and launchers work as usual; the exit
    status is `runner/exit_codes.py`'s (`fanns-bench run --help`)."""
    import tempfile
    import time

    from fanns_bench.configs import config_dir, prepare_overrides
    from fanns_bench.runner import exit_codes

    if any(a in ("--help", "-h") for a in argv):
        print(exit_codes.HELP)
        print("Hydra's own options and the config follow.\n", flush=True)
    try:
        argv = expand_argument_files(argv)
    except FannsBenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return exit_codes.USAGE
    allow_failures = "--allow-failures" in argv
    argv = [RUN_FLAGS.get(a, a) for a in argv if a != "--allow-failures"]
    multirun = any(a in ("--multirun", "-m") for a in argv)
    try:
        directory = config_dir()
        overrides = prepare_overrides(argv)
    except FannsBenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return exit_codes.USAGE
    from fanns_bench.hydra_app import invoke, make_app, print_multirun_summary

    if not multirun:
        code = invoke(make_app(directory), "fanns-bench run", overrides)
    else:
        with tempfile.TemporaryDirectory(prefix="fanns-multirun-") as outcomes:
            saved = os.environ.get(exit_codes.OUTCOMES_VARIABLE)
            os.environ[exit_codes.OUTCOMES_VARIABLE] = outcomes
            started = time.time()
            try:
                code = invoke(make_app(directory), "fanns-bench run", overrides)
            finally:
                os.environ.pop(exit_codes.OUTCOMES_VARIABLE)
                if saved is not None:
                    os.environ[exit_codes.OUTCOMES_VARIABLE] = saved
            if code == exit_codes.OK:
                code = print_multirun_summary(Path(outcomes), started)
    return exit_codes.OK if allow_failures and code == exit_codes.FAILURES else code


def expand_argument_files(argv: list[str]) -> list[str]:
    """Each `@FILE` replaced by its arguments, one per line (`#` lines skipped): the runoff
    `fanns-bench recommend --runoff` writes, without shell quoting."""
    if not any(a.startswith("@") for a in argv):
        return argv
    from fanns_bench.recommend.runoff import read_arguments

    expanded: list[str] = []
    for argument in argv:
        expanded += read_arguments(Path(argument[1:])) if argument.startswith("@") else [argument]
    return expanded


def _list(arguments: argparse.Namespace) -> int:
    from fanns_bench.methods.registry import HARNESS, describe_methods, method_distribution

    if arguments.params:
        return _list_params(arguments.params)
    print(f"{'method':<24} {'installed':<10} {'threading':<9} {'determinism':<11} capabilities / notes")
    for info in describe_methods():
        if info.cls is None:
            print(f"{info.name:<24} {'broken':<10} {'':<9} {'':<11} {info.load_error}")
            continue
        state = "yes" if info.installed else "no"
        caps = ",".join(sorted(info.cls.capabilities))
        note = f"  missing: {', '.join(info.missing)}" if info.missing else ""
        if info.missing and info.cls.extra:
            note += f" (pip install 'fanns-bench[{info.cls.extra}]')"
        determinism = info.cls.deterministic_build
        print(f"{info.name:<24} {state:<10} {info.cls.threading:<9} {determinism:<11} {caps}{note}")
        package, version = method_distribution(info.name)
        origin = f"  [from {package} {version}]" if package != HARNESS else ""
        if info.cls.description or origin:
            print(f"{'':<57} {info.cls.description}{origin}")
        if determinism == "never":
            print(f"{'':<57} nondeterministic build: {info.cls.nondeterminism}")
    return 0


def _list_params(name: str) -> int:
    from fanns_bench.methods.registry import get_method

    cls = get_method(name)
    why = f": {cls.nondeterminism}" if cls.nondeterminism else ""
    print(f"deterministic build of {name}: {cls.deterministic_build}{why}")
    for kind in ("build", "search"):
        declared = getattr(cls, f"{kind}_parameters", {})
        print(f"{kind} parameters of {name}:" if declared else f"{kind} parameters of {name}: none")
        for param, spec in sorted(declared.items()):
            print(f"  {param}: {spec.describe()}")
    return 0


def _conformance(arguments: argparse.Namespace) -> int:
    from fanns_bench.conformance import ConformanceError, run_conformance
    from fanns_bench.determinism import run_determinism_check
    from fanns_bench.methods.registry import get_method

    get_method(arguments.method)  # an unknown or broken method is an error before anything else
    print(f"conformance of {arguments.method}:")
    try:
        run_conformance(arguments.method, progress=lambda result: print(f"  {result}", flush=True))
        print(f"  deterministic build: {run_determinism_check(arguments.method)}", flush=True)
    except ConformanceError as error:
        print(f"FAILED: {error}")
        return 1
    print(f"{arguments.method} conforms")
    return 0


def _validate(arguments: argparse.Namespace) -> int:
    from fanns_bench.validate import validate_config

    problems = validate_config(arguments.config)
    for problem in problems:
        print(f"problem: {problem}")
    errors = sum(p.level == "error" for p in problems)
    if errors:
        print(f"{errors} error(s), {len(problems) - errors} warning(s): fix the errors before running")
        return 1
    print(f"config OK ({len(problems)} warning(s))" if problems else "config OK")
    return 0


def _tune(arguments: argparse.Namespace) -> int:
    from fanns_bench.configs import compose
    from fanns_bench.tune import TuneSettings, restrict_workload, tune
    from fanns_bench.validate import problems_in

    restrict = partial(
        restrict_workload, filter_type=arguments.filter_type, selectivity=arguments.selectivity
    )
    config = restrict(compose(arguments.config))
    problems = problems_in(config)
    if problems:
        raise FannsBenchError("the config has problems:\n  " + "\n  ".join(problems))
    out = arguments.out or Path(config["paths"]["results"]) / "tune" / arguments.method
    settings = TuneSettings(arguments.queries, arguments.builds, arguments.target_recall)
    if arguments.strategy == "optuna":
        from fanns_bench.tune_optuna import OptunaSettings, tune_optuna

        optuna = OptunaSettings(arguments.trials, arguments.seed)
        result = tune_optuna(arguments.config, config, arguments.method, out, settings, optuna, restrict)
    else:
        result = tune(config, arguments.method, out, settings)
    evaluated = len(result.history)
    print(f"chosen build parameters: {result.build} (reward {result.reward:.4g}, {evaluated} evaluated)")
    print(f"method config: {out / (arguments.method + '_tuned.yaml')}")
    return 0


def _plot(arguments: argparse.Namespace) -> int:
    from fanns_bench.report import plot_results

    for path in plot_results(arguments.results_dir, arguments.out, arguments.qps):
        print(path)
    return 0


def _report(arguments: argparse.Namespace) -> int:
    from fanns_bench.report import report_results

    if arguments.recompute:
        return _recompute(arguments.results_dir)
    text, paths = report_results(arguments.results_dir, arguments.out, arguments.qps, arguments.compare)
    print(text)
    for path in paths:
        print(path)
    return 0


def _recompute(results_dir: Path) -> int:
    from fanns_bench.report.frame import load_frame
    from fanns_bench.results.recompute import recompute

    checked, problems = recompute(results_dir, load_frame(results_dir))
    for problem in problems:
        print(problem)
    print(f"recomputed recall of {checked} rows from their stored ids: {len(problems)} difference(s)")
    return 1 if problems else 0


def _datasets(arguments: argparse.Namespace) -> int:
    root = arguments.root
    manifests = sorted(root.glob("*/manifest.json")) if root.is_dir() else []
    if not manifests:
        print(f"no built datasets under {root}")
        return 0
    for manifest_path in manifests:
        manifest = json.loads(manifest_path.read_text())
        print(
            f"{manifest.get('name', manifest_path.parent.name):<28} {manifest.get('count'):>10} x "
            f"{manifest.get('dimension'):<5} {manifest.get('metric'):<3} "
            f"builder={manifest.get('builder')}  {manifest_path.parent}"
        )
    return 0


def _dataset_config(name: str, overrides: list[str]) -> tuple[dict, Path]:
    """The composed `dataset` config of `dataset=name` with `overrides`, and the datasets folder."""
    from fanns_bench.configs import compose

    config = compose([f"dataset={name}", *overrides])
    return config["dataset"], Path(config["paths"]["datasets"])


def _datasets_describe(arguments: argparse.Namespace) -> int:
    from fanns_bench.data.builders import dataset_of
    from fanns_bench.data.dataset import load_dataset
    from fanns_bench.data.describe import describe

    folder = Path(arguments.name)
    if (folder / "manifest.json").is_file() and not arguments.config:
        dataset = load_dataset(folder)
    else:
        config, datasets_dir = _dataset_config(arguments.name, arguments.config)
        dataset = dataset_of(config, datasets_dir)
    print("\n".join(describe(dataset, arguments.top)))
    return 0


def _datasets_fetch(arguments: argparse.Namespace) -> int:
    from fanns_bench.data.builders import dataset_of
    from fanns_bench.data.fetch import FetchSpec, fetch

    config, datasets_dir = _dataset_config(arguments.name, arguments.config)
    spec = FetchSpec.from_config(config["name"], config.get("fetch"))
    params = dict(config.get("params") or {})
    if "source" not in params:
        raise FannsBenchError(f"dataset {config['name']!r}: params.source (where the files go) is not set")
    store = datasets_dir / (config.get("directory") or config["name"])
    convert = not arguments.download_only
    unconverted = convert and not (store / "manifest.json").is_file()
    files = fetch(
        spec,
        Path(params["source"]),
        conversion_bytes=_store_bytes if unconverted else lambda sizes: 0,
        also_needed_at=datasets_dir,
    )
    print(
        f"commit {files[0].commit}: pin it with dataset.fetch.revision={files[0].commit} (or in the config)"
    )
    if not convert:
        return 0
    dataset = dataset_of(config, datasets_dir)
    print(
        f"converted: {dataset.count:,} x {dataset.dimension} vectors, {dataset.queries.shape[0]:,} queries "
        f"-> {dataset.path}; run it with fanns-bench run dataset={arguments.name} ..."
    )
    return 0


def _store_bytes(sizes: dict[str, int]) -> int:
    """About the disk the converted store takes: float32 vectors and queries as in the .fvecs
    files, attributes as Parquet (well under the JSONL's size)."""
    vectors = sizes.get("database_vectors.fvecs", 0) + sizes.get("query_vectors.fvecs", 0)
    return vectors + sizes.get("database_attributes.jsonl", 0) // 2


if __name__ == "__main__":
    sys.exit(main())
