"""``playment-export status`` and ``playment-export start``: operate a deployed stack.

Both find the stack's outputs with CloudFormation and use the caller's AWS credentials (the
default chain: environment, ``AWS_PROFILE``, SSO, instance role). The AWS side lives in
``playment_operator.deployed_stack``; this module sets up the arguments and prints. It is
imported, with rich, when one of the two runs, not before: it brings boto3, which ``run``
does not need, and every command's start-up would pay for it.
"""

import argparse
import sys
import time
from datetime import UTC, timedelta
from typing import TYPE_CHECKING

from playment_cli.export_flags import (
    EXIT_INCOMPLETE,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    add_export_arguments,
    execution_input,
    request_from_args,
)
from playment_cli.export_summary import print_export_summary
from playment_cli.help_format import HelpFormatter
from playment_cli.interrupts import exit_status_of, signal_name
from playment_cli.progress import export_progress
from playment_execution import ExecutionResult

if TYPE_CHECKING:
    from rich.table import Table

    from playment_operator.deployed_stack import DeployedStack, ExecutionSummary, ExportProgress

MAX_LIMIT = 1000  # ListExecutions' own maximum page size
_TOTAL_COLUMNS = ("jobs", "exported", "skipped", "failed")
_STATUS_STYLE = {"SUCCEEDED": "green", "RUNNING": "cyan", "FAILED": "red", "TIMED_OUT": "red",
                 "ABORTED": "yellow"}  # fmt: skip

_CREDENTIALS = (
    "AWS access uses your credentials through the default chain (environment variables, "
    "AWS_PROFILE and its SSO session, an instance or task role); --region, else AWS_REGION "
    "or the profile's region. The stack's StateMachineArn and ResultsBucket outputs are read "
    "with cloudformation:DescribeStacks."
)
_EXIT_USAGE = (
    "2 bad input, a missing stack or output, or an AWS error (no credentials, access "
    "denied): one line on stderr."
)
STATUS_EXAMPLES = """\
examples:
  playment-export status --stack-name playment-exporter
  AWS_PROFILE=prod playment-export status --stack-name playment-exporter --region eu-west-1
"""
START_EXAMPLES = """\
examples:
  playment-export start --stack-name playment-exporter --project-id my-project --batch-id batch-1
  playment-export start --stack-name playment-exporter --project-id my-project --all-batches
"""


def add_status_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    status = commands.add_parser(
        "status",
        help="list a deployed stack's recent exports with their totals",
        description="List the most recent executions of the stack's export state machine, "
        "newest first: status, start (UTC), duration, and the totals of each one's report "
        "(s3://<ResultsBucket>/_exports/<execution>/report.json); the totals stay blank "
        "while an execution has no report yet. " + _CREDENTIALS + " It also needs "
        "states:ListExecutions and states:DescribeExecution on the state machine, and "
        "s3:GetObject and s3:ListBucket on the results bucket.",
        epilog=STATUS_EXAMPLES + "\nexit status: 0 the list was printed; " + _EXIT_USAGE,
        formatter_class=HelpFormatter,
    )
    _add_stack_arguments(status)
    status.add_argument(
        "--limit",
        type=int,
        default=10,
        metavar="N",
        help=f"how many executions to show, newest first (default 10, at most {MAX_LIMIT})",
    )
    status.set_defaults(handler=_status)


def add_start_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    start = commands.add_parser(
        "start",
        help="start an export on a deployed stack and follow it to the end",
        description="Start an execution of the stack's export state machine with the same "
        "input the console, the API and the schedule use, named export-<UTC timestamp>-<8 hex>, "
        "and follow it until it ends: a progress bar on stderr when it is a terminal (pages "
        "done out of those listed so far, from the counts of the distributed Map runs, one "
        "per chunk of jobs listed; the total grows until the last chunk is listed), then a "
        "summary from its report. Ctrl-C stops following, not the export. "
        + _CREDENTIALS
        + " It also needs states:StartExecution and states:DescribeExecution, and s3:GetObject "
        "on the results bucket; with states:GetExecutionHistory, ListMapRuns and DescribeMapRun "
        "the progress comes from the Map runs, without them from the outcome objects in the "
        "bucket (s3:ListBucket).",
        epilog=START_EXAMPLES
        + "\nexit status: 0 every completed job was exported; 1 some jobs failed "
        "(ExportIncomplete: the report names each) or Playment refused the key "
        "(PlaymentAuthError); " + _EXIT_USAGE + " Bad input is caught before anything is "
        "started. 130 Ctrl-C, 143 SIGTERM: the export keeps running on AWS.",
        formatter_class=HelpFormatter,
    )
    _add_stack_arguments(start)
    add_export_arguments(start)
    start.set_defaults(handler=_start)


def _add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stack-name", required=True, metavar="NAME", help="the CloudFormation stack deployed"
    )
    parser.add_argument(
        "--region", default=None, help="the stack's region (default: AWS_REGION or the profile's)"
    )


