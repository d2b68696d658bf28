"""The distributed Map's own Catch, run: the real definition on moto's Step Functions engine.

The functions are stand-ins (through the local engine's one seam into moto): the point is
what the definition does when the Map itself fails, not what the handlers do. On AWS the
two failures below are States.ItemReaderFailed and States.ResultWriterFailed; moto reports
both as States.Runtime, and, with no Catch on the Map, ends the execution there, report-less.
"""

import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from playment_local.lambda_dispatch import LambdaDispatch, RegisteredFunction

ROOT = Path(__file__).resolve().parents[2]
ASL_PATH = ROOT / "statemachine" / "export.asl.json"
BUCKET = "exports-bucket"
EXECUTION = "catch-check"
MANIFEST_KEY = f"_exports/{EXECUTION}/pages.json"
LISTING = json.loads((ROOT / "events" / "write-report.json").read_text(encoding="utf-8"))[
    "listing"
] | {"execution": EXECUTION, "bucket": BUCKET, "manifest_key": MANIFEST_KEY}
REPORT = {
    "report_key": f"_exports/{EXECUTION}/report.json",
    "complete": False,
    "auth_failed": False,
    "totals": {"failed": 4},
    "cause": f"4 jobs failed: see _exports/{EXECUTION}/report.json",
}


def _code_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "# run in-process by LambdaDispatch\n")
    return buffer.getvalue()


@pytest.fixture
def run_definition() -> Iterator[Callable[..., tuple[dict[str, Any], list[Any], list[Any]]]]:
    """Run the definition once: (DescribeExecution, history events, WriteReport's events)."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        dispatch = LambdaDispatch()

        def run(*, write_manifest: bool, result_writer_bucket: str) -> Any:
            s3 = boto3.client("s3")
            s3.create_bucket(Bucket=BUCKET)
            if write_manifest:
                page = {"project_id": "demo-project", "batch_id": "batch-a", "job_ids": ["j1"]}
                s3.put_object(Bucket=BUCKET, Key=MANIFEST_KEY, Body=json.dumps([page]))
            iam = boto3.client("iam")
            role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            reported: list[Any] = []

            def write_report(event: Any, _context: Any) -> Any:
                reported.append(event)
                return REPORT

            handlers = {
                "ListPages": lambda _event, _context: LISTING,
                "FetchResult": lambda _event, _context: {"exported": 0, "failed": 1},
                "WriteReport": write_report,
            }
            substitutions = {"MapMaxConcurrency": "4", "ResultsBucketName": result_writer_bucket}
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
                stateMachineArn=machine["stateMachineArn"], name=EXECUTION, input="{}"
            )["executionArn"]
            deadline = time.monotonic() + 60
            while (described := sfn.describe_execution(executionArn=execution))[
                "status"
            ] == "RUNNING":
                assert time.monotonic() < deadline, "the execution did not end"
                time.sleep(0.05)
            history = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
            return described, history, reported

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
    run_definition: Callable[..., tuple[dict[str, Any], list[Any], list[Any]]],
    write_manifest: bool,
    result_writer_bucket: str,
) -> None:
    # Given a Map that fails itself: its manifest cannot be read, or its results not written
    # When the definition runs
    described, history, reported = run_definition(
        write_manifest=write_manifest, result_writer_bucket=result_writer_bucket
    )

    # Then the Map did fail
    assert "MapStateFailed" in [event["type"] for event in history]
    # And WriteReport still ran, once, on the listing as ListPages returned it
    assert reported == [{"execution": EXECUTION, "listing": LISTING}]
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
