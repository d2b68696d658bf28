"""The run's report, made in bounded steps from the outcomes in S3.

Each step reads the next listing chunks (their manifests, settled jobs and page outcomes)
until its deadline or ``MAX_PAGES_PER_STEP`` pages, and adds their counts to the running
totals, which the execution's state carries between steps: a few hundred bytes, whatever the
size of the project. The jobs that need a person's attention (failed, or skipped for a reason
other than "already exported") are streamed, as they are read, into one JSON Lines file per
chunk and kind beside the report (``report/failed/<chunk>.jsonl``,
``report/skipped/<chunk>.jsonl``), never gathered in memory: a chunk's file is a function of
the chunk alone, so a step that runs again writes the same files. The last step writes
``report.json``, the totals and the counts by reason and error code, naming those folders; it
reads nothing whole, so no step's time or memory grows with the project or with the number of
jobs that need attention (600,000 jobs still being annotated are 600,000 lines in files,
not a 60 MB document to load).

A manifest page with no outcome object means its call never finished (timed out, crashed,
was throttled past its retries): each of its jobs is counted as failed, so a job can never
silently go missing from the totals.
"""

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from playment_exporter.batch_history import BatchHistory, BatchRecord
from playment_exporter.errors import BATCH_NOT_FOUND
from playment_exporter.outcomes import (
    AUTH_FAILED,
    JobOutcome,
    JobPage,
    JobStatus,
    PageOutcome,
    SkipReason,
)
from playment_exporter.run_records import BatchPlan, JobListWriter, RunRecords

NO_OUTCOME = "no_outcome"
CHUNK_UNREADABLE = "chunk_unreadable"  # a listing chunk's records could not be read
MAX_PAGES_PER_STEP = 5_000  # page outcomes read by one step, whatever the deadline
READERS = 16  # page outcomes read at once
TOTALS = ("jobs", "exported", "skipped", "failed", "bytes")
FAILED, SKIPPED = "failed", "skipped"  # the job lists beside the report


class ReportProgress(BaseModel):
    """Where the report stands between steps: counts only, the same size for any project."""

    next_chunk: int = 0
    totals: dict[str, int] = {}
    skipped_by_reason: dict[str, int] = {}
    failed_by_code: dict[str, int] = {}
    auth_failed: bool = False
    # Batches Playment did not know: at most the batches the request names, which the
    # execution's state holds already.
    batches_not_found: list[str] = []


class ReportSummary(BaseModel):
    """What the state machine needs: ``progress`` to carry into the next step, or (once
    ``progress`` is ``None``) how the execution ends."""

    report_key: str
    progress: ReportProgress | None = None
    complete: bool = False
    auth_failed: bool = False
    totals: dict[str, int] = {}
    cause: str = ""


class _Tally:
    """The counts a step adds up, seeded from the progress it was given."""

    def __init__(self, progress: ReportProgress) -> None:
        self.totals = Counter(progress.totals)
        self.by_reason = Counter(progress.skipped_by_reason)
        self.by_code = Counter(progress.failed_by_code)
        self.auth_failed = progress.auth_failed
        self.batches_not_found = list(progress.batches_not_found)

    def progress(self, next_chunk: int) -> ReportProgress:
        jobs = sum(self.totals[status.value] for status in JobStatus)
        self.totals["jobs"] = jobs
        return ReportProgress(
            next_chunk=next_chunk,
            totals={name: self.totals[name] for name in TOTALS},
            skipped_by_reason=dict(sorted(self.by_reason.items())),
            failed_by_code=dict(sorted(self.by_code.items())),
            auth_failed=self.auth_failed,
            batches_not_found=self.batches_not_found,
        )