# -- status ------------------------------------------------------------------------------


def _status(args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= MAX_LIMIT:
        raise UsageError(f"--limit: must be between 1 and {MAX_LIMIT}")
    from rich.console import Console

    from playment_operator.deployed_stack import DeployedStack, StackError

    try:
        stack = DeployedStack.connect(args.stack_name, args.region)
        executions = stack.executions(args.limit)
    except StackError as error:
        raise UsageError(str(error)) from None
    console = Console()
    if not executions:
        console.print(f"No executions yet of {stack.state_machine_arn}", soft_wrap=True)
        return EXIT_OK
    table = _status_table(stack, executions)
    # Never squeezed: every name and count in full, one line per execution, even when piped
    # (where rich would assume 80 columns) or on a narrow terminal (which wraps the lines).
    natural = console.measure(table, options=console.options.update_width(10_000)).maximum
    console.width = max(console.width, natural)
    console.print(table)
    return EXIT_OK


def _status_table(stack: "DeployedStack", executions: "list[ExecutionSummary]") -> "Table":
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=f"Exports of stack {stack.stack_name} ({stack.region}), newest first",
        caption=f"times in UTC; reports: s3://{stack.results_bucket}/_exports/<execution>/",
        title_justify="left",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
    )
    # The error of a failed execution goes under its name, which is as wide as any error.
    table.add_column("execution", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("started", no_wrap=True)
    for heading in ("duration", *_TOTAL_COLUMNS):
        table.add_column(heading, justify="right", no_wrap=True)
    for execution in executions:
        name = Text(execution.name)
        if execution.error:
            name.append(f"\n  {execution.error}", style="red")
        totals = execution.totals or {}
        counts = [
            Text(str(totals[column]) if column in totals else "",
                 style="red" if column == "failed" and totals.get(column) else "")
            for column in _TOTAL_COLUMNS
        ]  # fmt: skip
        table.add_row(
            name,
            Text(execution.status, style=_STATUS_STYLE.get(execution.status, "")),
            execution.started.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            _duration(execution.duration()),
            *counts,
        )
    return table


def _duration(elapsed: timedelta) -> str:
    seconds = max(0, int(elapsed.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


# -- start -------------------------------------------------------------------------------


def _start(args: argparse.Namespace) -> int:
    request = request_from_args(args)
    from rich.console import Console

    from playment_operator.deployed_stack import DeployedStack, StackError

    try:
        stack = DeployedStack.connect(args.stack_name, args.region)
        name = stack.start(execution_input(request))
    except StackError as error:
        raise UsageError(str(error)) from None
    began = time.monotonic()
    console = Console()
    console.print(f"Started {name} on stack {stack.stack_name} ({stack.region})", soft_wrap=True)
    console.print(f"console: {stack.console_url(name)}", soft_wrap=True, highlight=False)
    try:
        result = _follow(stack, name)
    except StackError as error:
        raise UsageError(
            f"{error} (execution {name} was started and keeps running; "
            f"see: playment-export status --stack-name {stack.stack_name})"
        ) from None
    except KeyboardInterrupt as stop:
        print(
            f"playment-export: interrupted ({signal_name(stop)}): stopped following; "
            f"execution {name} keeps running on AWS "
            f"(playment-export status --stack-name {stack.stack_name})",
            file=sys.stderr,
        )
        return exit_status_of(stop)
    _print_summary(stack, result, time.monotonic() - began)
    if result.succeeded:
        return EXIT_OK
    return EXIT_USAGE if result.error == "InvalidInput" else EXIT_INCOMPLETE


def _follow(stack: "DeployedStack", name: str) -> ExecutionResult:
    """Wait for the execution, showing its progress on stderr (``progress``)."""
    with export_progress() as update:

        def show(progress: "ExportProgress") -> None:
            # Until the last chunk is listed the totals are so far, and the bar's total grows.
            listed = f"{progress.jobs_to_fetch} jobs to fetch" if progress.jobs_to_fetch else ""
            if not progress.listing_finished:
                listed = f"{listed} so far; more may be listed" if listed else "more may be listed"
            source = f"({progress.counted_from})" if progress.counted_from else ""
            detail = " ".join(part for part in (listed, source) if part)
            update(progress.pages_total, progress.pages_done, detail)

        return stack.follow(name, show)


def _print_summary(stack: "DeployedStack", result: ExecutionResult, elapsed: float) -> None:
    report_note = "" if result.report is not None else " (not written)"
    report = f"s3://{stack.results_bucket}/{stack.report_key(result.name)}"
    places = [
        ("results", f"s3://{stack.results_bucket}/<batch_id>/<job_id>.json"),
        ("report", f"{report}{report_note}"),
    ]
    print_export_summary(result, places, elapsed, report_place=report)
