"""The run's report, from outcomes in S3 (moto): what it counts, what it lists, how it is made
in bounded steps, and how it says the run ended."""

import json
import tracemalloc
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from playment_exporter import report as report_module
from playment_exporter.batch_history import BatchHistory, BatchRecord
from playment_exporter.errors import BATCH_NOT_FOUND
from playment_exporter.outcomes import AUTH_FAILED, JobOutcome, JobPage, PageOutcome, SkipReason
from playment_exporter.report import ReportSummary, write_report
from playment_exporter.run_records import BatchPlan, RunRecords
from playment_exporter.storage_s3 import S3Storage
from tests.conftest import BUCKET

LISTING = {"project_id": "p1", "overwrite": False, "chunks": 1}


def page(number: int, *job_ids: str) -> JobPage:
    return JobPage(project_id="p1", batch_id="b1", page=number, job_ids=list(job_ids))


def outcome(number: int, *outcomes: JobOutcome) -> PageOutcome:
    return PageOutcome(project_id="p1", batch_id="b1", page=number, outcomes=list(outcomes))


@pytest.fixture
def records(s3: Any) -> RunRecords:
    run = RunRecords(S3Storage(s3, BUCKET), "run-1")
    run.write_batch_plan(BatchPlan(batch_ids=["b1"]))
    return run


def report_in_steps(records: RunRecords, listing: dict[str, Any]) -> list[ReportSummary]:
    """Every report step, as the state machine's loop runs them."""
    steps = [write_report(records, listing)]
    while steps[-1].progress is not None and len(steps) < 50:
        steps.append(write_report(records, listing, steps[-1].progress))
    return steps


def read_report(s3: Any, records: RunRecords) -> Any:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=records.report_key)["Body"].read())


def job_list(records: RunRecords, kind: str) -> list[dict[str, Any]]:
    """The jobs the report names under ``kind`` (failed, skipped), from its files."""
    return [json.loads(line) for line in records.read_job_lists(kind)]


def test_a_key_refused_after_the_listing_ends_the_run_as_an_auth_failure(
    s3: Any, records: RunRecords
) -> None:
    # Given two pages: one exported, one whose key was refused midway (revoked after listing)
    records.write_chunk(0, [page(0, "a", "b"), page(1, "c", "d")], [])
    records.write_page_outcome(
        outcome(0, JobOutcome.exported("a", 10), JobOutcome.exported("b", 5))
    )
    records.write_page_outcome(
        outcome(
            1,
            JobOutcome.failed("c", AUTH_FAILED, "Playment rejected the API key"),
            JobOutcome.failed("d", AUTH_FAILED, "not attempted"),
        )
    )
    # When the report is written
    summary = write_report(records, LISTING)
    # Then the run is flagged as an auth failure (PlaymentAuthError), not merely incomplete
    assert summary.auth_failed is True
    assert summary.complete is False
    assert summary.totals == {"jobs": 4, "exported": 2, "skipped": 0, "failed": 2, "bytes": 15}
    assert read_report(s3, records)["failed_by_code"] == {AUTH_FAILED: 2}


def test_other_failures_leave_the_run_incomplete_but_not_an_auth_failure(
    s3: Any, records: RunRecords
) -> None:
    # Given a page with a failed job (not auth), a skipped one, and a page with no outcome
    records.write_chunk(0, [page(0, "a", "b", "c"), page(1, "d")], [])
    records.write_page_outcome(
        outcome(
            0,
            JobOutcome.exported("a", 7),
            JobOutcome.failed("b", "FS_0004", "Job not found"),
            JobOutcome.skipped("c", SkipReason.NOT_COMPLETED),
        )
    )
    # When the report is written
    summary = write_report(records, LISTING)
    # Then the run is incomplete, not an auth failure; the cause points at the report
    assert (summary.complete, summary.auth_failed) == (False, False)
    assert summary.totals == {"jobs": 4, "exported": 1, "skipped": 1, "failed": 2, "bytes": 7}
    assert summary.cause.startswith("2 of 4 jobs failed")
    assert f"s3://{BUCKET}/{records.report_key}" in summary.cause
    # And the report lists each failure and skip with its code or reason, and the input
    report = read_report(s3, records)
    assert job_list(records, "failed") == [
        {"batch_id": "b1", "job_id": "b", "error_code": "FS_0004", "message": "Job not found"},
        {
            "batch_id": "b1",
            "job_id": "d",
            "error_code": "no_outcome",
            "message": "the call for page 1 of batch b1 did not finish",
        },
    ]
    assert job_list(records, "skipped") == [
        {"batch_id": "b1", "job_id": "c", "reason": "not_completed"}
    ]
    assert report["failed_jobs"] == {"count": 2, "files": "report/failed/*.jsonl"}
    assert report["skipped_jobs"] == {"count": 1, "files": "report/skipped/*.jsonl"}
    assert report["failed_by_code"] == {"FS_0004": 1, "no_outcome": 1}
    assert report["skipped_by_reason"] == {"not_completed": 1}
    assert (report["execution"], report["project_id"], report["batch_ids"]) == (
        "run-1",
        "p1",
        ["b1"],
    )
    assert report["overwrite"] is False
    assert report["totals"] == summary.totals


