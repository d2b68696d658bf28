"""The run's report, made in bounded steps from the outcomes in S3.

Each step reads the next listing chunks (their manifests, settled jobs and page outcomes)
until its deadline or ``MAX_PAGES_PER_STEP`` pages, adds their counts to the running totals
(carried in the execution's state, a few hundred bytes), and writes the jobs that need a
person's attention, failed or skipped for a reason other than "already exported", to a part
under ``report-parts/``. The last step writes ``report.json`` from the totals and the parts,
through a temporary file, never holding more than one part. Jobs already exported are
counted, not listed: a daily run of a large project stays a small report.

A manifest page with no outcome object means its call never finished (timed out, crashed,
was throttled past its retries): each of its jobs is counted as failed, so a job can never
silently go missing from the totals.
"""

import json
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import IO, Any

from pydantic import BaseModel

from playment_exporter.batch_history import BatchHistory, BatchRecord
from playment_exporter.outcomes import (
    AUTH_FAILED,
    JobOutcome,
    JobStatus,
    PageOutcome,
    SkipReason,
)
from playment_exporter.run_records import BatchPlan, RunRecords

NO_OUTCOME = "no_outcome"
CHUNK_UNREADABLE = "chunk_unreadable"  # a listing chunk's records could not be read
MAX_PAGES_PER_STEP = 5_000  # page outcomes read by one step, whatever the deadline
READERS = 16  # page outcomes read at once
TOTALS = ("jobs", "exported", "skipped", "failed", "bytes")


class ReportProgress(BaseModel):
    """Where the report stands between steps."""

    next_chunk: int = 0
    totals: dict[str, int] = {}
    skipped_by_reason: dict[str, int] = {}
    failed_by_code: dict[str, int] = {}
    auth_failed: bool = False
    parts: list[str] = []
    failed_batches: list[str] = []  # batches with a failed job: not recorded as clean


class ReportSummary(BaseModel):
    """What the state machine needs: ``progress`` to carry into the next step, or (once
    ``progress`` is ``None``) how the execution ends."""

    report_key: str
    progress: ReportProgress | None = None
    complete: bool = False
    auth_failed: bool = False
    totals: dict[str, int] = {}
    cause: str = ""


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
    then record in ``history`` the batches this run listed and exported without a failure."""
    state = (progress or ReportProgress()).model_copy(deep=True)
    chunks = int(listing.get("chunks", 0))
    totals = Counter(state.totals)
    by_reason = Counter(state.skipped_by_reason)
    by_code = Counter(state.failed_by_code)
    attention: list[dict[str, Any]] = []
    first, pages_read = state.next_chunk, 0
    failed_batches = set(state.failed_batches)
    while state.next_chunk < chunks and pages_read < MAX_PAGES_PER_STEP:
        if pages_read and deadline is not None and clock() >= deadline:
            break
        for outcome in _chunk_outcomes(records, state.next_chunk):
            pages_read += 1
            totals["bytes"] += outcome.bytes_written
            for job in outcome.outcomes:
                totals[job.status.value] += 1
                entry = {"batch_id": outcome.batch_id, "job_id": job.job_id}
                if job.status is JobStatus.FAILED:
                    failed_batches.add(outcome.batch_id)
                    by_code[str(job.error_code)] += 1
                    state.auth_failed = state.auth_failed or job.error_code == AUTH_FAILED
                    attention.append(
                        {**entry, "error_code": job.error_code, "message": job.message}
                    )
                elif job.status is JobStatus.SKIPPED:
                    by_reason[str(job.reason)] += 1
                    if job.reason != SkipReason.ALREADY_EXPORTED:
                        attention.append({**entry, "reason": job.reason})
        state.next_chunk += 1
    if attention:
        part = f"{records.prefix}report-parts/{first:06d}.json"
        records.write_json(part, attention)
        state.parts.append(part)
    totals["jobs"] = totals["exported"] + totals["skipped"] + totals["failed"]
    state.totals = {name: totals[name] for name in TOTALS}
    state.skipped_by_reason = dict(sorted(by_reason.items()))
    state.failed_by_code = dict(sorted(by_code.items()))
    state.failed_batches = sorted(failed_batches)
    if state.next_chunk < chunks:
        return ReportSummary(report_key=records.report_key, progress=state)
    return _finish(records, listing, state, history)


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
            project_id="",
            batch_id="",
            page=-1,
            outcomes=[JobOutcome.failed(f"chunk-{chunk:06d}", CHUNK_UNREADABLE, str(error))],
        )
        return
    if not manifest:
        return
    written = records.page_outcomes_written(manifest[0].page, manifest[-1].page)
    with ThreadPoolExecutor(READERS) as readers:
        found = readers.map(
            lambda page: records.read_page_outcome(page.page) if page.page in written else None,
            manifest,
        )
        for page, outcome in zip(manifest, found, strict=True):
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
        _record_clean_batches(history, plan, state, listing)
    header = {
        "execution": records.execution,
        "project_id": listing.get("project_id"),
        "batch_ids": plan.batch_ids,
        "batches_left_out": [item.model_dump() for item in plan.left_out],
        "overwrite": listing.get("overwrite"),
        "totals": state.totals,
        "skipped_by_reason": state.skipped_by_reason,
        "failed_by_code": state.failed_by_code,
    }
    with tempfile.TemporaryFile("w+b") as report:
        _write_report_document(report, header, records, state.parts)
        report.seek(0)
        records.write_file(records.report_key, report)
    failed = state.totals["failed"]
    location = f"s3://{records.bucket}/{records.report_key}"
    if failed:
        cause = f"{failed} of {state.totals['jobs']} jobs failed; the report lists each: {location}"
    else:
        cause = f"all {state.totals['jobs']} jobs exported or skipped; report: {location}"
    return ReportSummary(
        report_key=records.report_key,
        complete=not failed,
        auth_failed=state.auth_failed,
        totals=state.totals,
        cause=cause,
    )


def _write_report_document(
    out: IO[bytes], header: dict[str, Any], records: RunRecords, parts: list[str]
) -> None:
    """``header`` plus ``failed`` and ``skipped`` lists, streamed from the parts (each read
    twice, one at a time, rather than all held at once)."""
    out.write(json.dumps(header, indent=1)[:-2].encode() + b",\n")
    for name, wanted in (("failed", "error_code"), ("skipped", "reason")):
        out.write(f' "{name}": ['.encode())
        first = True
        for part in parts:
            for entry in records.read_json(part):
                if wanted in entry:
                    out.write((b"\n  " if first else b",\n  ") + json.dumps(entry).encode())
                    first = False
        out.write(b"\n ]" if not first else b"]")
        out.write(b",\n" if name == "failed" else b"\n}\n")


def _record_clean_batches(
    history: BatchHistory, plan: BatchPlan, state: ReportProgress, listing: dict[str, Any]
) -> None:
    """Each batch this run listed whole: clean (every completed job exported or already
    there) is recorded with its details; one with a failure is forgotten, so the next run
    lists it. A chunk that could not be read leaves every listed batch forgotten."""
    records = history.read()
    started_at = datetime.fromisoformat(str(listing["started_at"]))
    unknown_failures = "" in state.failed_batches
    for batch_id, fingerprint in plan.fingerprints.items():
        if unknown_failures or batch_id in state.failed_batches:
            records.pop(batch_id, None)
        else:
            records[batch_id] = BatchRecord(fingerprint=fingerprint, listed_at=started_at)
    history.write(records)
