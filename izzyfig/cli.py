"""The ``izzyfig`` command: parse arguments, call one function, map errors to exit codes.

Exit codes: 0 success, 1 spec or build errors (message, no traceback), 2 usage.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from izzyfig import __version__
from izzyfig.errors import IzzyfigError

DEFAULT_SCHEMA = Path("schemas/izzyfig.schema.json")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except IzzyfigError as error:
        print(str(error), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="izzyfig", description="Compile attention figure specs (YAML) into PDFs."
    )
    parser.add_argument("--version", action="version", version=f"izzyfig {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check specs and report every error")
    validate.add_argument("paths", nargs="+", metavar="PATH", help="spec files or directories")
    validate.set_defaults(run=_validate)

    schema = commands.add_parser("schema", help="write the JSON Schema of the spec language")
    schema.add_argument("-o", "--output", type=Path, default=DEFAULT_SCHEMA)
    schema.set_defaults(run=_schema)

    init = commands.add_parser("init", help="write a commented starter spec")
    init.add_argument("path", nargs="?", type=Path, default=Path("specs/figures.yaml"))
    init.set_defaults(run=_init)

    plan = commands.add_parser("plan", help="print what a build would do, without running it")
    _add_project_options(plan)
    plan.set_defaults(run=_plan)

    build = commands.add_parser("build", help="build every figure that is out of date")
    _add_project_options(build)
    build.add_argument("--force", action="store_true", help="rebuild every figure")
    build.add_argument("--only", nargs="+", metavar="ID", default=(), help="build only these figures")
    build.add_argument("-j", "--jobs", type=_positive_int, default=1, help="parallel render processes")
    build.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    build.add_argument(
        "--strict", action="store_true", help="treat warnings (legibility, page fit, data) as errors"
    )
    build.add_argument(
        "--trust-remote-code", action="store_true", help="allow models that ship their own code"
    )
    build.set_defaults(run=_build)

    verify = commands.add_parser("verify", help="rebuild locked figures elsewhere and compare bytes")
    _add_project_options(verify)
    verify.add_argument("-j", "--jobs", type=_positive_int, default=1)
    verify.set_defaults(run=_verify)

    appendix = commands.add_parser("appendix", help="write the reproducibility appendix (.tex)")
    _add_project_options(appendix)
    appendix.add_argument("--tex", type=Path, default=None, help="default: OUTDIR/appendix.tex")
    appendix.set_defaults(run=_appendix)
    return parser


def _add_project_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="spec files or directories")
    parser.add_argument("-o", "--out-dir", type=Path, default=Path("figures"))
    parser.add_argument("--cache-dir", type=Path, default=Path(".izzyfig/cache"))
    parser.add_argument("--lock", type=Path, default=Path("izzyfig.lock"))


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _validate(args: argparse.Namespace) -> int:
    from izzyfig.spec import load_specs

    specs = load_specs(args.paths)
    figures = sum(len(s.figures) for s in specs)
    print(f"{len(specs)} spec file(s), {figures} figure(s): valid")
    return 0


def _schema(args: argparse.Namespace) -> int:
    from izzyfig.spec import write_schema

    write_schema(args.output)
    print(f"wrote {args.output}")
    return 0


def _init(args: argparse.Namespace) -> int:
    from izzyfig.spec import starter_spec

    if args.path.exists():
        print(f"{args.path} already exists; not overwriting it", file=sys.stderr)
        return 1
    args.path.parent.mkdir(parents=True, exist_ok=True)
    args.path.write_text(starter_spec(), encoding="utf-8")
    print(f"wrote {args.path}; edit it, then run: izzyfig build {args.path.parent}")
    return 0


def _project(args: argparse.Namespace, **extra):
    from izzyfig.build import Project

    return Project(
        paths=tuple(args.paths),
        out_dir=args.out_dir,
        cache_dir=args.cache_dir,
        lock_path=args.lock,
        **extra,
    )


def _plan(args: argparse.Namespace) -> int:
    from izzyfig.build import describe_plan

    print(describe_plan(_project(args)))
    return 0


def _build(args: argparse.Namespace) -> int:
    from izzyfig.build import build

    project = _project(
        args, jobs=args.jobs, quiet=args.quiet, trust_remote_code=args.trust_remote_code,
        strict=args.strict,
    )
    report = build(project, force=args.force, only=tuple(args.only))
    return 0 if report.ok else 1


def _verify(args: argparse.Namespace) -> int:
    from izzyfig.build import verify

    return 0 if verify(_project(args, jobs=args.jobs)).ok else 1


def _appendix(args: argparse.Namespace) -> int:
    from izzyfig.build import write_appendix

    path = write_appendix(_project(args), args.tex)
    print(f"wrote {path}")
    return 0
