"""The distributed Map's own Catch, run: the real definition on moto's Step Functions engine.

The functions are stand-ins (through the local engine's one seam into moto): the point is
what the definition does when the Map itself fails, not what the handlers do. On AWS the
two failures below are States.ItemReaderFailed and States.ResultWriterFailed; moto reports
both as States.Runtime, and, with no Catch on the Map, ends the execution there, report-less.
With the Catch, the failed Map goes on to MoreToList like one that ended well: to the next
listing step, or (the listing's cursor null, as here) to the report.
"""

import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from playment_exporter.list_pages import ListingSummary
from playment_exporter.outcomes import JobPage
from playment_exporter.report import ReportSummary
from playment_exporter.run_records import BatchPlan, RunRecords, manifest_key_of
from playment_exporter.storage_s3 import S3Storage
from playment_local.lambda_dispatch import LambdaDispatch, RegisteredFunction

ROOT = Path(__file__).resolve().parents[2]
ASL_PATH = ROOT / "statemachine" / "export.asl.json"
BUCKET = "exports-bucket"
EXECUTION = "catch-check"
# The one listing step: what ListPages returns when the listing is done in one step (cursor
# null, one chunk), for this execution in this bucket.
LISTING = ListingSummary.model_validate(
    json.loads((ROOT / "events" / "write-report.json").read_text(encoding="utf-8"))["listing"]
    | {
        "execution": EXECUTION,
        "bucket": BUCKET,
        "manifest_key": manifest_key_of(EXECUTION, 0),
        "chunk": 0,
        "chunks": 1,
        "cursor": None,
    }
).model_dump(mode="json")
# The execution's input, which each listing step reads from the context object.
EXPORT_INPUT = {"project_id": LISTING["project_id"], "batch_ids": ["batch-a"]}
# What WriteReport returns at its last step (no progress): 4 jobs failed.
REPORT = ReportSummary(
    report_key=f"_exports/{EXECUTION}/report.json",
    complete=False,
    auth_failed=False,
    totals={"failed": 4},
    cause=f"4 jobs failed: see _exports/{EXECUTION}/report.json",
).model_dump(mode="json")


def _code_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "# run in-process by LambdaDispatch\n")
    return buffer.getvalue()


Run = Callable[..., tuple[dict[str, Any], list[Any], dict[str, list[Any]]]]


