"""The ListPages handler passes each of its settings and the event's cursor on to the listing:
each test changes one and sees the listing follow it (S3 in moto, the simulator on loopback)."""

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from playment_exporter.batch_history import BatchHistory, BatchRecord
from playment_exporter.errors import ResultsBucketUnusable
from playment_exporter.storage_s3 import S3Storage
from playment_simulator import sample_catalog
from tests.conftest import BUCKET, load_event


def read_json(s3: Any, key: str) -> Any:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The Powertools logger's lines from now on, at INFO (the logger and its stream are the
    process's: both are put back after the test)."""
    from exporter_runtime.observability import logger

    handler, stream = logger.registered_handler, io.StringIO()
    assert isinstance(handler, logging.StreamHandler)
    earlier_stream, handler.stream = handler.stream, stream
    earlier_level = logger.log_level
    logger.setLevel("INFO")
    yield stream
    handler.stream = earlier_stream
    logger.setLevel(earlier_level)


def test_a_step_stops_after_listing_step_jobs_and_the_next_resumes_at_its_cursor(
    invoke, s3
) -> None:
    # Given the sample event (batch-a: 250 jobs, batch-b: 180; pages of 100) and steps of
    # at most 100 listed jobs
    event = load_event("list-pages.json")
    # When ListPages runs its first step, then a second one from the cursor it returned
    first = invoke("list_pages", event, LISTING_STEP_JOBS="100")
    second = invoke("list_pages", {**event, "cursor": first["cursor"]}, LISTING_STEP_JOBS="100")
    # Then the first step listed one page and stopped, saying where to go on
    assert first["jobs_listed"] == 100
    assert first["cursor"]["page_token"] != ""
    # And the second went on from there: the next chunk, batch-a's second page
    assert (second["chunk"], second["jobs_listed"]) == (1, 100)
    manifest = read_json(s3, second["manifest_key"])
    listed = [job_id for page in manifest for job_id in page["job_ids"]]
    assert min(listed) >= "batch-a-job-00100"


def test_the_step_log_line_leaves_the_cursor_out(invoke, log_lines) -> None:
    # Given steps of at most 100 jobs: the first step returns a cursor
    # When ListPages runs its first step
    result = invoke("list_pages", load_event("list-pages.json"), LISTING_STEP_JOBS="100")
    # Then the step's summary is logged without the cursor, which the result carries
    assert result["cursor"] is not None
    records = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    [done] = [record for record in records if record.get("message") == "listing step done"]
    assert done["jobs_listed"] == 100
    assert "cursor" not in done


def test_a_results_bucket_in_another_region_stops_the_first_step(invoke, simulator) -> None:
    # Given the results bucket in eu-west-1, the function in us-east-1 (account 123456789012,
    # the local context's ARN)
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="far-results", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    # When ListPages runs its first step on that bucket
    with pytest.raises(ResultsBucketUnusable) as raised:
        invoke("list_pages", load_event("list-pages.json"), RESULTS_BUCKET="far-results")
    # Then it names the bucket's region and the function's account from the ARN, having
    # asked Playment nothing
    assert str(raised.value).startswith(
        "results bucket far-results is in eu-west-1, account 123456789012; this stack runs in "
        "us-east-1, account 123456789012: "
    )
    assert sum(simulator.stats.requests.values()) == 0


def test_all_batches_leaves_out_batches_unchanged_within_full_listing_days(
    invoke, s3, start_simulator
) -> None:
    # Given a project of two batches, both recorded clean with the details they have now:
    # "recent" one day before the run, "older" three days before; FULL_LISTING_DAYS is 2
    simulator = start_simulator(sample_catalog("proj", {"recent": 20, "older": 30}))
    event = {**load_event("list-pages.json"), "input": {"project_id": "proj", "all_batches": True}}
    started_at = datetime.fromisoformat(event["started_at"])
    env = {"PLAYMENT_API_URL": simulator.api_url, "FULL_LISTING_DAYS": "2"}
    invoke("list_pages", {**event, "execution": "earlier"}, **env)
    fingerprints = read_json(s3, "_exports/earlier/batches.json")["fingerprints"]
    BatchHistory(S3Storage(s3, BUCKET), "proj").write(
        {
            "recent": BatchRecord(
                fingerprint=fingerprints["recent"], listed_at=started_at - timedelta(days=1)
            ),
            "older": BatchRecord(
                fingerprint=fingerprints["older"], listed_at=started_at - timedelta(days=3)
            ),
        }
    )
    # When ListPages runs an all_batches export of the project
    result = invoke("list_pages", event, **env)
    # Then only "older", past its 2 days, is listed again; "recent" is left out, said why
    plan = read_json(s3, "_exports/sample-execution/batches.json")
    assert plan["batch_ids"] == ["older"]
    assert [left["batch_id"] for left in plan["left_out"]] == ["recent"]
    assert plan["left_out"][0]["reason"].startswith("unchanged since it was exported clean")
    assert (result["batches"], result["jobs_listed"]) == (1, 30)
