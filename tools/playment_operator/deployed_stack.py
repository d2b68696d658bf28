"""A deployed playment-exporter stack, seen through the AWS APIs: no printing here.

``DeployedStack.connect`` finds the stack's outputs with CloudFormation; the stack then lists
its recent executions with the totals of their reports, starts an export, and follows one
until it ends. Every AWS failure (no credentials, no region, access denied, a missing stack
or output) comes out as a ``StackError`` whose message is one line meant for a person.

An execution lists its jobs in chunks and runs the distributed Map once per chunk, so progress
is added up over every Map run (``ListMapRuns`` + ``DescribeMapRun`` ``itemCounts``), and the
pages and jobs over every ListPages step's result in the execution history. Neither total is
final until the last chunk is listed (its result has no cursor) or the execution has ended.
Where either API is refused (a role without ``states:ListMapRuns`` or
``states:GetExecutionHistory``) it falls back to the bucket: outcome objects written so far
against the pages of the chunks' manifests written so far.
"""

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Self

import boto3
import ijson
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from playment_execution import (
    FINAL_STATUSES,
    ExecutionResult,
    new_execution_name,
    report_summary,
)

REQUIRED_OUTPUTS = ("StateMachineArn", "ResultsBucket")
EXPORTS_PREFIX = "_exports/"
LISTING_STATE = "ListPages"
_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})
_MAP_RUN_ENDED = frozenset({"SUCCEEDED", "FAILED", "ABORTED"})
_ITEMS_DONE = ("succeeded", "failed", "timedOut", "aborted")


class StackError(Exception):
    """The stack cannot be used as asked; the message is one line for the operator."""


@dataclass(frozen=True)
class ExecutionSummary:
    """One execution, with the totals of its report (``None`` while there is no report)."""

    name: str
    arn: str
    status: str
    started: datetime
    stopped: datetime | None
    error: str | None
    totals: Mapping[str, int] | None

    def duration(self, now: datetime | None = None) -> timedelta:
        """How long it ran; so far, for one still running."""
        end = self.stopped or now or datetime.now(tz=self.started.tzinfo or UTC)
        return end - self.started


@dataclass(frozen=True)
class ExportProgress:
    """Where a running export stands, in pages of the manifests (100 jobs a page).

    Until ``listing_finished``, ``pages_total`` and ``jobs_to_fetch`` are the chunks' listed so
    far: each further chunk adds to them.
    """

    status: str
    pages_total: int | None  # None until a first chunk is listed
    pages_done: int
    jobs_to_fetch: int | None
    counted_from: str | None  # "map runs", "outcome objects", or None: nothing to count yet
    listing_finished: bool

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True)
class _MapRunCounts:
    total: int
    done: int

    @classmethod
    def of(cls, item_counts: Mapping[str, Any]) -> Self:
        done = sum(int(item_counts.get(outcome, 0)) for outcome in _ITEMS_DONE)
        return cls(total=int(item_counts.get("total", 0)), done=done)


@dataclass
class _ListingSoFar:
    """The ListPages steps' results (one per chunk) read from the history so far, added up."""

    steps: int = 0
    pages: int = 0
    jobs_to_fetch: int | None = None
    finished: bool = False  # a step said it listed the last chunk
    last_event_id: int = 0  # the history is read on from here at the next poll

    def add(self, listing: Mapping[str, Any]) -> None:
        self.steps += 1
        self.pages += int(listing["pages"])
        if "jobs_to_fetch" in listing:
            self.jobs_to_fetch = (self.jobs_to_fetch or 0) + int(listing["jobs_to_fetch"])
        # A result without a cursor is the whole listing's (a state machine that lists in one
        # step); one with a null cursor is the last chunk's.
        self.finished = listing.get("cursor") is None


