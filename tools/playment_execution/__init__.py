"""How an export execution ended, as Step Functions describes it.

The local engine and a deployed stack both end an export with a ``DescribeExecution`` answer
and the run's report; the command line prints the same summary from either.
"""

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import ijson

FINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
# The report ends with one entry per job that needs attention (millions, for a big export):
# everything a summary needs comes before them, so reading stops there.
REPORT_LISTS = frozenset({"failed", "skipped"})


@dataclass(frozen=True)
class ExecutionResult:
    name: str
    status: str
    error: str | None
    cause: str | None
    output: Any
    report: dict[str, Any] | None

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    @classmethod
    def from_description(
        cls, name: str, described: Mapping[str, Any], report: dict[str, Any] | None
    ) -> "ExecutionResult":
        """From a ``DescribeExecution`` answer and the run's report (None if not written)."""
        output = described.get("output")
        return cls(
            name=name,
            status=described["status"],
            error=described.get("error"),
            cause=described.get("cause"),
            output=json.loads(output) if output else None,
            report=report,
        )


def report_summary(stream: Any) -> dict[str, Any]:
    """The report's top-level fields up to its lists of jobs, read from a binary ``stream``
    without ever holding the lists. Raises ``ijson.JSONError`` if it is not JSON."""
    summary: dict[str, Any] = {}
    for field, value in ijson.kvitems(stream, "", use_float=True):
        if field in REPORT_LISTS:
            break
        summary[field] = value
    return summary


def new_execution_name() -> str:
    """``export-<UTC timestamp>-<8 hex>``: sortable by start, unique, usable as an S3 key part."""
    return f"export-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
