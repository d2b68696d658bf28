"""The "Playment Export Finished" event, end to end: the real definition on moto's engine puts
it on moto's default bus, whose rules deliver it to SQS queues the test subscribes, as a
training pipeline's rule would be. The rule patterns are the documentation's own
(docs/operating.md).

Every execution puts exactly one, whatever ended it: a complete, incomplete or refused export
(with its report), and a listing or report step that failed for good (outcome "failed", the
step's error and cause, no report). An event that cannot be put is counted in the metric the
stack's alarm watches.
"""

import copy
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.core.exceptions import JsonRESTError
from moto.events.exceptions import ValidationException
from moto.events.models import EventsBackend

from playment_execution import ExecutionResult
from playment_local.aws_sandbox import REGION
from playment_local.engine import LocalEngine
from playment_simulator import FaultPlan, sample_catalog
from tests.conftest import API_KEY

PROJECT = "demo-project"
OPERATING_PAGE = Path(__file__).resolve().parents[2] / "docs" / "operating.md"
SECTION = "## Know when an export finished"
SOURCE = "playment-exporter"
DETAIL_TYPE = "Playment Export Finished"
# Every finished export, whatever its outcome.
EVERY_OUTCOME = {"source": [SOURCE], "detail-type": [DETAIL_TYPE]}
# What the contract promises of a delivered event. The rest is the delivery's own, and two
# rules' copies of one event may differ there.
PROMISED = ("id", "source", "detail-type", "detail", "resources")
# A step that crashes is tried this many times in all (the definition's crash retrier).
CRASH_ATTEMPTS = 3
NAMESPACE = "PlaymentExporter"

Received = Callable[[], list[dict[str, Any]]]


def documented_rule_pattern() -> dict[str, Any]:
    """The one event pattern (its values lists) the operating page's section shows."""
    text = OPERATING_PAGE.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    blocks = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", section, re.S)]
    (pattern,) = [block for block in blocks if isinstance(block.get("source"), list)]
    return dict(pattern)


