"""What ``run``, ``demo`` and ``start`` print when an export ends: the summary from its report
on stdout, and, when it did not succeed, one line on stderr saying what went wrong and what to
do, in the command's one style (``playment-export: error: ...``)."""

import json
import re
import sys
from collections.abc import Callable
from typing import Any

from playment_execution import ExecutionResult

ERROR_PREFIX = "playment-export: error: "
_AUTH_ANSWER = re.compile(r"\((HTTP \d+, [^)]*)\)")
# What to say when Playment refused the key, given its answer: the local command names the
# variable it read the key from; a deployed stack's message names the secret already.
RefusedKeyLine = Callable[[str | None], str]


def print_error(message: str) -> None:
    """One line on stderr, in the command's style."""
    print(f"{ERROR_PREFIX}{message}", file=sys.stderr, flush=True)


def print_export_summary(
    result: ExecutionResult,
    places: list[tuple[str, str]],
    elapsed: float,
    *,
    report_place: str,
    refused_key: RefusedKeyLine | None = None,
) -> None:
    """Status, totals by reason and by error code, then ``places`` (where the results and the
    report are) on stdout; for a failed execution, then, its one line on stderr."""
    from rich.console import Console  # rich only when a summary is printed: start-up
    from rich.table import Table

    report: dict[str, Any] = result.report or {}
    totals = report.get("totals", {})
    table = Table(title=f"Export {result.name}", show_header=False, title_justify="left")
    table.add_column(style="bold", no_wrap=True)
    table.add_column(no_wrap=True)
    outcome = "[green]SUCCEEDED" if result.succeeded else f"[red]{result.status} ({result.error})"
    table.add_row("status", outcome)
    table.add_row("jobs", str(totals.get("jobs", 0)))
    table.add_row("exported", str(totals.get("exported", 0)))
    for reason, count in report.get("skipped_by_reason", {}).items():
        table.add_row(f"skipped: {reason}", str(count))
    for code, count in report.get("failed_by_code", {}).items():
        table.add_row(f"[red]failed: {code}", str(count))
    table.add_row("bytes written", f"{totals.get('bytes', 0):,}")
    for label, place in places:
        table.add_row(label, place)
    table.add_row("elapsed", f"{elapsed:.1f} s")
    console = Console()
    # Never folded: a path in it is copied whole, even when piped (where rich would assume
    # 80 columns) or on a narrow terminal (which then wraps the lines itself).
    natural = console.measure(table, options=console.options.update_width(10_000)).maximum
    console.width = max(console.width, natural)
    console.print(table)
    sys.stdout.flush()
    if not result.succeeded:
        print_error(failure_line(result, report_place, refused_key))


def failure_line(
    result: ExecutionResult, report_place: str, refused_key: RefusedKeyLine | None = None
) -> str:
    """One line for a failed execution: what failed and what to do about it."""
    report: dict[str, Any] = result.report or {}
    if result.error == "ExportIncomplete" and report:
        return _incomplete_line(report, report_place)
    if result.error == "PlaymentAuthError" and refused_key is not None:
        answer = _AUTH_ANSWER.search(result.cause or "")
        return refused_key(answer.group(1) if answer else None)
    return _raised_line(result.error, result.cause)


def _incomplete_line(report: dict[str, Any], report_place: str) -> str:
    failed = int(report.get("totals", {}).get("failed", 0))
    jobs = int(report.get("totals", {}).get("jobs", 0))
    missing: list[str] = report.get("batches_not_found") or []
    if missing:
        names = ", ".join(missing)
        line = f"batch {names} not found in project {report.get('project_id')}: check --batch-id"
        others = failed - len(missing)
        if others:
            line += f"; {others} jobs of the other batches failed too"
        elif len(report.get("batch_ids") or []) > len(missing):
            line += "; the other batches were exported"
        return f"{line} (report: {report_place})"
    return (
        f"{failed} of {jobs} jobs failed; the report lists each ({report_place}); "
        "run the same command again to retry them"
    )


def _raised_line(error: str | None, cause: str | None) -> str:
    """A task's raised error as ``Type: message`` (Lambda's error payload carries a stack
    trace, which belongs in the log, not on the terminal)."""
    try:
        payload = json.loads(cause or "")
    except ValueError:
        payload = None
    if isinstance(payload, dict) and "errorMessage" in payload:
        return f"{payload.get('errorType') or error}: {payload['errorMessage']}"
    first = (cause or "").strip().splitlines()
    return f"{error}: {first[0]}" if first else str(error)