def test_jobs_settled_by_the_listing_count_without_a_manifest_page(
    s3: Any, records: RunRecords
) -> None:
    # Given a listing that settled two jobs itself and a manifest with nothing to fetch
    settled = PageOutcome(
        project_id="p1",
        batch_id="b1",
        page=-1,
        outcomes=[
            JobOutcome.skipped("a", SkipReason.ALREADY_EXPORTED),
            JobOutcome.skipped("b", SkipReason.NOT_COMPLETED),
        ],
    )
    records.write_chunk(0, [], [settled])
    # When the report is written
    summary = write_report(records, LISTING)
    # Then the run is complete, both jobs counted as skipped by reason
    assert (summary.complete, summary.auth_failed) == (True, False)
    assert summary.totals == {"jobs": 2, "exported": 0, "skipped": 2, "failed": 0, "bytes": 0}
    assert (
        summary.cause
        == f"all 2 jobs exported or skipped; report: s3://{BUCKET}/{records.report_key}"
    )
    # And the job already exported is counted, not listed: only the one that needs attention is
    report = read_report(s3, records)
    assert report["skipped_by_reason"] == {"already_exported": 1, "not_completed": 1}
    assert job_list(records, "skipped") == [
        {"batch_id": "b1", "job_id": "b", "reason": "not_completed"}
    ]
    assert report["skipped_jobs"]["count"] == 1
    assert job_list(records, "failed") == []


def test_a_run_with_nothing_to_do_is_complete(s3: Any, records: RunRecords) -> None:
    # Given a run whose listing found no job at all: an empty manifest, no outcome
    records.write_chunk(0, [], [])
    # When the report is written / Then the run is complete, with all totals at zero
    summary = write_report(records, LISTING)
    assert (summary.complete, summary.auth_failed) == (True, False)
    assert summary.totals == {"jobs": 0, "exported": 0, "skipped": 0, "failed": 0, "bytes": 0}
    assert read_report(s3, records)["failed_jobs"]["count"] == 0
    assert job_list(records, "failed") == []


def test_a_settled_job_does_not_stand_for_a_manifest_page(s3: Any, records: RunRecords) -> None:
    # Given a manifest page 0 with no outcome, and settled jobs whose page number is made to
    # collide with it
    records.write_chunk(
        0, [page(0, "a")], [outcome(0, JobOutcome.skipped("z", SkipReason.NOT_COMPLETED))]
    )
    # When the report is written / Then page 0's job still counts as failed: no outcome
    report = write_report(records, LISTING)
    assert report.totals["failed"] == 1
    assert [f["job_id"] for f in job_list(records, "failed")] == ["a"]


