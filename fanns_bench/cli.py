"""`fanns-bench run|plot|report|list|validate|datasets`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from fanns_bench.errors import FannsBenchError

log = logging.getLogger("fanns_bench")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["run"]:
        return _run(argv[1:])
    parser = _parser()
    arguments = parser.parse_args(argv)
    if not getattr(arguments, "command", None):
        parser.print_help()
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    log.setLevel(logging.INFO)
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
    commands.add_parser("run", help="run a sweep: fanns-bench run [--multirun] [--force] [key=value ...]")
    listing = commands.add_parser("list", help="registered methods, capabilities, install state")
    listing.set_defaults(handler=_list)
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
    datasets = commands.add_parser("datasets", help="datasets built under datasets/")
    datasets.add_argument("--root", type=Path, default=Path("datasets"))
    datasets.set_defaults(handler=_datasets)
    return parser


def _run(argv: list[str]) -> int:
    """Hand the overrides to Hydra, so --multirun and launchers work as usual."""
    from fanns_bench.configs import config_dir, normalise_overrides

    flags = {"--force": "runner.force=true", "--retry-failed": "runner.retry_failed=true"}
    argv = [flags.get(a, a) for a in argv]
    try:
        directory = config_dir()
    except FannsBenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from fanns_bench.hydra_app import make_app

    app = make_app(directory)
    saved, sys.argv = sys.argv, ["fanns-bench run", *normalise_overrides(argv)]
    try:
        app()
    except SystemExit as exit_:
        return int(exit_.code or 0)
    finally:
        sys.argv = saved
    return 0


def _list(arguments: argparse.Namespace) -> int:
    from fanns_bench.methods.registry import describe_methods

    print(f"{'method':<24} {'installed':<10} {'threading':<9} capabilities / notes")
    for info in describe_methods():
        if info.cls is None:
            print(f"{info.name:<24} {'broken':<10} {'':<9} {info.load_error}")
            continue
        state = "yes" if info.installed else "no"
        caps = ",".join(sorted(info.cls.capabilities))
        note = f"  missing: {', '.join(info.missing)}" if info.missing else ""
        if info.missing and info.cls.extra:
            note += f" (pip install 'fanns-bench[{info.cls.extra}]')"
        print(f"{info.name:<24} {state:<10} {info.cls.threading:<9} {caps}{note}")
        if info.cls.description:
            print(f"{'':<45} {info.cls.description}")
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


if __name__ == "__main__":
    sys.exit(main())
