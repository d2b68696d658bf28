"""``make scale``: python -m playment_bench.scale [--suite full|small] [--only engine,command]
[--json FILE]. Prints the tables, then every figure over its bound; exits 1 if there is one."""

import argparse
import datetime
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

from playment_bench.doc_figures.scale import write_scale
from playment_bench.scale import bounds, command_run
from playment_bench.scale.engine_run import measure_suite
from playment_bench.scale.projects import full_suite, small_suite
from playment_bench.scale.table import format_export, format_verdict

SECTIONS = ("engine", "command")
SUITES = {"full": full_suite, "small": small_suite}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m playment_bench.scale")
    parser.add_argument("--suite", choices=sorted(SUITES), default="full")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    sections = set(args.only.split(","))
    if unknown := sections - set(SECTIONS):
        parser.error(f"--only: no section {', '.join(sorted(unknown))} (sections: {SECTIONS})")
    print(
        f"make scale, {datetime.date.today()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}\n",
        flush=True,
    )
    recorded: dict[str, Any] = {}
    violations: list[bounds.Violation] = []
    if "engine" in sections:
        suite = SUITES[args.suite]()
        exports = measure_suite(
            suite, report=lambda export: print(format_export(export), "\n", flush=True)
        )
        recorded["exports"] = [export.as_json() for export in exports]
        violations += bounds.check(exports, suite.growth_pairs)
    if "command" in sections:
        figures = command_run.measure_command()
        print(command_run.format_command(figures), "\n", flush=True)
        recorded["command"] = [figure.__dict__ for figure in figures]
        violations += command_run.violations(figures)
    recorded["violations"] = [str(violation) for violation in violations]
    if args.json is not None:
        args.json.write_text(json.dumps(recorded, indent=1, default=str))
    if args.suite == "full" and sections == set(SECTIONS):  # the pages show a full run's figures
        given = sys.argv[1:] if argv is None else argv
        command = " ".join(["python -m playment_bench.scale", *given])
        print(f"wrote {write_scale(json.loads(json.dumps(recorded, default=str)), command)}")
    print(format_verdict(violations, checked=", ".join(sorted(sections))), flush=True)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
