"""``playment-export status`` and ``start`` against a stack deployed into moto.

The stack is the local engine's (the real state machine on moto's Step Functions engine, the
real handlers, the simulator behind them) plus a CloudFormation stack whose outputs name its
state machine and bucket, as ``template.yaml``'s outputs do on AWS.
"""

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core import set_initial_no_auth_action_count

from playment_cli.main import main
from playment_local.engine import LocalEngine
from playment_operator.deployed_stack import DeployedStack, ExportProgress
from playment_simulator import FaultPlan, Simulator, sample_catalog
from tests.conftest import API_KEY, REGION

STACK = "playment-exporter-test"
PROJECT = "demo-project"
BATCHES = {"batch-ok": 150, "batch-broken": 20}
BROKEN_JOB = "batch-broken-job-00004"
EXECUTION_NAME = re.compile(r"export-\d{8}T\d{6}-[0-9a-f]{8}")
# moto has no model for this resource type; it only needs to hold the outputs up.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Tried to parse AWS.+WaitConditionHandle:UserWarning"
)


def create_stack(outputs: dict[str, str], name: str = STACK) -> None:
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))


@pytest.fixture
def deployed(start_simulator: Callable[..., Simulator]) -> Iterator[LocalEngine]:
    """The stack in moto, behind a simulator where one job's result is never JSON."""
    catalog = sample_catalog(PROJECT, BATCHES)
    faults = FaultPlan(permanent={("storage", BROKEN_JOB): "not_json"})
    simulator = start_simulator(catalog, faults=faults)
    with LocalEngine(api_url=simulator.api_url, api_key=API_KEY) as engine:
        create_stack({"StateMachineArn": engine.state_machine_arn,
                      "ResultsBucket": engine.bucket})  # fmt: skip
        yield engine


