"""The run records are stored on S3 with the content type ``application/json``, whichever
writer made them (a string, bytes or a streamed array): what a person opening one in the
console, or a tool reading it, is told it holds."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from playment_exporter.outcomes import JobPage, PageOutcome
from playment_exporter.run_records import BatchPlan, RunRecords
from playment_exporter.storage_s3 import S3Storage
from tests.conftest import BUCKET


@pytest.fixture
def records(s3: Any) -> Iterator[RunRecords]:
    storage = S3Storage(s3, BUCKET)
    yield RunRecords(storage, "run-7")
    storage.close()


def _plan(records: RunRecords) -> str:
    records.write_batch_plan(BatchPlan(batch_ids=["b1"]))
    return records.batch_plan_key


def _page_outcome(records: RunRecords) -> str:
    records.write_page_outcome(PageOutcome(project_id="p1", batch_id="b1", page=4, outcomes=[]))
    return records.page_outcome_key(4)


def _document(records: RunRecords) -> str:
    key = records.report_key
    records.write_json(key, {"totals": {}})
    return key


def _manifest(records: RunRecords) -> str:
    page = JobPage(project_id="p1", batch_id="b1", page=0, job_ids=["j1"])
    records.write_chunk(0, [page], [])
    return records.manifest_key(0)


@pytest.mark.parametrize("write", [_plan, _page_outcome, _document, _manifest])
def test_a_run_record_is_stored_as_json(
    s3: Any, records: RunRecords, write: Callable[[RunRecords], str]
) -> None:
    # Given a run's records on S3
    # When one is written
    key = write(records)
    # Then S3 shows it as JSON
    assert s3.head_object(Bucket=BUCKET, Key=key)["ContentType"] == "application/json"
