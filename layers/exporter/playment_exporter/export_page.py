"""Export one page of jobs: each job fetched and streamed into storage by a small thread pool.

Every job ends with exactly one ``JobOutcome``; one bad job never stops the others. An auth
failure is different: every remaining job would fail the same way, so the page stops at once
and the jobs not yet done are failed as ``auth_failed`` without a request.
"""

import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from datetime import UTC, datetime

from playment_exporter.errors import (
    AlreadyExported,
    ExporterError,
    InvalidInput,
    PlaymentAuthError,
)
from playment_exporter.export_index import index_lines, to_jsonl
from playment_exporter.export_options import DEFAULT_OPTIONS, ExportOptions
from playment_exporter.ids import validate_id
from playment_exporter.outcomes import AUTH_FAILED, JobOutcome, JobPage, PageOutcome, SkipReason
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.referenced_files import export_with_referenced_files
from playment_exporter.result_store import ResultStore
from playment_exporter.run_records import RunRecords
from playment_exporter.storage import StorageError

NOT_ATTEMPTED = "not attempted: Playment rejected the API key earlier in this page"


def export_page(
    client: PlaymentClient,
    store: ResultStore,
    page: JobPage,
    options: ExportOptions = DEFAULT_OPTIONS,
    *,
    pool: Executor | None = None,
) -> PageOutcome:
    """Export every job of ``page`` and say what became of each, in the page's order.

    ``options.deadline`` bounds retries so the call ends in time; a job not started before it
    is failed with ``deadline_exceeded`` rather than left unaccounted for. The jobs run on a
    pool of ``options.workers`` threads of the page's own, or on ``pool`` when given (one pool
    shared by pages at once: no thread idles at a page's end).
    """
    validate_id("project_id", page.project_id)
    validate_id("batch_id", page.batch_id)
    stop = threading.Event()
    deadline = options.deadline

    def run(job_id: str) -> JobOutcome:
        if stop.is_set():
            return JobOutcome.failed(job_id, AUTH_FAILED, NOT_ATTEMPTED)
        if deadline is not None and time.monotonic() >= deadline:
            return JobOutcome.failed(
                job_id, "deadline_exceeded", "not attempted: the page ran out of time"
            )
        try:
            return export_job(client, store, page, job_id, options)
        except PlaymentAuthError as error:
            stop.set()
            return JobOutcome.failed(job_id, AUTH_FAILED, str(error))

    if pool is None:
        with ThreadPoolExecutor(max(options.workers, 1), thread_name_prefix="export") as own:
            outcomes = _outcomes(own, run, page.job_ids)
    else:
        outcomes = _outcomes(pool, run, page.job_ids)
    return PageOutcome(
        project_id=page.project_id, batch_id=page.batch_id, page=page.page, outcomes=outcomes
    )


def _outcomes(
    pool: Executor, run: Callable[[str], JobOutcome], job_ids: list[str]
) -> list[JobOutcome]:
    futures: list[Future[JobOutcome]] = [pool.submit(run, job_id) for job_id in job_ids]
    return [future.result() for future in futures]


def export_and_record_page(
    client: PlaymentClient,
    store: ResultStore,
    records: RunRecords,
    page: JobPage,
    options: ExportOptions = DEFAULT_OPTIONS,
    *,
    pool: Executor | None = None,
) -> PageOutcome:
    """One manifest page, as FetchResult and the local command both do it: export its jobs,
    write its index part, then its outcome (a page with an outcome always has its index part,
    so the report never counts a job the index lacks)."""
    outcome = export_page(client, store, page, options, pool=pool)
    now = datetime.now(UTC)  # pragma: no mutate - now(None), local, is the same instant in UTC
    lines = index_lines(outcome, store.result_key, execution=records.execution, exported_at=now)
    if lines:
        store.write_index(page.batch_id, records.execution, page.page, to_jsonl(lines))
    records.write_page_outcome(outcome)
    return outcome


def export_job(
    client: PlaymentClient,
    store: ResultStore,
    page: JobPage,
    job_id: str,
    options: ExportOptions,
) -> JobOutcome:
    """Fetch one job's record, then its result (and, if asked, the files it references) into
    S3. Raises only ``PlaymentAuthError``: every other failure is the job's outcome."""
    try:
        validate_id("job_id", job_id)
        job = client.get_job(page.project_id, job_id, deadline=options.deadline)
        if not job.is_completed:
            return JobOutcome.skipped(job_id, SkipReason.NOT_COMPLETED)
        if not job.result_url:
            return JobOutcome.skipped(job_id, SkipReason.NO_RESULT)
        if options.include_referenced:
            exported = export_with_referenced_files(
                client, store, page, job_id, job.result_url, options=options
            )
        else:
            exported = _export_result(client, store, page, job_id, job.result_url, options=options)
        return exported.model_copy(update={"reference_id": job.reference_id or ""})
    except PlaymentAuthError:
        raise
    except Exception as error:  # noqa: BLE001 - one job's surprise must not sink the page
        return _failed_job(job_id, error)


def _export_result(
    client: PlaymentClient,
    store: ResultStore,
    page: JobPage,
    job_id: str,
    result_url: str,
    *,
    options: ExportOptions,
) -> JobOutcome:
    """Stream the result into storage; a transfer that breaks off is retried whole, with a
    freshly signed URL."""
    for attempt in client.retrying(options.deadline):
        with attempt, client.open_result(result_url, deadline=options.deadline) as body:
            store.write_result(
                page.batch_id,
                job_id,
                body,
                overwrite=options.overwrite,
                size_hint=body.expected_length,
                execution=page.execution,
            )
            return JobOutcome.exported(
                job_id, body.bytes_read, sha256=body.sha256, result_size=body.bytes_read
            )
    raise AssertionError("unreachable: tenacity re-raises the last error")


def _failed_job(job_id: str, error: Exception) -> JobOutcome:
    """What a job's failure makes of its outcome: the exporter's own errors by their code,
    the storage's naming who refused, anything else by its type alone (its message might
    hold what no outcome should)."""
    if isinstance(error, InvalidInput):
        return JobOutcome.failed(job_id, "invalid_job_id", str(error))
    if isinstance(error, AlreadyExported):
        return JobOutcome.skipped(job_id, SkipReason.ALREADY_EXPORTED)
    if isinstance(error, ExporterError):
        return JobOutcome.failed(job_id, error.code, error.message)
    if isinstance(error, StorageError):
        return JobOutcome.failed(job_id, error.code, f"{error.where} refused the write")
    return JobOutcome.failed(job_id, "unexpected_error", type(error).__name__)