@pytest.fixture
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich tables at a width where no cell is folded, so rows can be read back."""
    monkeypatch.setenv("COLUMNS", "200")


def start_args(*batch_args: str) -> list[str]:
    return ["start", "--stack-name", STACK, "--project-id", PROJECT, *batch_args]


def executions(engine: LocalEngine) -> list[dict[str, Any]]:
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    listed: list[dict[str, Any]] = stepfunctions.list_executions(
        stateMachineArn=engine.state_machine_arn
    )["executions"]
    return listed


def row_of(output: str, name: str) -> list[str]:
    """The cells of the table row that starts with the execution ``name``."""
    (line,) = [line for line in output.splitlines() if name in line]
    return re.split(r"\s{2,}", line.strip())


def test_start_runs_an_export_to_success_and_prints_the_summary(
    deployed: LocalEngine, capsys: pytest.CaptureFixture[str], wide_terminal: None
) -> None:
    # Given a deployed stack and a batch whose completed jobs all export cleanly
    # When an export of it is started by stack name
    status = main(start_args("--batch-id", "batch-ok"))
    # Then it exits 0 once the execution has succeeded
    out = capsys.readouterr().out
    assert status == 0, out
    (execution,) = executions(deployed)
    assert EXECUTION_NAME.fullmatch(execution["name"])
    assert execution["status"] == "SUCCEEDED"
    # And the summary is the report's, and says where it lives
    report = deployed.read_json(f"_exports/{execution['name']}/report.json")
    assert report["totals"]["exported"] == 150 - 150 // 9
    assert f"Export {execution['name']}" in out
    assert "SUCCEEDED" in out
    assert re.search(rf"exported\s*│\s*{report['totals']['exported']}\b", out)
    assert re.search(rf"skipped: not_completed\s*│\s*{150 // 9}\b", out)
    assert f"s3://{deployed.bucket}/_exports/{execution['name']}/report.json" in out
    # And the results are in the bucket, one object per completed job
    assert len(deployed.keys("batch-ok/")) == report["totals"]["exported"]


def test_start_exits_1_when_a_job_fails_and_names_the_error(
    deployed: LocalEngine, capsys: pytest.CaptureFixture[str], wide_terminal: None
) -> None:
    # Given a batch with one job whose stored result is not JSON
    # When an export of it is started
    status = main(start_args("--batch-id", "batch-broken"))
    # Then it exits 1, the execution failed with ExportIncomplete, and the summary says why
    out = capsys.readouterr().out
    assert status == 1, out
    (execution,) = executions(deployed)
    assert execution["status"] == "FAILED"
    assert "FAILED (ExportIncomplete)" in out
    assert re.search(r"failed: invalid_json\s*│\s*1\b", out)
    (failed_list,) = deployed.keys(f"_exports/{execution['name']}/report/failed/")
    body = deployed.s3.get_object(Bucket=deployed.bucket, Key=failed_list)["Body"].read()
    assert [json.loads(line)["job_id"] for line in body.splitlines()] == [BROKEN_JOB]


def test_on_a_terminal_start_shows_the_pages_done_on_stderr(
    deployed: LocalEngine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a terminal (as rich sees it) / When a two-page export is started (18 jobs to
    # fetch, in pages of 10)
    monkeypatch.setenv("FORCE_COLOR", "1")
    status = main(start_args("--batch-id", "batch-broken"))
    # Then a progress bar on stderr counted the pages from the Map runs, and stdout has no bar
    captured = capsys.readouterr()
    assert status == 1
    plain_err = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", captured.err)
    assert "2/2 pages" in plain_err
    assert "(map runs)" in plain_err
    assert "pages" not in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", captured.out)


def test_status_lists_both_executions_newest_first_with_their_totals(
    deployed: LocalEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given one export that succeeded and, after it, one that failed
    assert main(start_args("--batch-id", "batch-ok")) == 0
    assert main(start_args("--batch-id", "batch-broken")) == 1
    failed_run, good_run = (item["name"] for item in executions(deployed))
    capsys.readouterr()
    # When the stack's status is asked for
    status = main(["status", "--stack-name", STACK, "--region", REGION])
    # Then both are listed, newest first, each with its report's totals
    out = capsys.readouterr().out
    assert status == 0, out
    assert out.index(failed_run) < out.index(good_run)
    for name in (good_run, failed_run):
        totals = deployed.read_json(f"_exports/{name}/report.json")["totals"]
        cells = row_of(out, name)
        assert cells[-4:] == [str(totals[key]) for key in ("jobs", "exported", "skipped", "failed")]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", cells[2])
        assert re.fullmatch(r"\d+s|\d+m \d\ds", cells[3])
    assert row_of(out, good_run)[1] == "SUCCEEDED"
    assert row_of(out, failed_run)[1] == "FAILED"
    assert "ExportIncomplete" in out
    # When only the newest is asked for / Then only it is listed
    assert main(["status", "--stack-name", STACK, "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert failed_run in out
    assert good_run not in out


def test_following_counts_pages_from_the_map_runs_or_else_from_the_bucket(
    deployed: LocalEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an export of 150 jobs (134 to fetch: 14 pages of 10 for MapMaxConcurrency 40),
    # started on the stack
    stack = DeployedStack.connect(STACK)
    name = stack.start({"project_id": PROJECT, "batch_ids": ["batch-ok"]})
    # When it is followed with a progress callback
    seen: list[ExportProgress] = []
    result = stack.follow(name, seen.append, first_poll_s=0.05, max_poll_s=0.2)
    # Then the progress ends with every manifest page done, counted by the Map runs
    assert result.succeeded
    manifests = deployed.keys(f"_exports/{name}/manifests/")
    pages = sum(len(deployed.read_json(key)) for key in manifests)
    assert pages == 14
    final = seen[-1]
    assert (final.status, final.counted_from) == ("SUCCEEDED", "map runs")
    assert final.listing_finished
    assert (final.pages_done, final.pages_total) == (pages, pages)
    assert final.jobs_to_fetch == 150 - 150 // 9
    assert all(step.pages_done <= pages for step in seen)
    # When the caller may not read Map runs nor the execution history
    refused = DeployedStack.connect(STACK)

    def access_denied(**_: Any) -> Any:
        error = {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}
        raise ClientError(error, "ListMapRuns")

    monkeypatch.setattr(refused.sfn, "list_map_runs", access_denied)
    monkeypatch.setattr(refused.sfn, "get_execution_history", access_denied)
    fallback = refused.progress(name)
    # Then the pages are counted from the outcome objects against the manifest
    assert fallback.counted_from == "outcome objects"
    assert (fallback.pages_done, fallback.pages_total) == (pages, pages)


# -- an execution that lists in chunks and runs the Map once per chunk -------------------
#
# moto's engine runs this project's definition with a single Map run, so what Step Functions
# says about such an execution is stood in for on the client: its status, the ListPages
# results in its history, and its Map runs, which ListMapRuns answers two to a page.

MAP_RUNS_PER_PAGE = 2


@dataclass(frozen=True)
class MapRun:
    status: str  # RUNNING, SUCCEEDED, FAILED or ABORTED
    total: int
    succeeded: int = 0
    failed: int = 0
    timed_out: int = 0
    aborted: int = 0
    running: int = 0


@dataclass(frozen=True)
class Chunk:
    pages: int
    jobs_to_fetch: int
    last: bool = False  # its listing's cursor is null: nothing more to list


@dataclass(frozen=True)
class Poll:
    """What the execution looks like from one poll on: status, chunks listed, Map runs."""

    status: str
    chunks: list[Chunk]
    map_runs: dict[str, MapRun]  # by Map run ARN


class ChunkedExecution:
    """Step Functions' answers about one execution, a ``Poll`` further at each
    DescribeExecution (each ``progress`` asks it first), staying at the last one."""

    def __init__(self, sfn: Any, monkeypatch: pytest.MonkeyPatch, polls: list[Poll]) -> None:
        self.polls = polls
        self.now = -1
        self.described: Counter[str] = Counter()  # DescribeMapRun calls, by Map run ARN
        self.map_run_pages_asked: list[str | None] = []  # each ListMapRuns call's nextToken
        for method in ("describe_execution", "get_execution_history", "list_map_runs",
                       "describe_map_run", "start_execution"):  # fmt: skip
            monkeypatch.setattr(sfn, method, getattr(self, method))

    @property
    def poll(self) -> Poll:
        return self.polls[max(self.now, 0)]

    def start_execution(self, **_: Any) -> dict[str, Any]:
        return {"executionArn": "arn", "startDate": datetime.now(UTC)}

    def describe_execution(self, **request: Any) -> dict[str, Any]:
        self.now = min(self.now + 1, len(self.polls) - 1)
        return {"executionArn": request["executionArn"], "status": self.poll.status,
                "startDate": datetime.now(UTC)}  # fmt: skip

    def get_execution_history(self, **request: Any) -> dict[str, Any]:
        """Every event so far (as moto answers: one page): per chunk, the ListPages step's
        result, then the Map state entered."""
        events: list[dict[str, Any]] = []
        for chunk in self.poll.chunks:
            cursor = None if chunk.last else {"batch_index": 0, "page_token": "t"}
            listing = {"pages": chunk.pages, "jobs_to_fetch": chunk.jobs_to_fetch,
                       "cursor": cursor}  # fmt: skip
            output = json.dumps({"listing": listing, "max_concurrency": 40})
            exited = {"name": "ListPages", "output": output}
            events.append({"id": len(events) + 1, "type": "TaskStateExited",
                           "stateExitedEventDetails": exited})  # fmt: skip
            events.append({"id": len(events) + 1, "type": "MapStateEntered"})
        return {"events": events[::-1] if request.get("reverseOrder") else events}

    def list_map_runs(self, **request: Any) -> dict[str, Any]:
        self.map_run_pages_asked.append(request.get("nextToken"))
        arns = list(self.poll.map_runs)
        start = int(request.get("nextToken") or 0)
        page: dict[str, Any] = {
            "mapRuns": [{"mapRunArn": arn} for arn in arns[start : start + MAP_RUNS_PER_PAGE]]
        }
        if start + MAP_RUNS_PER_PAGE < len(arns):
            page["nextToken"] = str(start + MAP_RUNS_PER_PAGE)
        return page

    def describe_map_run(self, **request: Any) -> dict[str, Any]:
        arn = request["mapRunArn"]
        self.described[arn] += 1
        run = self.poll.map_runs[arn]
        counts = {"total": run.total, "succeeded": run.succeeded, "failed": run.failed,
                  "timedOut": run.timed_out, "aborted": run.aborted, "running": run.running,
                  "pending": run.total - run.succeeded - run.failed - run.timed_out
                  - run.aborted - run.running}  # fmt: skip
        return {"mapRunArn": arn, "status": run.status, "itemCounts": counts}


@pytest.fixture
def stack_in_chunks(aws: None) -> DeployedStack:
    """A stack whose results bucket is moto's; its executions are stood in for."""
    bucket = "chunked-results"
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=bucket)
    machine = f"arn:aws:states:{REGION}:123456789012:stateMachine:chunked"
    create_stack({"StateMachineArn": machine, "ResultsBucket": bucket})
    return DeployedStack.connect(STACK)