def subscribe(name: str, pattern: dict[str, Any]) -> Received:
    """A rule on the default bus sending what ``pattern`` matches to a new SQS queue; what the
    queue has received so far. Inside the engine's sandbox, with the engine's own key."""
    sqs = boto3.client("sqs", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": queue_arn}])

    def received() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        return [json.loads(message["Body"]) for message in messages.get("Messages", [])]

    return received


def promised(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each delivered event as far as the contract goes."""
    return [{key: event[key] for key in PROMISED} for event in events]


def assert_announces(
    event: dict[str, Any],
    engine: LocalEngine,
    *,
    result: ExecutionResult,
    request: dict[str, Any],
    outcome: str,
    index: str,
) -> dict[str, Any] | None:
    """The event is the execution's, with every documented field: the report's totals and
    location (null for a failed export, which has no report), and the error and cause the
    execution ended with. The report, if there is one."""
    report_key = f"_exports/{result.name}/report.json"
    report = engine.read_json(report_key)
    assert (event["source"], event["detail-type"]) == (SOURCE, DETAIL_TYPE)
    if outcome == "failed":
        totals, location = None, None
    else:
        assert report is not None
        totals, location = report["totals"], f"s3://{engine.bucket}/{report_key}"
    assert event["detail"] == {
        "execution": result.name,
        "input": request,
        "outcome": outcome,
        "totals": totals,
        "report": location,
        "index": index,
        "error": result.error,
        "cause": result.cause,
    }
    # And Step Functions named the state machine and the execution among its resources
    execution_arn = (
        engine.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{result.name}"
    )
    assert set(event["resources"]) >= {engine.state_machine_arn, execution_arn}
    return None if report is None else dict(report)


def calls(engine: LocalEngine, name: str, function: str) -> int:
    """How many times the execution invoked ``function`` (its logical ID), retries included."""
    return len(
        [
            e
            for e in engine.history(name)
            if e["type"] == "TaskScheduled"
            and e["taskScheduledEventDetails"]["resourceType"] == "lambda"
            and function in json.loads(e["taskScheduledEventDetails"]["parameters"])["FunctionName"]
        ]
    )


def events_put(engine: LocalEngine, name: str) -> int:
    return len(
        [
            e
            for e in engine.history(name)
            if e["type"] == "TaskScheduled"
            and e["taskScheduledEventDetails"]["resourceType"] == "events"
        ]
    )


def failed_announcements(engine: LocalEngine) -> float:
    """The FinishedEventsFailed count for the engine's state machine, in moto's CloudWatch."""
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    points = cloudwatch.get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName="FinishedEventsFailed",
        Dimensions=[{"Name": "StateMachineArn", "Value": engine.state_machine_arn}],
        StartTime=datetime.now(UTC) - timedelta(hours=1),
        EndTime=datetime.now(UTC) + timedelta(minutes=1),
        Period=7200,
        Statistics=["Sum"],
    )["Datapoints"]
    return float(sum(point["Sum"] for point in points))


# ---------------------------------------------------------------- an export with a report


def test_a_complete_export_announces_itself_to_every_rule_that_asks(
    start_simulator, local_engine
) -> None:
    # Given a stack with a rule for every finished export and the documented rule (complete
    # exports only), each delivering to a queue
    simulator = start_simulator(sample_catalog(PROJECT, {"batch-a": 30}))
    engine = local_engine(simulator)
    every, complete_only = (
        subscribe("every", EVERY_OUTCOME),
        subscribe("documented", documented_rule_pattern()),
    )
    request = {"project_id": PROJECT, "batch_ids": ["batch-a"]}
    # When a batch is exported in full
    result = engine.run(request)
    # Then the execution succeeded, and each rule received its one event: the execution's
    # name and input, outcome complete, the report's totals, the report and the index, no error
    assert result.status == "SUCCEEDED", result.cause
    (event,) = every()
    report = assert_announces(
        event,
        engine,
        result=result,
        request=request,
        outcome="complete",
        index=f"s3://{engine.bucket}/index.v1/",
    )
    assert report is not None
    assert report["totals"]["exported"] > 0
    assert (event["detail"]["error"], event["detail"]["cause"]) == (None, None)
    # And the documented rule received that same event, as far as the contract goes (what the
    # bus stamps on each delivery is not the contract's)
    assert promised(complete_only()) == promised([event])
    # And the event was put once, by the execution's AnnounceFinished step
    assert events_put(engine, result.name) == 1


def test_an_incomplete_export_announces_itself_and_still_fails(
    start_simulator, local_engine
) -> None:
    # Given a batch with one permanently broken job, results under a prefix, and both rules
    catalog = sample_catalog(PROJECT, {"batch-a": 30}, not_completed_every=0)
    broken = FaultPlan(permanent={("job", "batch-a-job-00007"): "job_not_found"})
    simulator = start_simulator(catalog, faults=broken)
    engine = local_engine(simulator, ResultsPrefix="playment/")
    every, complete_only = (
        subscribe("every", EVERY_OUTCOME),
        subscribe("documented", documented_rule_pattern()),
    )
    request = {"project_id": PROJECT, "batch_id": "batch-a", "overwrite": True}
    # When the batch is exported
    result = engine.run(request)
    # Then the execution still fails with ExportIncomplete
    assert (result.status, result.error) == ("FAILED", "ExportIncomplete")
    # And the event went out first, outcome incomplete, the index under the prefix, the error
    # and the cause (which names the report) the execution's
    (event,) = every()
    report = assert_announces(
        event,
        engine,
        result=result,
        request=request,
        outcome="incomplete",
        index=f"s3://{engine.bucket}/playment/index.v1/",
    )
    assert report is not None
    assert (report["totals"]["failed"], report["totals"]["exported"]) == (1, 29)
    assert "report.json" in event["detail"]["cause"]
    # And the documented rule, for complete exports only, let it pass
    assert complete_only() == []


def test_an_export_whose_key_is_refused_midway_announces_auth_failed(
    start_simulator, local_engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a key Playment accepts for the listing, then refuses (rotated) before any fetch
    simulator = start_simulator(sample_catalog(PROJECT, {"batch-a": 30}))
    engine = local_engine(simulator)
    every = subscribe("every", EVERY_OUTCOME)
    record = engine.progress.record

    def rotate_after_listing(function: str, *args: Any) -> None:
        if function == "ListPagesFunction":
            simulator.api_key = "rotated-" + API_KEY
        record(function, *args)

    monkeypatch.setattr(engine.progress, "record", rotate_after_listing)
    request = {"project_id": PROJECT, "batch_id": "batch-a"}
    # When the batch is exported
    result = engine.run(request)
    # Then the execution fails with PlaymentAuthError after its report, and announced it
    assert (result.status, result.error) == ("FAILED", "PlaymentAuthError")
    (event,) = every()
    report = assert_announces(
        event,
        engine,
        result=result,
        request=request,
        outcome="auth_failed",
        index=f"s3://{engine.bucket}/index.v1/",
    )
    assert report is not None
    assert report["totals"]["exported"] == 0


# ---------------------------------------------------------------- a step that failed for good


def test_an_input_the_listing_refuses_is_announced_as_failed_without_a_retry(
    start_simulator, local_engine
) -> None:
    # Given a stack with a rule for every finished export and the documented rule
    simulator = start_simulator()
    engine = local_engine(simulator)
    every, complete_only = (
        subscribe("every", EVERY_OUTCOME),
        subscribe("documented", documented_rule_pattern()),
    )
    request = {"project_id": PROJECT, "batch_ids": ["../x"]}
    # When an execution is started with a batch ID that would escape its prefix
    result = engine.run(request)
    # Then it still fails with InvalidInput naming the field, and nothing was requested
    assert (result.status, result.error) == ("FAILED", "InvalidInput")
    assert "batch_ids[0]" in (result.cause or "")
    assert sum(simulator.stats.requests.values()) == 0
    # And one event said so first: outcome failed, that error and cause, no report
    (event,) = every()
    assert_announces(
        event,
        engine,
        result=result,
        request=request,
        outcome="failed",
        index=f"s3://{engine.bucket}/index.v1/",
    )
    assert events_put(engine, result.name) == 1
    assert complete_only() == []
    # And the listing was not tried again: the same input would be refused the same way
    assert calls(engine, result.name, "ListPagesFunction") == 1


def test_a_listing_that_keeps_failing_is_retried_then_announced_as_failed(
    start_simulator, local_engine
) -> None:
    # Given a project Playment does not know: every listing step fails with its error
    simulator = start_simulator(sample_catalog(PROJECT, {"batch-a": 10}))
    engine = local_engine(simulator)
    every = subscribe("every", EVERY_OUTCOME)
    request = {"project_id": "no-such-project", "batch_ids": ["batch-a"]}
    # When it is exported
    result = engine.run(request)
    # Then the listing step was tried again, as a crash is, before the execution gave up
    assert calls(engine, result.name, "ListPagesFunction") == CRASH_ATTEMPTS
    # And the execution fails with the step's own error and cause (Lambda's error payload)
    assert (result.status, result.error) == ("FAILED", "PlaymentApiError")
    assert "not found" in json.loads(result.cause or "{}")["errorMessage"].lower()
    # And one event said so first: outcome failed, that error and cause, no report
    (event,) = every()
    assert_announces(
        event,
        engine,
        result=result,
        request=request,
        outcome="failed",
        index=f"s3://{engine.bucket}/index.v1/",
    )
    assert events_put(engine, result.name) == 1
    assert "report.json" not in engine.keys(f"_exports/{result.name}/")


def without_report_writes(translated: dict[str, Any]) -> dict[str, Any]:
    """The translated template with WriteReport's role no longer allowed to put objects: its
    reads work, every write of the report (or a part of it) is refused by IAM."""
    changed = copy.deepcopy(translated)
    role = changed["Resources"]["WriteReportFunctionRole"]
    (statement,) = [
        statement
        for policy in role["Properties"]["Policies"]
        if "PolicyDocument" in policy
        for statement in policy["PolicyDocument"]["Statement"]
        if statement.get("Sid") == "ReadAndWriteBookkeeping"
    ]
    assert "s3:PutObject" in statement["Action"]
    statement["Action"] = [action for action in statement["Action"] if action != "s3:PutObject"]
    return changed


def test_a_report_that_keeps_failing_is_retried_then_announced_as_failed(
    start_simulator, local_engine, translated_template
) -> None:
    # Given a stack whose report step cannot write (its role refused s3:PutObject)
    simulator = start_simulator(sample_catalog(PROJECT, {"batch-a": 30}))
    engine = local_engine(simulator, template=without_report_writes(translated_template))
    every, complete_only = (
        subscribe("every", EVERY_OUTCOME),
        subscribe("documented", documented_rule_pattern()),
    )
    request = {"project_id": PROJECT, "batch_id": "batch-a"}
    # When a batch is exported
    result = engine.run(request)
    # Then the jobs were exported, but the report step failed each time it was tried
    assert engine.keys("batch-a/")
    assert calls(engine, result.name, "WriteReportFunction") == CRASH_ATTEMPTS
    # And the execution fails with the step's own error, IAM's refusal in its cause
    assert result.status == "FAILED"
    assert result.error not in {None, "ExportIncomplete", "PlaymentAuthError"}
    assert "AccessDenied" in (result.cause or "")
    # And one event said so first: outcome failed, that error and cause, no report
    (event,) = every()
    assert_announces(
        event,
        engine,
        result=result,
        request=request,
        outcome="failed",
        index=f"s3://{engine.bucket}/index.v1/",
    )
    assert events_put(engine, result.name) == 1
    assert complete_only() == []


# ---------------------------------------------------------------- an event that is not put

REFUSALS = {
    "refused-by-eventbridge": ValidationException("refused by the test"),
    "denied-by-iam": JsonRESTError(
        "AccessDeniedException", "not authorized to perform: events:PutEvents (by the test)"
    ),
}


@pytest.mark.parametrize("refusal", list(REFUSALS))
def test_an_event_that_cannot_be_put_is_counted_and_costs_nothing_else(
    start_simulator, local_engine, monkeypatch: pytest.MonkeyPatch, refusal: str
) -> None:
    # Given EventBridge refusing every event, or IAM denying the call (moto names either
    # error States.Runtime; on AWS it would be EventBridge's own, caught all the same by
    # States.ALL)
    simulator = start_simulator(sample_catalog(PROJECT, {"batch-a": 30}))
    engine = local_engine(simulator)

    def refuse(_backend: EventsBackend, _events: Any) -> Any:
        raise REFUSALS[refusal]

    monkeypatch.setattr(EventsBackend, "put_events", refuse)
    # When a batch is exported in full
    result = engine.run({"project_id": PROJECT, "batch_id": "batch-a"})
    # Then the execution still ends on its verdict, its output the report
    assert result.status == "SUCCEEDED", result.cause
    assert result.report is not None
    assert result.output["totals"] == result.report["totals"]
    assert "announce_error" not in result.output
    # And the error is kept in the history, beside the state the verdict read
    (exited,) = [
        json.loads(e["stateExitedEventDetails"]["output"])
        for e in engine.history(result.name)
        if e["type"] == "TaskStateExited"
        and e["stateExitedEventDetails"]["name"] == "AnnounceFinished"
    ]
    assert "by the test" in exited["announce_error"]["Cause"]
    assert (exited["finished"]["outcome"], exited["finished"]["totals"]) == (
        "complete",
        result.report["totals"],
    )
    # And the failed announcement was counted, once, in the metric the stack's alarm watches
    assert failed_announcements(engine) == 1


def test_an_event_that_is_put_counts_no_failed_announcement(start_simulator, local_engine) -> None:
    # Given a stack whose events go out
    simulator = start_simulator(sample_catalog(PROJECT, {"batch-a": 10}))
    engine = local_engine(simulator)
    # When a batch is exported in full
    result = engine.run({"project_id": PROJECT, "batch_id": "batch-a"})
    # Then its event was put, and no failed announcement was counted
    assert result.succeeded, result.cause
    assert events_put(engine, result.name) == 1
    assert failed_announcements(engine) == 0
