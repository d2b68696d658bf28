"""The run's report: totals, and every failed and skipped job, from the outcomes in S3.

A manifest page with no outcome object means its call never finished (timed out, crashed,
was throttled past its retries): each of its jobs is counted as failed, so a job can never
silently go missing from the totals.
"""

from collections import Counter
from typing import Any

from pydantic import BaseModel

from playment_exporter.outcomes import AUTH_FAILED, JobStatus, PageOutcome
from playment_exporter.run_records import RunRecords

NO_OUTCOME = "no_outcome"


class ReportSummary(BaseModel):
    """What the state machine needs to decide how the execution ends."""

    report_key: str
    complete: bool
    auth_failed: bool
    totals: dict[str, int]
    cause: str


def write_report(records: RunRecords, listing: dict[str, Any]) -> ReportSummary:
    manifest = records.read_manifest()
    found: set[tuple[str, int]] = set()  # the manifest pages that recorded their outcome
    outcomes: list[PageOutcome] = []
    for key, outcome in records.read_outcomes():
        outcomes.append(outcome)
        if key.startswith(records.prefix + "outcomes/pages/"):
            found.add((outcome.batch_id, outcome.page))
    failed: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    totals: Counter[str] = Counter()
    for page in manifest:
        if (page.batch_id, page.page) not in found:
            totals["failed"] += len(page.job_ids)
            failed.extend(
                {
                    "batch_id": page.batch_id,
                    "job_id": job_id,
                    "error_code": NO_OUTCOME,
                    "message": f"the call for page {page.page} of batch {page.batch_id} "
                    "did not finish",
                }
                for job_id in page.job_ids
            )
    auth_failed = False
    for outcome in outcomes:
        totals["bytes"] += outcome.bytes_written
        for job in outcome.outcomes:
            totals[job.status.value] += 1
            entry = {"batch_id": outcome.batch_id, "job_id": job.job_id}
            if job.status is JobStatus.FAILED:
                auth_failed = auth_failed or job.error_code == AUTH_FAILED
                failed.append({**entry, "error_code": job.error_code, "message": job.message})
            elif job.status is JobStatus.SKIPPED:
                skipped.append({**entry, "reason": job.reason})
    totals["jobs"] = totals["exported"] + totals["skipped"] + totals["failed"]
    summary = {name: totals[name] for name in ("jobs", "exported", "skipped", "failed", "bytes")}
    by_reason = Counter(str(entry["reason"]) for entry in skipped)
    by_code = Counter(str(entry["error_code"]) for entry in failed)
    records.write_report(
        {
            "execution": records.execution,
            "project_id": listing.get("project_id"),
            "batch_ids": listing.get("batch_ids"),
            "overwrite": listing.get("overwrite"),
            "totals": summary,
            "skipped_by_reason": dict(sorted(by_reason.items())),
            "failed_by_code": dict(sorted(by_code.items())),
            "failed": failed,
            "skipped": skipped,
        }
    )
    location = f"s3://{records.bucket}/{records.report_key}"
    if failed:
        cause = f"{len(failed)} of {summary['jobs']} jobs failed; the report lists each: {location}"
    else:
        cause = f"all {summary['jobs']} jobs exported or skipped; report: {location}"
    return ReportSummary(
        report_key=records.report_key,
        complete=not failed,
        auth_failed=auth_failed,
        totals=summary,
        cause=cause,
    )