class DeployedStack:
    """A stack's state machine and results bucket, reached with the caller's credentials."""

    def __init__(
        self,
        stack_name: str,
        region: str,
        state_machine_arn: str,
        results_bucket: str,
        session: Any,
    ) -> None:
        self.stack_name = stack_name
        self.region = region
        self.state_machine_arn = state_machine_arn
        self.results_bucket = results_bucket
        with aws_errors("creating the AWS clients"):
            self.sfn: Any = session.client("stepfunctions", region_name=region)
            self.s3: Any = session.client("s3", region_name=region)
        self._listings: dict[str, _ListingSoFar] = {}
        self._ended_map_runs: dict[str, dict[str, _MapRunCounts]] = {}  # execution: ARN: counts
        self._manifest_pages: dict[str, int] = {}  # by manifest key
        self._history_usable = True
        self._map_runs_usable = True

    @classmethod
    def connect(cls, stack_name: str, region: str | None = None) -> Self:
        """Find the stack's outputs; ``region`` None: the default chain (env, profile)."""
        with aws_errors("reading the AWS configuration"):
            session = boto3.session.Session(region_name=region)
        resolved = session.region_name
        if not resolved:
            raise StackError(
                "no AWS region: pass --region, or set AWS_REGION or a region in your profile"
            )
        with aws_errors(f"describing stack {stack_name} in {resolved}"):
            cloudformation = session.client("cloudformation", region_name=resolved)
            try:
                stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
            except ClientError as error:
                if _code(error) == "ValidationError" and "does not exist" in str(error):
                    raise StackError(f"stack {stack_name} not found in {resolved}") from None
                raise
        outputs = {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}
        missing = [key for key in REQUIRED_OUTPUTS if not outputs.get(key)]
        if missing:
            raise StackError(
                f"stack {stack_name} in {resolved} has no output {' or '.join(missing)} "
                f"(status {stack.get('StackStatus', 'unknown')}); is it a playment-exporter stack?"
            )
        return cls(
            stack_name, resolved, outputs["StateMachineArn"], outputs["ResultsBucket"], session
        )

    # -- executions ----------------------------------------------------------------------

    def executions(self, limit: int) -> list[ExecutionSummary]:
        """The ``limit`` most recent executions, newest first, with their reports' totals."""
        with aws_errors("listing the executions"):
            listed = self.sfn.list_executions(
                stateMachineArn=self.state_machine_arn, maxResults=limit
            )["executions"]
        summaries = []
        for item in listed[:limit]:
            error = None
            if item["status"] not in {"RUNNING", "SUCCEEDED"}:
                with aws_errors(f"describing execution {item['name']}"):
                    error = self.sfn.describe_execution(executionArn=item["executionArn"]).get(
                        "error"
                    )
            report = self.report_summary(item["name"])
            summaries.append(
                ExecutionSummary(
                    name=item["name"],
                    arn=item["executionArn"],
                    status=item["status"],
                    started=item["startDate"],
                    stopped=item.get("stopDate"),
                    error=error,
                    totals=report.get("totals") if report else None,
                )
            )
        return summaries

    def start(self, execution_input: Mapping[str, Any], name: str | None = None) -> str:
        """Start an export; its execution name."""
        name = name or new_execution_name()
        with aws_errors("starting the execution"):
            self.sfn.start_execution(
                stateMachineArn=self.state_machine_arn,
                name=name,
                input=json.dumps(execution_input),
            )
        return name

    def execution_arn(self, name: str) -> str:
        return f"{self.state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"

    def console_url(self, name: str) -> str:
        arn = self.execution_arn(name)
        return (
            f"https://{self.region}.console.aws.amazon.com/states/home?region={self.region}"
            f"#/v2/executions/details/{arn}"
        )

    def report_key(self, name: str) -> str:
        return f"{EXPORTS_PREFIX}{name}/report.json"

    # -- following one -------------------------------------------------------------------

    def follow(
        self,
        name: str,
        on_progress: Callable[[ExportProgress], None] | None = None,
        *,
        first_poll_s: float = 0.25,
        max_poll_s: float = 5.0,
        sleep: Callable[[float], None] | None = None,
    ) -> ExecutionResult:
        """Wait for the execution to end, polling less often as it goes on; its result.

        With ``on_progress``, each poll also works out the progress and passes it on.
        """
        pause = sleep or time.sleep
        delay = first_poll_s
        while True:
            if on_progress is None:
                status = self._describe(name)["status"]
            else:
                progress = self.progress(name)
                on_progress(progress)
                status = progress.status
            if status in FINAL_STATUSES:
                return self.result(name)
            pause(delay)
            delay = min(delay * 1.5, max_poll_s)

    def result(self, name: str) -> ExecutionResult:
        """The execution as it stands, with its report's summary (without the job lists)."""
        return ExecutionResult.from_description(
            name, self._describe(name), self.report_summary(name)
        )

    def progress(self, name: str) -> ExportProgress:
        status = self._describe(name)["status"]
        listing = self._listing(name)
        listing_finished = status in FINAL_STATUSES or (listing is not None and listing.finished)
        jobs = listing.jobs_to_fetch if listing else None
        counts = self._map_run_counts(name)
        if counts is not None:
            # Each chunk is listed before its Map run starts, so the listing is ahead; the Map
            # runs' own total stands in when the history cannot be read.
            listed = max(counts.total, listing.pages if listing else 0)
            return ExportProgress(status, listed, counts.done, jobs, "map runs", listing_finished)
        total = listing.pages if listing else self._manifest_page_count(name)
        if total is None:
            return ExportProgress(status, None, 0, jobs, None, listing_finished)
        done = self._outcome_count(name)
        return ExportProgress(status, total, done, jobs, "outcome objects", listing_finished)

    # -- reports -------------------------------------------------------------------------

    def report_summary(self, name: str) -> dict[str, Any] | None:
        """The report's fields (its job lists are files beside it); None while there is none."""
        key = self.report_key(name)
        with aws_errors(f"reading s3://{self.results_bucket}/{key}"):
            try:
                body = self.s3.get_object(Bucket=self.results_bucket, Key=key)["Body"]
            except ClientError as error:
                if _code(error) in _NOT_FOUND:
                    return None
                raise
            try:
                summary = report_summary(body)
            except ijson.JSONError as error:
                raise StackError(f"s3://{self.results_bucket}/{key} is not JSON: {error}") from None
            finally:
                body.close()
        return summary

    # -- where the progress comes from ---------------------------------------------------

    def _describe(self, name: str) -> dict[str, Any]:
        with aws_errors(f"describing execution {name}"):
            described: dict[str, Any] = self.sfn.describe_execution(
                executionArn=self.execution_arn(name)
            )
        return described

    def _listing(self, name: str) -> _ListingSoFar | None:
        """The ListPages steps' results so far, added up; None before the first.

        Each poll reads only the events newer than the last poll's: newest first, stopping at
        the first page that reaches back to one already read.
        """
        listing = self._listings.setdefault(name, _ListingSoFar())
        if listing.finished or not self._history_usable:
            return listing if listing.steps else None
        new_events: list[dict[str, Any]] = []
        try:
            pages = self.sfn.get_paginator("get_execution_history").paginate(
                executionArn=self.execution_arn(name),
                reverseOrder=True,
                includeExecutionData=True,
                PaginationConfig={"PageSize": 1000},
            )
            for page in pages:
                unread = [event for event in page["events"] if event["id"] > listing.last_event_id]
                new_events.extend(unread)
                if len(unread) < len(page["events"]):
                    break
        except ClientError:
            self._history_usable = False  # e.g. no states:GetExecutionHistory: use the manifest
            return listing if listing.steps else None
        for event in sorted(new_events, key=lambda event: int(event["id"])):
            listing.last_event_id = int(event["id"])
            exited = event.get("stateExitedEventDetails") or {}
            if exited.get("name") == LISTING_STATE and exited.get("output"):
                result = json.loads(exited["output"]).get("listing")
                if isinstance(result, dict) and "pages" in result:
                    listing.add(result)
        return listing if listing.steps else None

    def _map_run_counts(self, name: str) -> _MapRunCounts | None:
        """Items of every Map run of the execution (one per chunk) added up; None before the
        first. A run that has ended keeps its counts, so it is described once; only the runs
        still going are described again at each poll."""
        if not self._map_runs_usable:
            return None
        ended = self._ended_map_runs.setdefault(name, {})
        counts: list[_MapRunCounts] = []
        try:
            pages = self.sfn.get_paginator("list_map_runs").paginate(
                executionArn=self.execution_arn(name), PaginationConfig={"PageSize": 1000}
            )
            for page in pages:
                for run in page["mapRuns"]:
                    arn = run["mapRunArn"]
                    if arn in ended:
                        counts.append(ended[arn])
                        continue
                    described = self.sfn.describe_map_run(mapRunArn=arn)
                    run_counts = _MapRunCounts.of(described["itemCounts"])
                    if described.get("status") in _MAP_RUN_ENDED:
                        ended[arn] = run_counts
                    counts.append(run_counts)
        except ClientError:
            self._map_runs_usable = False  # e.g. no states:ListMapRuns: count outcome objects
            return None
        except AttributeError:
            # moto 5.2.5 raises this from ListMapRuns in the instant before the execution's
            # worker exists; the next poll asks again.
            return None
        if not counts:
            return None  # the Map has not started yet
        return _MapRunCounts(
            total=sum(run.total for run in counts), done=sum(run.done for run in counts)
        )

    def _manifest_page_count(self, name: str) -> int | None:
        """Pages in the chunks' manifests written so far; None before the first.

        Each manifest is counted once, as it streams by (it holds every job ID of its chunk):
        a listing step writes its manifest once and never again.
        """
        prefix = f"{EXPORTS_PREFIX}{name}/manifests/"
        with aws_errors(f"listing s3://{self.results_bucket}/{prefix}"):
            paginator = self.s3.get_paginator("list_objects_v2")
            keys = [
                item["Key"]
                for page in paginator.paginate(Bucket=self.results_bucket, Prefix=prefix)
                for item in page.get("Contents", [])
            ]
        for key in keys:
            if key not in self._manifest_pages:
                self._manifest_pages[key] = self._pages_in_manifest(key)
        return sum(self._manifest_pages[key] for key in keys) if keys else None

    def _pages_in_manifest(self, key: str) -> int:
        with aws_errors(f"reading s3://{self.results_bucket}/{key}"):
            body = self.s3.get_object(Bucket=self.results_bucket, Key=key)["Body"]
            try:
                return sum(1 for _page in ijson.items(body, "item"))
            finally:
                body.close()

    def _outcome_count(self, name: str) -> int:
        prefix = f"{EXPORTS_PREFIX}{name}/outcomes/pages/"
        with aws_errors(f"listing s3://{self.results_bucket}/{prefix}"):
            paginator = self.s3.get_paginator("list_objects_v2")
            return sum(
                int(page.get("KeyCount", len(page.get("Contents", []))))
                for page in paginator.paginate(Bucket=self.results_bucket, Prefix=prefix)
            )


# -- AWS errors, as one line -------------------------------------------------------------


@contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Turn what boto3 raises into a ``StackError`` that says what was being done."""
    try:
        yield
    except NoCredentialsError:
        raise StackError(
            f"{action}: no AWS credentials found (set AWS_PROFILE and run `aws sso login`, "
            "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        ) from None
    except NoRegionError:
        raise StackError(
            "no AWS region: pass --region, or set AWS_REGION or a region in your profile"
        ) from None
    except ClientError as error:
        code = _code(error)
        message = error.response.get("Error", {}).get("Message", "") or str(error)
        raise StackError(f"{action}: {code}: {_one_line(message)}") from None
    except BotoCoreError as error:
        raise StackError(f"{action}: {_one_line(str(error))}") from None


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


def _one_line(text: str) -> str:
    return " ".join(text.split())
