"""What the report carries between steps, where a step stops, and what the report and its
cause name (outcomes in S3, moto)."""

import json
from typing import Any

import pytest

from playment_exporter import report as report_module
from playment_exporter.errors import BATCH_NOT_FOUND
from playment_exporter.outcomes import JobOutcome, JobPage, PageOutcome
from playment_exporter.report import write_report
from playment_exporter.run_records import BatchPlan, LeftOutBatch, RunRecords
from playment_exporter.storage_s3 import S3Storage
from tests.conftest import BUCKET


def one_failed_page_per_chunk(records: RunRecords, chunks: int) -> None:
    """``chunks`` listing chunks of one page each, whose one job failed (FS_0004)."""
    for chunk in range(chunks):
        job_id = f"f{chunk}"
        records.write_chunk(
            chunk, [JobPage(project_id="p1", batch_id="b1", page=chunk, job_ids=[job_id])], []
        )
        records.write_page_outcome(
            PageOutcome(
                project_id="p1",
                batch_id="b1",
                page=chunk,
                outcomes=[JobOutcome.failed(job_id, "FS_0004", "Job not found")],
            )
        )


@pytest.fixture
def records(s3: Any) -> RunRecords:
    run = RunRecords(S3Storage(s3, BUCKET), "run-2")
    run.write_batch_plan(BatchPlan(batch_ids=["b1"]))
    return run


def read_report(s3: Any, records: RunRecords) -> Any:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=records.report_key)["Body"].read())


def test_a_step_reads_up_to_its_page_limit_and_the_counts_by_code_carry_to_the_next(
    s3: Any, records: RunRecords, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three chunks of one page each, each page's job failed, and steps of two pages
    one_failed_page_per_chunk(records, 3)
    monkeypatch.setattr(report_module, "MAX_PAGES_PER_STEP", 2)
    listing = {"project_id": "p1", "chunks": 3}
    # When the first step runs
    first = write_report(records, listing)
    # Then it read two chunks (a page each) and carries their failures by code
    assert first.progress is not None
    assert (first.progress.next_chunk, first.progress.failed_by_code) == (2, {"FS_0004": 2})
    # And when the last step runs, the report counts every chunk's failures by code
    last = write_report(records, listing, first.progress)
    assert last.progress is None
    assert read_report(s3, records)["failed_by_code"] == {"FS_0004": 3}


def test_a_step_stops_once_its_deadline_is_reached(records: RunRecords) -> None:
    # Given two chunks, and a clock that reads the step's deadline exactly
    one_failed_page_per_chunk(records, 2)
    # When a step runs
    step = write_report(
        records, {"project_id": "p1", "chunks": 2}, deadline=100.0, clock=lambda: 100.0
    )
    # Then it read the first chunk only (a step always reads one) and leaves the next for later
    assert step.progress is not None
    assert step.progress.next_chunk == 1


def test_a_chunk_whose_manifest_is_gone_is_failed_with_the_object_it_lacks(
    records: RunRecords, s3: Any
) -> None:
    # Given a chunk whose manifest was deleted
    one_failed_page_per_chunk(records, 1)
    s3.delete_object(Bucket=BUCKET, Key=records.manifest_key(0))
    # When the report is written
    write_report(records, {"project_id": "p1", "chunks": 1})
    # Then the job list names the chunk and why it could not be read: the object it lacks
    (entry,) = [json.loads(line) for line in records.read_job_lists("failed")]
    assert (entry["job_id"], entry["error_code"]) == ("chunk-000000", "chunk_unreadable")
    assert records.manifest_key(0) in entry["message"]


def test_the_report_names_the_batches_left_out_and_each_batch_not_found(
    s3: Any, records: RunRecords
) -> None:
    # Given a plan that left a batch out, and a listing that found neither "nope" nor "gone"
    left_out = LeftOutBatch(batch_id="b9", reason="no completed jobs")
    records.write_batch_plan(BatchPlan(batch_ids=["b1"], left_out=[left_out]))
    missing = [
        PageOutcome(
            project_id="p1",
            batch_id=name,
            page=-1,
            outcomes=[JobOutcome.failed("", BATCH_NOT_FOUND, f"batch {name!r} not found")],
        )
        for name in ("nope", "gone")
    ]
    records.write_chunk(0, [], missing)
    # When the report is written
    summary = write_report(records, {"project_id": "p1", "chunks": 1})
    # Then the report names the batch left out and why, and the cause names both missing ones
    report = read_report(s3, records)
    assert report["batches_left_out"] == [{"batch_id": "b9", "reason": "no completed jobs"}]
    assert report["batches_not_found"] == ["nope", "gone"]
    assert summary.cause.startswith("not found in project p1: batch nope, gone; 2 of 2 failed")