def write_report(
    records: RunRecords,
    listing: dict[str, Any],
    progress: ReportProgress | None = None,
    *,
    history: BatchHistory | None = None,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ReportSummary:
    """Count the next chunks into ``progress``; write the report once every chunk is in, and
    then record in ``history`` the batches this run listed and exported without a failure.

    Running a step again on the same ``progress`` writes the same files and returns the same
    result: the state machine retries a step that crashed or timed out."""
    start = progress or ReportProgress()
    chunks = int(listing["chunks"])  # every listing step's summary names its chunks
    tally = _Tally(start)
    chunk, pages_read = start.next_chunk, 0
    while chunk < chunks and pages_read < MAX_PAGES_PER_STEP:
        if pages_read and deadline is not None and clock() >= deadline:
            break
        pages_read += _count_chunk(records, chunk, tally)
        chunk += 1
    state = tally.progress(chunk)
    if chunk < chunks:
        return ReportSummary(report_key=records.report_key, progress=state)
    return _finish(records, listing, state, history)


def _count_chunk(records: RunRecords, chunk: int, tally: _Tally) -> int:
    """Add one chunk's jobs to ``tally`` and write its job lists; the page outcomes read."""
    pages = 0
    with (
        records.job_list(FAILED, chunk) as failed,
        records.job_list(SKIPPED, chunk) as skipped,
    ):
        for outcome in _chunk_outcomes(records, chunk):
            pages += 1
            tally.totals["bytes"] += outcome.bytes_written
            for job in outcome.outcomes:
                _count_job(outcome.batch_id, job, tally, failed, skipped)
    return pages


def _count_job(
    batch_id: str, job: JobOutcome, tally: _Tally, failed: JobListWriter, skipped: JobListWriter
) -> None:
    tally.totals[job.status.value] += 1
    entry = {"batch_id": batch_id, "job_id": job.job_id}
    if job.status is JobStatus.FAILED:
        tally.by_code[str(job.error_code)] += 1
        tally.auth_failed = tally.auth_failed or job.error_code == AUTH_FAILED
        if job.error_code == BATCH_NOT_FOUND and batch_id not in tally.batches_not_found:
            tally.batches_not_found.append(batch_id)
        failed.add({**entry, "error_code": job.error_code, "message": job.message})
    elif job.status is JobStatus.SKIPPED:
        tally.by_reason[str(job.reason)] += 1
        if job.reason != SkipReason.ALREADY_EXPORTED:
            skipped.add({**entry, "reason": job.reason})


def _chunk_outcomes(records: RunRecords, chunk: int) -> Iterator[PageOutcome]:
    """The chunk's settled jobs, then each manifest page's outcome (or its jobs as failed
    with ``no_outcome`` where the call never wrote one)."""
    try:
        yield from records.read_settled(chunk)
        manifest = records.read_manifest(chunk)
    except records.missing_errors() as error:
        # Its listing step wrote both, settled jobs first; one gone means the jobs of that
        # chunk cannot be named: say so rather than let them go missing from the totals.
        yield PageOutcome(
            project_id="",  # pragma: no mutate - the report reads a page's jobs, not its project
            batch_id="",
            page=-1,  # pragma: no mutate - nor its number
            outcomes=[JobOutcome.failed(f"chunk-{chunk:06d}", CHUNK_UNREADABLE, str(error))],
        )
        return
    if not manifest:
        return
    written = records.page_outcomes_written(manifest[0].page, manifest[-1].page)

    def read(page: JobPage) -> tuple[JobPage, PageOutcome | None]:
        return page, records.read_page_outcome(page.page) if page.page in written else None

    # The pool's size changes only how many reads overlap, which no count or list shows.
    with ThreadPoolExecutor(READERS) as readers:  # pragma: no mutate - see above
        for page, outcome in readers.map(read, manifest):
            if outcome is not None:
                yield outcome
                continue
            message = f"the call for page {page.page} of batch {page.batch_id} did not finish"
            yield PageOutcome(
                project_id=page.project_id,
                batch_id=page.batch_id,
                page=page.page,
                outcomes=[
                    JobOutcome.failed(job_id, NO_OUTCOME, message) for job_id in page.job_ids
                ],
            )


def _finish(
    records: RunRecords,
    listing: dict[str, Any],
    state: ReportProgress,
    history: BatchHistory | None,
) -> ReportSummary:
    plan = records.read_batch_plan()
    if history is not None and plan.fingerprints:
        _record_clean_batches(history, plan, records, listing)
    totals = state.totals
    records.write_json(
        records.report_key,
        {
            "execution": records.execution,
            "project_id": listing.get("project_id"),
            "batch_ids": plan.batch_ids,
            "batches_left_out": [item.model_dump() for item in plan.left_out],
            "batches_not_found": state.batches_not_found,
            "overwrite": listing.get("overwrite"),
            "totals": totals,
            "skipped_by_reason": state.skipped_by_reason,
            "failed_by_code": state.failed_by_code,
            # Where each job that needs attention is named, one JSON object a line.
            "failed_jobs": {"count": totals["failed"], "files": records.job_list_glob(FAILED)},
            "skipped_jobs": {
                "count": totals["skipped"] - state.skipped_by_reason.get("already_exported", 0),
                "files": records.job_list_glob(SKIPPED),
            },
        },
    )
    failed = totals["failed"]
    location = records.uri(records.report_key)
    if state.batches_not_found:
        names = ", ".join(state.batches_not_found)
        cause = (
            f"not found in project {listing.get('project_id')}: batch {names}; {failed} of "
            f"{totals['jobs']} failed (each such batch counted as one), the report lists "
            f"each: {location}"
        )
    elif failed:
        cause = f"{failed} of {totals['jobs']} jobs failed; the report lists each: {location}"
    else:
        cause = f"all {totals['jobs']} jobs exported or skipped; report: {location}"
    return ReportSummary(
        report_key=records.report_key,
        complete=not failed,
        auth_failed=state.auth_failed,
        totals=totals,
        cause=cause,
    )


def _record_clean_batches(
    history: BatchHistory, plan: BatchPlan, records: RunRecords, listing: dict[str, Any]
) -> None:
    """Each batch this run listed whole: clean (every completed job exported or already
    there) is recorded with its details; one with a failure is forgotten, so the next run
    lists it. A chunk that could not be read leaves every listed batch forgotten."""
    failed_batches = {
        json.loads(line)["batch_id"] for line in records.read_job_lists(FAILED)
    }  # at most one ID per batch of the plan, which is in memory already
    known = history.read()
    started_at = datetime.fromisoformat(str(listing["started_at"]))
    unknown_failures = "" in failed_batches
    for batch_id, fingerprint in plan.fingerprints.items():
        if unknown_failures or batch_id in failed_batches:
            known.pop(batch_id, None)
        else:
            known[batch_id] = BatchRecord(fingerprint=fingerprint, listed_at=started_at)
    history.write(known)
