"""The table ``run`` and ``start`` print when an export ends, from its report."""

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from playment_execution import ExecutionResult


def print_export_summary(
    result: ExecutionResult, places: list[tuple[str, str]], elapsed: float
) -> None:
    """Status, totals by reason and by error code, then ``places`` (where the results and
    the report are), and, for a failed execution, its error and cause."""
    report: dict[str, Any] = result.report or {}
    totals = report.get("totals", {})
    table = Table(title=f"Export {result.name}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
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
    console.print(table)
    if not result.succeeded:
        console.print(Text(failure_line(result.error, result.cause), style="red"), soft_wrap=True)


def failure_line(error: str | None, cause: str | None) -> str:
    """One line for a failed execution: a task's raised error as ``Type: message`` (Lambda's
    error payload carries a stack trace, which belongs in the log, not on the terminal)."""
    try:
        payload = json.loads(cause or "")
    except ValueError:
        payload = None
    if isinstance(payload, dict) and "errorMessage" in payload:
        return f"{payload.get('errorType') or error}: {payload['errorMessage']}"
    first = (cause or "").strip().splitlines()
    return f"{error}: {first[0]}" if first else str(error)
