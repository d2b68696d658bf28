"""``make scale``'s figures as ``docs/figures/scale.md``: the exports on the local engine, the
command's runs, and what passed a bound.

Reads the figures as ``python -m playment_bench.scale --json`` records them.
"""

import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from playment_bench.doc_figures.markdown import FIGURES, snippet, table, write, written_by

SCALE_SNIPPET = FIGURES / "scale.md"
KiB = 1024
MiB = 1024 * KiB
MB = 1_000_000


def scale_markdown(figures: Mapping[str, Any], date: datetime.date, origin: str) -> str:
    sections = []
    if "exports" in figures:
        sections.append(("engine", _exports(figures["exports"])))
    if "command" in figures:
        sections.append(("command", _command(figures["command"])))
    sections.append(("verdict", _verdict(figures.get("violations", []))))
    return snippet("Figures of `make scale`", date, origin, sections)


def write_scale(figures: Mapping[str, Any], command: str, path: Path = SCALE_SNIPPET) -> Path:
    return write(path, scale_markdown(figures, datetime.date.today(), written_by(command)))


def _exports(exports: list[Mapping[str, Any]]) -> str:
    rows = []
    for export in exports:
        functions = {function["function"]: function for function in export["functions"]}
        largest_state = max(
            max(state["max_input_bytes"], state["max_output_bytes"]) for state in export["states"]
        )
        rows.append(
            (
                export["description"],
                f"{export['history_events']:,}",
                _step(functions.get("ListPages")),
                _step(functions.get("WriteReport")),
                _fetch(functions.get("FetchResult")),
                f"{largest_state / KiB:.1f} KiB",
            )
        )
    return table(
        (
            "project",
            "history events",
            "ListPages: calls, peak MiB, max s",
            "WriteReport: calls, peak MiB, max s",
            "FetchResult: peak MiB",
            "largest state",
        ),
        rows,
    )


def _step(function: Mapping[str, Any] | None) -> str:
    if function is None:
        return "n/a"
    return (
        f"{function['invocations']:,}, {_mib(function['max_peak_bytes'])}, "
        f"{function['max_duration_s']:.1f}"
    )


def _fetch(function: Mapping[str, Any] | None) -> str:
    if function is None:
        return "n/a"
    if function["max_peak_bytes"] is None:
        return f"n/a ({function['invocations']:,} pages, {function['max_duration_s']:.1f} s max)"
    return _mib(function["max_peak_bytes"])


def _mib(size: float | None) -> str:
    return "n/a" if size is None else f"{size / MiB:.1f}"


def _command(runs: list[Mapping[str, Any]]) -> str:
    rows = [
        (
            f"{run['jobs']:,}",
            f"{run['completed']:,}",
            run["exit_code"],
            f"{run['seconds']:.0f} s",
            f"{run['peak_rss_bytes'] / MB:.0f} MB",
            f"{run['results']:,}",
            f"{run['named_not_completed']:,} of {run['jobs'] - run['completed']:,}",
        )
        for run in runs
    ]
    return table(
        (
            "jobs",
            "completed",
            "exit status",
            "time",
            "peak RSS",
            "results written",
            "not-completed jobs the report names",
        ),
        rows,
    )


def _verdict(violations: list[str]) -> str:
    if not violations:
        return "Every figure within its bound."
    return "Over a bound:\n\n" + "\n".join(f"- {violation}" for violation in violations)