def test_progress_adds_up_every_map_run_over_every_page_of_list_map_runs(
    stack_in_chunks: DeployedStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an execution with five Map runs, which ListMapRuns answers in three pages, their
    # items done in every way DescribeMapRun counts them
    runs = {
        "run-1": MapRun("SUCCEEDED", total=10, succeeded=9, failed=1),
        "run-2": MapRun("FAILED", total=10, succeeded=4, timed_out=2, aborted=4),
        "run-3": MapRun("SUCCEEDED", total=10, succeeded=10),
        "run-4": MapRun("ABORTED", total=10, succeeded=3, aborted=7),
        "run-5": MapRun("RUNNING", total=8, succeeded=2, failed=1, running=4),
    }
    execution = ChunkedExecution(
        stack_in_chunks.sfn, monkeypatch, [Poll("RUNNING", chunks=[], map_runs=runs)]
    )
    # When its progress is asked for
    progress = stack_in_chunks.progress("export-in-chunks")
    # Then every page of Map runs was read, each run described, and their items added up:
    # done is succeeded, failed, timed out and aborted, not pending nor running
    assert execution.map_run_pages_asked == [None, "2", "4"]
    assert set(execution.described) == set(runs)
    assert progress.counted_from == "map runs"
    assert (progress.pages_done, progress.pages_total) == (10 + 10 + 10 + 10 + 3, 48)
    # And with no listing in the history and the execution running, more may be listed
    assert not progress.listing_finished


def test_a_map_run_that_has_ended_is_described_once_across_polls(
    stack_in_chunks: DeployedStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an execution polled three times: the first chunk's Map run has ended by the first
    # poll, the second's runs through all three, and a third chunk's starts at the second
    first = MapRun("SUCCEEDED", total=10, succeeded=10)
    polls = [
        Poll("RUNNING", [], {"run-1": first, "run-2": MapRun("RUNNING", 10, succeeded=1)}),
        Poll("RUNNING", [], {"run-1": first, "run-2": MapRun("RUNNING", 10, succeeded=5),
                             "run-3": MapRun("RUNNING", 6, running=6)}),
        Poll("RUNNING", [], {"run-1": first, "run-2": MapRun("SUCCEEDED", 10, succeeded=10),
                             "run-3": MapRun("RUNNING", 6, succeeded=2, running=4)}),
    ]  # fmt: skip
    execution = ChunkedExecution(stack_in_chunks.sfn, monkeypatch, polls)
    # When its progress is asked for at each poll
    seen = [stack_in_chunks.progress("export-in-chunks") for _ in polls]
    # Then the ended run was described once, the running ones at every poll they were listed
    assert execution.described == {"run-1": 1, "run-2": 3, "run-3": 2}
    # And each poll counts what the running runs had done by then, the total growing as a
    # Map run is added
    assert [(step.pages_done, step.pages_total) for step in seen] == [
        (10 + 1, 20),
        (10 + 5, 26),
        (10 + 10 + 2, 26),
    ]
    # When it is polled once more after every run has ended
    stack_in_chunks.progress("export-in-chunks")
    # Then only the run that was still going at the last poll is described again
    assert execution.described == {"run-1": 1, "run-2": 3, "run-3": 3}


def test_pages_and_jobs_are_added_up_over_the_chunks_and_final_once_the_last_is_listed(
    stack_in_chunks: DeployedStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an execution whose listing goes on over three polls: a chunk, then another, then
    # the last one (its cursor null), each listed before its Map run starts
    chunks = [Chunk(pages=3, jobs_to_fetch=30), Chunk(pages=4, jobs_to_fetch=40),
              Chunk(pages=2, jobs_to_fetch=15, last=True)]  # fmt: skip
    polls = [
        Poll("RUNNING", chunks[:1], {"run-1": MapRun("RUNNING", 3, succeeded=1)}),
        Poll("RUNNING", chunks[:2], {"run-1": MapRun("SUCCEEDED", 3, succeeded=3)}),
        Poll("RUNNING", chunks, {"run-1": MapRun("SUCCEEDED", 3, succeeded=3),
                                 "run-2": MapRun("SUCCEEDED", 4, succeeded=4)}),
    ]  # fmt: skip
    ChunkedExecution(stack_in_chunks.sfn, monkeypatch, polls)
    # When its progress is asked for at each poll
    seen = [stack_in_chunks.progress("export-in-chunks") for _ in polls]
    # Then the pages and jobs are those of every chunk listed so far, each counted once
    # though the history holds the earlier ones again at every poll
    assert [(step.pages_done, step.pages_total, step.jobs_to_fetch) for step in seen] == [
        (1, 3, 30),
        (3, 3 + 4, 30 + 40),
        (3 + 4, 3 + 4 + 2, 30 + 40 + 15),
    ]
    # And they are final only once the last chunk is listed, though the execution still runs
    assert [step.listing_finished for step in seen] == [False, False, True]


def test_start_shows_the_totals_as_so_far_until_the_last_chunk_is_listed(
    stack_in_chunks: DeployedStack, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, wide_terminal: None,
) -> None:  # fmt: skip
    # Given a terminal (as rich sees it) and an execution listed in two chunks, the second
    # listed at the second poll, which ends at the third
    monkeypatch.setenv("FORCE_COLOR", "1")
    chunks = [Chunk(pages=3, jobs_to_fetch=30), Chunk(pages=4, jobs_to_fetch=40, last=True)]
    polls = [
        Poll("RUNNING", chunks[:1], {"run-1": MapRun("RUNNING", 3, succeeded=1)}),
        Poll("RUNNING", chunks, {"run-1": MapRun("SUCCEEDED", 3, succeeded=3),
                                 "run-2": MapRun("RUNNING", 4, succeeded=2)}),
        Poll("SUCCEEDED", chunks, {"run-1": MapRun("SUCCEEDED", 3, succeeded=3),
                                   "run-2": MapRun("SUCCEEDED", 4, succeeded=4)}),
    ]  # fmt: skip
    ChunkedExecution(stack_in_chunks.sfn, monkeypatch, polls)
    monkeypatch.setattr(DeployedStack, "connect", lambda *_, **__: stack_in_chunks)
    # When an export is started and followed
    status = main(start_args("--batch-id", "batch-ok"))
    # Then the bar said the totals were so far while more could be listed, then grew to the
    # whole export's
    plain_err = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", capsys.readouterr().err)
    assert status == 0
    assert "1/3 pages · 30 jobs to fetch so far; more may be listed (map runs)" in plain_err
    assert "5/7 pages · 70 jobs to fetch (map runs)" in plain_err
    assert "7/7 pages · 70 jobs to fetch (map runs)" in plain_err


def test_a_missing_stack_or_output_exits_2_with_one_line(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no stack of that name / When its status is asked for
    status = main(["status", "--stack-name", "no-such-stack"])
    # Then it exits 2 with one line naming the stack and the region
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err.splitlines() == [
        f"playment-export: error: stack no-such-stack not found in {REGION}"
    ]
    assert captured.out == ""
    # Given a stack without a ResultsBucket output / When an export is started on it
    create_stack({"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:x"})
    status = main(start_args("--batch-id", "batch-ok"))
    # Then it exits 2 with one line naming the missing output
    err = capsys.readouterr().err
    assert status == 2
    assert len(err.splitlines()) == 1
    assert "has no output ResultsBucket" in err


def test_bad_input_exits_2_before_any_execution_starts(
    deployed: LocalEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a deployed stack / When an export is started with a batch ID that escapes its prefix
    status = main(start_args("--batch-id", "../x"))
    # Then it exits 2 naming the flag, and no execution was started
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("playment-export: error: --batch-id: '../x' is not a valid ID")
    assert len(err.splitlines()) == 1
    assert executions(deployed) == []


def test_aws_errors_exit_2_with_one_line_and_no_traceback(
    aws: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no credentials anywhere / When the status is asked for
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    status = main(["status", "--stack-name", STACK])
    # Then it exits 2 with one line that says so
    err = capsys.readouterr().err
    assert status == 2
    assert err.splitlines() == [
        f"playment-export: error: describing stack {STACK} in {REGION}: no AWS credentials "
        "found (set AWS_PROFILE and run `aws sso login`, or set AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY)"
    ]

    # Given credentials of a user with no permission, and moto enforcing IAM
    @set_initial_no_auth_action_count(2)
    def as_a_user_without_permissions() -> int:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "admin-key")  # the two calls moto lets by
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "admin-secret")
        iam = boto3.client("iam", region_name=REGION)
        iam.create_user(UserName="nobody")
        key = iam.create_access_key(UserName="nobody")["AccessKey"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        # When an export is started
        return main(start_args("--batch-id", "batch-ok"))

    status = as_a_user_without_permissions()
    # Then it exits 2 with one line naming the refused call
    err = capsys.readouterr().err
    assert status == 2
    (line,) = err.splitlines()
    assert line.startswith(f"playment-export: error: describing stack {STACK} in {REGION}: ")
    assert "AccessDenied" in line
    assert "Traceback" not in err


def test_help_reads_well(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the command / When the help of the whole command and of each new one is asked for
    texts: dict[str, str] = {}
    for command in ("", "status", "start"):
        with pytest.raises(SystemExit) as exit_info:
            main([*command.split(), "--help"])
        assert exit_info.value.code == 0
        texts[command] = " ".join(capsys.readouterr().out.split())
    # Then the overview names both; each says what it needs, what it does and how it exits
    assert "status list the stack's recent exports with their totals" in texts[""]
    assert "start start an export on the stack and follow it to the end" in texts[""]
    for command in ("status", "start"):
        text = texts[command]
        assert "--stack-name NAME" in text
        assert "--region REGION" in text
        assert "StateMachineArn and ResultsBucket outputs" in text
        assert "AWS_PROFILE" in text
        assert "exit status: 0" in text
        assert "access denied" in text
    assert "--limit N" in texts["status"]
    assert "report.json" in texts["status"]
    assert "(--batch-id ID | --all-batches)" in texts["start"]
    assert "export-<UTC timestamp>-<8 hex>" in texts["start"]
    assert "Ctrl-C stops following, not the export" in texts["start"]
    assert "1 some jobs failed (ExportIncomplete" in texts["start"]