def test_a_report_over_many_chunks_is_made_in_bounded_steps(
    s3: Any, records: RunRecords, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given five listing chunks of two pages each, one failed job per chunk, one job already
    # exported per chunk, and report steps that stop after six outcome objects (a chunk has
    # three: its settled jobs and two pages)
    for chunk in range(5):
        first = 2 * chunk
        exported = f"x{chunk}"
        settled = PageOutcome(
            project_id="p1",
            batch_id="b1",
            page=-1,
            outcomes=[JobOutcome.skipped(exported, SkipReason.ALREADY_EXPORTED)],
        )
        records.write_chunk(
            chunk, [page(first, f"a{chunk}"), page(first + 1, f"f{chunk}")], [settled]
        )
        records.write_page_outcome(outcome(first, JobOutcome.exported(f"a{chunk}", 3)))
        records.write_page_outcome(
            outcome(first + 1, JobOutcome.failed(f"f{chunk}", "FS_0004", "Job not found"))
        )
    monkeypatch.setattr(report_module, "MAX_PAGES_PER_STEP", 6)
    # When the report is made step by step
    steps = report_in_steps(records, {**LISTING, "chunks": 5})
    # Then each step read two chunks, the progress carried the counts, and
    # the last step wrote the report with every chunk's jobs, in order
    assert len(steps) == 3
    assert [s.progress.next_chunk for s in steps[:-1] if s.progress] == [2, 4]
    final = steps[-1]
    assert final.totals == {"jobs": 15, "exported": 5, "skipped": 5, "failed": 5, "bytes": 15}
    assert (final.complete, final.auth_failed) == (False, False)
    report = read_report(s3, records)
    assert [f["job_id"] for f in job_list(records, "failed")] == [f"f{n}" for n in range(5)]
    assert job_list(records, "skipped") == []
    assert report["skipped_by_reason"] == {"already_exported": 5}
    assert report["totals"] == final.totals
    # And the job lists beside it are one per chunk and kind, naming only the jobs that need
    # attention (the jobs already exported are counted, not listed)
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{records.prefix}report/")
    assert [item["Key"] for item in listed["Contents"]] == [
        records.job_list_key(kind, chunk) for kind in ("failed", "skipped") for chunk in range(5)
    ]
    assert all(entry["job_id"].startswith("f") for entry in job_list(records, "failed"))


def test_a_chunk_whose_records_are_gone_is_reported_not_skipped(
    s3: Any, records: RunRecords
) -> None:
    # Given two chunks, the second of which lost its manifest
    records.write_chunk(0, [page(0, "a")], [])
    records.write_page_outcome(outcome(0, JobOutcome.exported("a", 1)))
    records.write_chunk(1, [page(1, "b")], [])
    s3.delete_object(Bucket=BUCKET, Key=records.manifest_key(1))
    # When the report is written / Then the run is incomplete and the report names the chunk
    summary = write_report(records, {**LISTING, "chunks": 2})
    assert (summary.complete, summary.totals["exported"]) == (False, 1)
    (failed,) = job_list(records, "failed")
    assert (failed["job_id"], failed["error_code"]) == ("chunk-000001", "chunk_unreadable")


def test_a_batch_playment_does_not_know_leaves_the_run_incomplete_and_is_named(
    s3: Any, records: RunRecords
) -> None:
    # Given a listing that exported b1's job and found no batch "nope"
    missing = PageOutcome(
        project_id="p1",
        batch_id="nope",
        page=-1,
        outcomes=[JobOutcome.failed("", BATCH_NOT_FOUND, "batch 'nope' not found")],
    )
    records.write_chunk(0, [page(0, "a")], [missing])
    records.write_page_outcome(outcome(0, JobOutcome.exported("a", 1)))
    # When the report is written
    summary = write_report(records, LISTING)
    # Then the run is incomplete, and the report and its cause name the batch
    assert (summary.complete, summary.totals["exported"], summary.totals["failed"]) == (
        False,
        1,
        1,
    )
    assert read_report(s3, records)["batches_not_found"] == ["nope"]
    assert summary.cause.startswith("not found in project p1: batch nope; 1 of 2 failed")
    (failed,) = job_list(records, "failed")
    assert (failed["batch_id"], failed["job_id"], failed["error_code"]) == (
        "nope",
        "",
        BATCH_NOT_FOUND,
    )


def test_only_batches_exported_without_a_failure_are_recorded_clean(
    s3: Any, records: RunRecords
) -> None:
    # Given an all_batches run that listed b1 and b2 (with their details), b2 with a failed job,
    # and a history that knew b2 clean from an earlier run
    details = {"total_jobs": 2, "completed_jobs": 2}
    records.write_batch_plan(
        BatchPlan(batch_ids=["b1", "b2"], fingerprints={"b1": details, "b2": details})
    )
    b2_page = JobPage(project_id="p1", batch_id="b2", page=1, job_ids=["z"])
    records.write_chunk(0, [page(0, "a"), b2_page], [])
    records.write_page_outcome(outcome(0, JobOutcome.exported("a", 1)))
    failed = [JobOutcome.failed("z", "FS_0004", "gone")]
    records.write_page_outcome(PageOutcome(project_id="p1", batch_id="b2", page=1, outcomes=failed))
    history = BatchHistory(S3Storage(s3, BUCKET), "p1")
    earlier = datetime(2026, 1, 1, tzinfo=UTC)
    history.write({"b2": BatchRecord(fingerprint=details, listed_at=earlier)})
    started = "2026-12-01T00:00:00+00:00"
    # When the report is written
    write_report(records, {**LISTING, "started_at": started}, history=history)
    # Then b1 is recorded clean as of this run, and b2 is forgotten: the next run lists it
    recorded = history.read()
    assert set(recorded) == {"b1"}
    assert recorded["b1"].fingerprint == details
    assert recorded["b1"].listed_at == datetime.fromisoformat(started)


def test_a_chunk_that_could_not_be_read_leaves_every_batch_to_be_listed_again(
    s3: Any, records: RunRecords
) -> None:
    # Given an all_batches run of b1 and b2 (with their details), each with a job exported,
    # whose second chunk lost its manifest (which batches it held cannot be known), and a
    # history that knew b2 clean from an earlier run
    details = {"total_jobs": 1, "completed_jobs": 1}
    records.write_batch_plan(
        BatchPlan(batch_ids=["b1", "b2"], fingerprints={"b1": details, "b2": details})
    )
    b2_page = JobPage(project_id="p1", batch_id="b2", page=1, job_ids=["z"])
    records.write_chunk(0, [page(0, "a"), b2_page], [])
    records.write_page_outcome(outcome(0, JobOutcome.exported("a", 1)))
    exported = [JobOutcome.exported("z", 1)]
    records.write_page_outcome(
        PageOutcome(project_id="p1", batch_id="b2", page=1, outcomes=exported)
    )
    records.write_chunk(1, [page(2, "c")], [])
    s3.delete_object(Bucket=BUCKET, Key=records.manifest_key(1))
    history = BatchHistory(S3Storage(s3, BUCKET), "p1")
    history.write(
        {"b2": BatchRecord(fingerprint=details, listed_at=datetime(2026, 1, 1, tzinfo=UTC))}
    )
    # When the report is written
    listing = {**LISTING, "chunks": 2, "started_at": "2026-12-01T00:00:00+00:00"}
    summary = write_report(records, listing, history=history)
    # Then no batch is recorded clean, and b2 is forgotten: the next run lists every batch
    assert summary.complete is False
    assert history.read() == {}


def not_completed_chunks(records: RunRecords, chunks: int, jobs: int, batch: str = "b1") -> None:
    """``chunks`` listing chunks, each settling ``jobs`` jobs as not completed."""
    for chunk in range(chunks):
        settled = PageOutcome(
            project_id="p1",
            batch_id=batch,
            page=-1,
            outcomes=[
                JobOutcome.skipped(f"c{chunk}-{n}", SkipReason.NOT_COMPLETED) for n in range(jobs)
            ],
        )
        records.write_chunk(chunk, [], [settled])


def peak_of_one_step(records: RunRecords, listing: dict[str, Any]) -> tuple[int, ReportSummary]:
    """The Python memory one report step allocates at its peak, above what it started with."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        summary = write_report(records, listing)
        return tracemalloc.get_traced_memory()[1] - before, summary
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_a_step_over_many_jobs_needing_attention_keeps_its_memory_flat(moto_server: str) -> None:
    # Given two runs whose jobs all need attention (not completed: a project still being
    # annotated), one of 1 chunk and one of 6 chunks of 5,000 jobs, each read in one step,
    # S3 served by moto_server in a process of its own (so that what moto stores is not
    # counted as the step's memory)
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    storage = S3Storage(s3, BUCKET)
    small, large = RunRecords(storage, "small"), RunRecords(storage, "large")
    for run, chunks in ((small, 1), (large, 6)):
        run.write_batch_plan(BatchPlan(batch_ids=["b1"]))
        not_completed_chunks(run, chunks, 5_000)
    write_report(RunRecords(storage, "small"), {**LISTING, "chunks": 1})  # warm: imports
    # When each run's report is written in one step, its peak memory measured
    small_peak, _ = peak_of_one_step(small, {**LISTING, "chunks": 1})
    large_peak, summary = peak_of_one_step(large, {**LISTING, "chunks": 6})
    # Then the step over six times the jobs needing attention peaks no higher than the one
    # over a single chunk (what a step holds is one chunk's records, whatever the run's size)
    assert summary.progress is None
    assert summary.totals["skipped"] == 30_000
    assert large_peak < small_peak * 1.25, (small_peak, large_peak)
    # And every one of those jobs is named in the files beside the report
    assert sum(1 for _ in large.read_job_lists("skipped")) == 30_000


def test_the_state_between_steps_stays_the_same_size_whatever_the_batches_with_failures(
    s3: Any, records: RunRecords, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two runs of 600 failed jobs (one Playment outage is enough), one with the
    # failures in 3 batches and one in 600, the report made one chunk a step
    monkeypatch.setattr(report_module, "MAX_PAGES_PER_STEP", 1)

    def state_size(batches: int) -> int:
        run = RunRecords(S3Storage(s3, BUCKET), f"failures-in-{batches:04d}")
        run.write_batch_plan(BatchPlan(batch_ids=[f"batch-{n:04d}" for n in range(batches)]))
        failed = [
            PageOutcome(
                project_id="p1",
                batch_id=f"batch-{n:04d}",
                page=-1,
                outcomes=[
                    JobOutcome.failed(f"j{job}", "invalid_job_id", "unsafe ID")
                    for job in range(n, 600, batches)
                ],
            )
            for n in range(batches)
        ]
        run.write_chunk(0, [], failed)
        run.write_chunk(1, [], [])
        # When the first step hands its progress on
        (first, *_) = report_in_steps(run, {**LISTING, "chunks": 2})
        assert first.progress is not None
        return len(first.model_dump_json())

    # Then what it hands on is the same size for both: counts, not lists of batches
    assert state_size(600) == state_size(3)


def objects_under(s3: Any, prefix: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {
        item["Key"]: s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read() for item in listed
    }


def test_each_report_step_run_twice_changes_nothing(
    s3: Any, records: RunRecords, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a run of two chunks, each with a failed job and a job not completed, over two
    # batches recorded in the history, and report steps of one chunk each
    details = {"total_jobs": 2, "completed_jobs": 1}
    records.write_batch_plan(
        BatchPlan(batch_ids=["b1", "b2"], fingerprints={"b1": details, "b2": details})
    )
    for chunk in range(2):
        records.write_chunk(chunk, [page(chunk, f"f{chunk}")], [])
        records.write_page_outcome(
            outcome(
                chunk,
                JobOutcome.failed(f"f{chunk}", "FS_0004", "gone"),
                JobOutcome.skipped(f"n{chunk}", SkipReason.NOT_COMPLETED),
            )
        )
    monkeypatch.setattr(report_module, "MAX_PAGES_PER_STEP", 1)
    listing = {**LISTING, "chunks": 2, "started_at": "2026-12-01T00:00:00+00:00"}
    history = BatchHistory(S3Storage(s3, BUCKET), "p1")
    # When every step runs twice on the same input, as a retry after a crash would
    first = write_report(records, listing, history=history)
    written_once = objects_under(s3, "")
    again = write_report(records, listing, history=history)
    assert again == first
    assert objects_under(s3, "") == written_once
    last = write_report(records, listing, first.progress, history=history)
    written_once = objects_under(s3, "")
    last_again = write_report(records, listing, first.progress, history=history)
    # Then each retry returns what the first try did and leaves every object as it was
    assert last_again == last
    assert objects_under(s3, "") == written_once
    assert last.totals == {"jobs": 4, "exported": 0, "skipped": 2, "failed": 2, "bytes": 0}
    assert [f["job_id"] for f in job_list(records, "failed")] == ["f0", "f1"]
