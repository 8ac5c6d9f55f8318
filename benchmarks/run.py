"""One entry point for every izzyfig benchmark: prints tables and optionally writes JSON.

    python benchmarks/run.py [--quick] [--json results.json] [--sections regions,render,...]

Optional sections (not run by default): smollm2, analysis (both need izzyfig[smollm2]).

Each section is a module ``bench_<name>.py`` beside this file with a function
``run(quick=False) -> list[dict]``; rows of one section share their keys. Timings are only
compared as ratios measured in the same run: the machines are shared and noisy.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from datetime import date
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECTIONS = ("regions", "render", "peer", "extract", "build", "memory")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats")
    parser.add_argument("--json", type=Path, help="also write all rows to this JSON file")
    parser.add_argument("--sections", default=",".join(SECTIONS))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    results = {"machine": machine(), "sections": {}}
    for name in args.sections.split(","):
        started = time.perf_counter()
        module = importlib.import_module(f"bench_{name}")
        rows = module.run(quick=args.quick)
        results["sections"][name] = rows
        print(f"\n## {name} ({time.perf_counter() - started:.0f} s)\n")
        print(markdown_table(rows))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return 0


def machine() -> dict[str, str]:
    info = {"date": date.today().isoformat(), "python": platform.python_version(),
            "platform": platform.platform(), "processor": platform.machine()}
    for name in ("izzyfig", "numpy", "matplotlib", "torch", "transformers"):
        try:
            info[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            info[name] = "-"
    info["cores"] = str(os.cpu_count())
    return info


def markdown_table(rows: list[dict]) -> str:
    if not rows:
        return "(no rows)"
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


if __name__ == "__main__":
    raise SystemExit(main())
