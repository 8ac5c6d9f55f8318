"""The ``izzyfig`` command: parse arguments, call one function, map errors to exit codes.

Exit codes: 0 success, 1 spec or build errors (message, no traceback), 2 usage,
130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
"""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from izzyfig import __version__
from izzyfig.errors import IzzyfigError, UsageError

DEFAULT_SCHEMA = Path("schemas/izzyfig.schema.json")


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that cleanup (temp files, workers) runs."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    previous = _on_sigterm()
    try:
        return args.run(args)
    except UsageError as error:
        print(f"izzyfig {args.command}: error: {error}", file=sys.stderr)
        return 2
    except IzzyfigError as error:
        print(str(error), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("terminated", file=sys.stderr)
        return 143
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _on_sigterm():
    """Turn SIGTERM into ``Terminated`` (main thread only); returns the previous handler."""
    def terminate(signum, frame):
        raise Terminated()

    try:
        return signal.signal(signal.SIGTERM, terminate)
    except ValueError:  # not the main thread (e.g. called from a test worker thread)
        return None


class _HelpFormatter(argparse.HelpFormatter):
    """Shows every option's default unless its help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default is argparse.SUPPRESS:
            return text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return f"{text} (default: %(default)s)"
        return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="izzyfig", description="Compile attention figure specs (YAML) into PDFs.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"izzyfig {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, run) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, formatter_class=_HelpFormatter)
        sub.set_defaults(run=run)
        return sub

    validate = command("validate", "check specs and plan them (no forward pass, no torch); "
                       "report every error", _validate)
    _add_paths(validate)
    _add_cache_dir(validate)

    schema = command("schema", "write the JSON Schema of the spec language", _schema)
    schema.add_argument("-o", "--output", type=Path, default=DEFAULT_SCHEMA, help="where to write the schema")

    init = command("init", "write a commented starter spec (and the schema its first line names)", _init)
    init.add_argument("path", nargs="?", type=Path, default=Path("specs/figures.yaml"),
                      help="the spec to write")
    init.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA,
                      help="the JSON Schema to write if missing, named in the spec's first line")

    plan = command("plan", "print what a build would do, without running it", _plan)
    _add_project_options(plan)
    _add_jobs(plan)
    _add_executor(plan)

    build = command("build", "build every figure that is out of date", _build)
    _add_project_options(build)
    _add_only(build, "build only these figures")
    build.add_argument("--force", action="store_true", help="rebuild every figure, even those up to date")
    _add_build_options(build, quiet="print only errors, warnings and removed files")

    watch = command("watch", "build, then rebuild what went stale whenever a spec, an array file, "
                    "a model directory or a template changes (Ctrl-C stops); needs izzyfig[watch]", _watch)
    _add_project_options(watch)
    _add_only(watch, "build only these figures")
    _add_build_options(watch, quiet="print only errors, warnings, removed files and what changed and was rebuilt")
    watch.add_argument("--debounce", type=_positive_int, default=100, metavar="MS",
                       help="rebuild once no watched file has changed for this many milliseconds")

    verify = command("verify", "compare locked files with the disk, and rebuild them elsewhere "
                     "to compare bytes", _verify)
    _add_project_options(verify)
    _add_jobs(verify)
    _add_executor(verify)
    _add_no_wait(verify)

    appendix = command("appendix", "write the reproducibility appendix (.tex) of the locked figures",
                       _appendix)
    _add_project_options(appendix)
    _add_only(appendix, "describe only these figures")
    appendix.add_argument("--tex", type=Path, default=None,
                          help="where to write it (default: OUT_DIR/appendix.tex)")
    _add_no_wait(appendix)
    return parser


def _add_paths(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="spec files, or directories searched for *.yaml/*.yml")


def _add_cache_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache-dir", type=Path, default=Path(".izzyfig/cache"),
                        help="attention cache and file-hash memo")


def _add_project_options(parser: argparse.ArgumentParser) -> None:
    _add_paths(parser)
    parser.add_argument("-o", "--out-dir", type=Path, default=Path("figures"),
                        help="where figures and snippets go")
    _add_cache_dir(parser)
    parser.add_argument("--lock", type=Path, default=Path("izzyfig.lock"), help="the lock file")


def _add_only(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--only", action="extend", type=_ids, default=[], metavar="ID[,ID...]",
                        help=f"{what}; repeat it or separate ids with commas (default: every figure)")


def _add_jobs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-j", "--jobs", type=_positive_int, default=1,
                        help="processes that render figures (1: render in this process)")


def _add_build_options(parser: argparse.ArgumentParser, quiet: str) -> None:
    """The options ``build`` and ``watch`` share, after ``--only`` (and ``--force``)."""
    parser.add_argument("--keep-orphans", action="store_true",
                        help="keep files of figures that no spec makes any more (unchanged ones are removed)")
    _add_jobs(parser)
    _add_executor(parser)
    _add_no_wait(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help=quiet)
    parser.add_argument("--strict", action="store_true",
                        help="treat warnings (legibility, page fit, data) as errors")
    parser.add_argument("--trust-remote-code", action="store_true",
                        help="allow models that ship their own code to run it")


def _add_executor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--executor", choices=("local", "dask"), default="local",
                        help="where forwards and renders run: this machine, or a Dask cluster "
                             "(pip install 'izzyfig[dask]')")
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="Dask scheduler, e.g. tcp://host:8786 (default: $IZZYFIG_DASK_SCHEDULER, "
                             "else a LocalCluster of -j workers on 127.0.0.1)")
    parser.add_argument("--scheduler-file", metavar="PATH", default=None,
                        help="JSON file written by `dask scheduler --scheduler-file PATH` "
                             "(or by dask-jobqueue), instead of --scheduler")
    parser.add_argument("--scheduler-timeout", metavar="SECONDS", type=_positive_float,
                        default=None, help="fail (exit 1) if the Dask scheduler does not answer "
                                           "within this time (default: 10)")


def _add_no_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-wait", dest="wait", action="store_false",
                        help="fail at once (exit 1) if another izzyfig is writing the project "
                             "(default: wait for it)")


def _ids(text: str) -> list[str]:
    ids = [part.strip() for part in text.split(",")]
    if not all(ids):
        raise argparse.ArgumentTypeError(f"expected figure ids separated by commas, got {text!r}")
    return ids


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _executor_options(args: argparse.Namespace) -> dict:
    if args.executor != "dask" and (args.scheduler or args.scheduler_file):
        raise UsageError("--scheduler and --scheduler-file apply to --executor dask")
    return {"jobs": args.jobs, "executor": args.executor, "scheduler": args.scheduler,
            "scheduler_file": args.scheduler_file, "scheduler_timeout": args.scheduler_timeout}


def _project(args: argparse.Namespace, **extra):
    from izzyfig.build import Project

    return Project(paths=tuple(args.paths), cache_dir=args.cache_dir, **extra)


def _project_files(args: argparse.Namespace, **extra):
    return _project(args, out_dir=args.out_dir, lock_path=args.lock, **extra)


def _validate(args: argparse.Namespace) -> int:
    from izzyfig.build import validate

    print(validate(_project(args)))
    return 0


def _schema(args: argparse.Namespace) -> int:
    from izzyfig.spec import write_schema

    write_schema(args.output)
    print(f"wrote {args.output}")
    return 0


def _init(args: argparse.Namespace) -> int:
    from izzyfig.spec.starter import write_starter

    for line in write_starter(args.path, args.schema):
        print(line)
    return 0


def _plan(args: argparse.Namespace) -> int:
    from izzyfig.build import describe_plan

    print(describe_plan(_project_files(args, **_executor_options(args))))
    return 0


def _build(args: argparse.Namespace) -> int:
    from izzyfig.build import build

    project = _project_files(
        args, quiet=args.quiet, trust_remote_code=args.trust_remote_code, strict=args.strict,
        wait=args.wait, **_executor_options(args),
    )
    report = build(project, force=args.force, only=tuple(args.only), keep_orphans=args.keep_orphans)
    return 0 if report.ok else 1


def _watch(args: argparse.Namespace) -> int:
    from izzyfig.watch import watch

    project = _project_files(
        args, quiet=args.quiet, trust_remote_code=args.trust_remote_code, strict=args.strict,
        wait=args.wait, **_executor_options(args),
    )
    return watch(project, only=tuple(args.only), keep_orphans=args.keep_orphans, debounce_ms=args.debounce)


def _verify(args: argparse.Namespace) -> int:
    from izzyfig.build import verify

    return 0 if verify(_project_files(args, wait=args.wait, **_executor_options(args))).ok else 1


def _appendix(args: argparse.Namespace) -> int:
    from izzyfig.build import write_appendix

    path = write_appendix(_project_files(args, wait=args.wait), args.tex, only=tuple(args.only))
    print(f"wrote {path}")
    return 0
