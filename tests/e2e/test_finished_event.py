"""The "Playment Export Finished" event, end to end: the real definition on moto's engine puts
it on moto's default bus, whose rules deliver it to SQS queues the test subscribes, as a
training pipeline's rule would be. The rule patterns are the README's own."""

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.events.exceptions import ValidationException
from moto.events.models import EventsBackend

from playment_local.aws_sandbox import REGION
from playment_local.engine import LocalEngine
from playment_simulator import FaultPlan, sample_catalog
from tests.conftest import API_KEY

PROJECT = "demo-project"
README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Know when an export finished"
SOURCE = "playment-exporter"
DETAIL_TYPE = "Playment Export Finished"
# Every finished export, whatever its outcome.
EVERY_OUTCOME = {"source": [SOURCE], "detail-type": [DETAIL_TYPE]}

Received = Callable[[], list[dict[str, Any]]]


def readme_rule_pattern() -> dict[str, Any]:
    """The one event pattern (its values lists) the README's section shows."""
    text = README.read_text(encoding="utf-8")
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


def assert_announces(
    event: dict[str, Any],
    engine: LocalEngine,
    *,
    name: str,
    request: dict[str, Any],
    outcome: str,
    index: str,
) -> dict[str, Any]:
    """The event is the execution's, with every documented field; the report it names."""
    report_key = f"_exports/{name}/report.json"
    report = engine.read_json(report_key)
    assert report is not None
    assert (event["source"], event["detail-type"]) == (SOURCE, DETAIL_TYPE)
    assert event["detail"] == {
        "execution": name,
        "input": request,
        "outcome": outcome,
        "totals": report["totals"],
        "report": f"s3://{engine.bucket}/{report_key}",
        "index": index,
    }
    # And Step Functions named the state machine and the execution among its resources
    execution_arn = engine.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"
    assert set(event["resources"]) >= {engine.state_machine_arn, execution_arn}
    return dict(report)


def test_a_complete_export_announces_itself_to_every_rule_that_asks(
    start_simulator, local_engine
) -> None:
    # Given a stack with a rule for every finished export and the README's rule (complete
    # exports only), each delivering to a queue
    simulator = start_simulator(sample_catalog(PROJECT, {"batch-a": 30}))
    engine = local_engine(simulator)
    every, complete_only = (
        subscribe("every", EVERY_OUTCOME),
        subscribe("readme", readme_rule_pattern()),
    )
    request = {"project_id": PROJECT, "batch_ids": ["batch-a"]}
    # When a batch is exported in full
    result = engine.run(request)
    # Then the execution succeeded, and each rule received its one event: the execution's
    # name and input, outcome complete, the report's totals, the report and the index
    assert result.status == "SUCCEEDED", result.cause
    (event,) = every()
    report = assert_announces(
        event,
        engine,
        name=result.name,
        request=request,
        outcome="complete",
        index=f"s3://{engine.bucket}/index.v1/",
    )
    assert report["totals"]["exported"] > 0
    assert complete_only() == [event]
    # And the event was put once, by the execution's AnnounceFinished step
    history = engine.history(result.name)
    put = [
        e
        for e in history
        if e["type"] == "TaskScheduled"
        and e["taskScheduledEventDetails"]["resourceType"] == "events"
    ]
    assert len(put) == 1


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
        subscribe("readme", readme_rule_pattern()),
    )
    request = {"project_id": PROJECT, "batch_id": "batch-a", "overwrite": True}
    # When the batch is exported
    result = engine.run(request)
    # Then the execution still fails with ExportIncomplete
    assert (result.status, result.error) == ("FAILED", "ExportIncomplete")
    # And the event went out first, outcome incomplete, the index under the prefix
    (event,) = every()
    report = assert_announces(
        event,
        engine,
        name=result.name,
        request=request,
        outcome="incomplete",
        index=f"s3://{engine.bucket}/playment/index.v1/",
    )
    assert (report["totals"]["failed"], report["totals"]["exported"]) == (1, 29)
    # And the README's rule, for complete exports only, let it pass
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
        name=result.name,
        request=request,
        outcome="auth_failed",
        index=f"s3://{engine.bucket}/index.v1/",
    )
    assert report["totals"]["exported"] == 0


def test_an_event_that_cannot_be_put_loses_nothing_but_the_event(
    start_simulator, local_engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given EventBridge refusing every event (moto names the error States.Runtime; on AWS it
    # would be EventBridge's own, caught all the same by States.ALL)
    simulator = start_simulator(sample_catalog(PROJECT, {"batch-a": 30}))
    engine = local_engine(simulator)

    def refuse(_backend: EventsBackend, _events: Any) -> Any:
        raise ValidationException("refused by the test")

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
    assert "refused by the test" in exited["announce_error"]["Cause"]
    assert (exited["outcome"], exited["report"]["totals"]) == ("complete", result.report["totals"])