@pytest.fixture
def run_definition() -> Iterator[Run]:
    """Run the definition once: (DescribeExecution, history events, each function's events)."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        dispatch = LambdaDispatch()

        def run(*, write_manifest: bool, result_writer_bucket: str) -> Any:
            s3 = boto3.client("s3")
            s3.create_bucket(Bucket=BUCKET)
            records = RunRecords(S3Storage(s3, BUCKET), EXECUTION)
            iam = boto3.client("iam")
            role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            calls: dict[str, list[Any]] = {"ListPages": [], "FetchResult": [], "WriteReport": []}

            def list_pages(event: Any, _context: Any) -> Any:
                # What ListPages leaves in S3: the batch plan, the chunk's settled jobs (none)
                # and, unless the ItemReader is to fail, the chunk's manifest of one page
                calls["ListPages"].append(event)
                records.write_batch_plan(BatchPlan(batch_ids=["batch-a"]))
                if write_manifest:
                    page = {"project_id": "demo-project", "batch_id": "batch-a", "page": 0}
                    records.write_chunk(0, [JobPage(**page, job_ids=["j1"])], [])
                else:
                    records.write_json(records.listing_outcome_key(0), [])
                return LISTING

            def fetch_result(event: Any, _context: Any) -> Any:
                calls["FetchResult"].append(event)
                return {"exported": 0, "failed": 1}

            def write_report(event: Any, _context: Any) -> Any:
                calls["WriteReport"].append(event)
                return REPORT

            handlers = {
                "ListPages": list_pages,
                "FetchResult": fetch_result,
                "WriteReport": write_report,
            }
            substitutions = {
                "MapMaxConcurrency": "4",
                "ResultsBucketName": result_writer_bucket,
                "ResultsIndexLocation": f"s3://{BUCKET}/index.v1/",
            }
            for name, handler in handlers.items():
                substitutions[f"{name}FunctionArn"] = boto3.client("lambda").create_function(
                    FunctionName=name,
                    Runtime="python3.12",
                    Role=role,
                    Handler="app.lambda_handler",
                    Code={"ZipFile": _code_zip()},
                )["FunctionArn"]
                dispatch.register(name, RegisteredFunction(name, handler, 60, 128))
            definition = ASL_PATH.read_text(encoding="utf-8")
            for name, value in substitutions.items():
                definition = definition.replace("${" + name + "}", value)
            sfn = boto3.client("stepfunctions")
            machine = sfn.create_state_machine(name="m", definition=definition, roleArn=role)
            execution = sfn.start_execution(
                stateMachineArn=machine["stateMachineArn"],
                name=EXECUTION,
                input=json.dumps(EXPORT_INPUT),
            )["executionArn"]
            deadline = time.monotonic() + 60
            while (described := sfn.describe_execution(executionArn=execution))[
                "status"
            ] == "RUNNING":
                assert time.monotonic() < deadline, "the execution did not end"
                time.sleep(0.05)
            history = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
            return described, history, calls

        dispatch.install()
        try:
            yield run
        finally:
            dispatch.uninstall()


@pytest.mark.parametrize(
    ("write_manifest", "result_writer_bucket"),
    [(False, BUCKET), (True, "no-such-bucket")],
    ids=["item-reader-fails", "result-writer-fails"],
)
def test_a_failed_map_still_writes_the_report_and_ends_on_its_verdict(
    run_definition: Run,
    write_manifest: bool,
    result_writer_bucket: str,
) -> None:
    # Given a Map that fails itself: its manifest cannot be read, or its results not written
    # When the definition runs, its one listing step done (cursor null)
    described, history, calls = run_definition(
        write_manifest=write_manifest, result_writer_bucket=result_writer_bucket
    )

    # Then the Map did fail
    assert "MapStateFailed" in [event["type"] for event in history]
    # And ListPages ran once, as the first step: the execution's input, no cursor
    (listed,) = calls["ListPages"]
    assert (listed["input"], listed["execution"], listed["cursor"]) == (
        EXPORT_INPUT,
        EXECUTION,
        None,
    )
    # (and the execution's start time, as an ISO 8601 timestamp)
    assert datetime.fromisoformat(listed["started_at"]).tzinfo is not None
    # And the failed Map went on to MoreToList, which (the cursor null) went to the report,
    # whose outcome was announced before the verdict
    entered = [
        event["stateEnteredEventDetails"]["name"]
        for event in history
        if "stateEnteredEventDetails" in event
    ]
    after_map = entered[entered.index("FetchPages") + 1 :]
    assert after_map == [
        "MoreToList",
        "BeginReport",
        "WriteReport",
        "ReportDone",
        "OutcomeIncomplete",
        "AnnounceFinished",
        "Verdict",
        "ExportFailed",
    ]
    assert entered.count("ListPages") == 1
    # And WriteReport still ran, once, on the listing as ListPages returned it, no progress yet
    assert calls["WriteReport"] == [{"execution": EXECUTION, "listing": LISTING, "progress": None}]
    # And the execution ended on the report's verdict, not on the Map's error
    assert (described["status"], described["error"]) == ("FAILED", "ExportIncomplete")
    assert described["cause"] == REPORT["cause"]
    # And the Map's error was kept beside the listing, for the execution history
    (exited,) = [
        json.loads(event["stateExitedEventDetails"]["output"])
        for event in history
        if event["type"] == "MapStateExited"
    ]
    assert exited["listing"] == LISTING
    assert exited["fetch_pages_error"]["Error"].startswith("States.")
