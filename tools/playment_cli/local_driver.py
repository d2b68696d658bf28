"""The export on this machine, driven directly: the domain's steps in the state machine's order.

List a chunk (``list_export_pages``), export its pages (``export_and_record_page``, as
FetchResult does), the next chunk, until the listing is done; then the report in steps
(``write_report``), which records the batch history. The same functions, records and layout
as on AWS, on whatever ``Storage`` it is given (the output folder, or a bucket with ``--out
s3://``): no AWS emulation, so every job costs the network's time, not an emulator's. How the
execution ends follows the state machine's verdicts: ``ExportIncomplete``,
``PlaymentAuthError``, or the failed step's own error.

Two things differ from AWS, for speed on one machine; neither changes a result, an index line
or the report:
- Every page's jobs run on one pool of ``max_concurrency x page_workers`` threads, so no
  thread idles while a page finishes its last jobs; so pages need not be small to keep the
  threads busy, and a chunk is cut into pages of up to ``PAGE_SIZE`` jobs (on AWS, into a
  page per allowed child): each page costs two files (its outcome and index part), and
  creating a file costs more CPU than a job's three requests on some machines.
- The next listing step runs while the chunk before it is being fetched (Playment lists 100
  jobs a request, one request after the other: 2,000 jobs take 20 round trips, time in which
  nothing would be fetched). The first step lists one page of jobs, and each step lists twice
  as many as the one before, up to ``step_jobs``, so that fetching starts at once and the
  listing stays ahead. A step settles its jobs against what is stored; the state machine runs
  it after the chunk before is fetched. So the two orders agree unless a job of the new chunk
  is also in the chunk being fetched (Playment listed it twice): then the step is run again,
  from the same cursor, once that chunk is done, as the state machine would have run it (a
  listing step is safe to run again: on AWS it is retried when it crashes).
"""

import json
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from playment_execution import ExecutionResult
from playment_exporter import list_pages
from playment_exporter.batch_history import BatchHistory
from playment_exporter.defaults import LISTING_STEP_JOBS
from playment_exporter.errors import PlaymentAuthError
from playment_exporter.export_options import ExportOptions
from playment_exporter.export_page import export_and_record_page
from playment_exporter.export_request import ExportRequest
from playment_exporter.list_pages import ListingCursor, ListingSummary
from playment_exporter.outcomes import JobPage, PageOutcome
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.report import ReportProgress, ReportSummary, write_report
from playment_exporter.result_store import ResultStore
from playment_exporter.run_records import RunRecords
from playment_exporter.storage import MissingObject, Storage, read_all

RUN_LOG = "run.log"
WAIT_S = 0.2  # how long the main thread waits on the pool at a time: signals land between
FIRST_STEP_JOBS = 100  # one page of Playment's listing: fetching starts after one request
PAGES_PER_CHUNK = 1  # as few pages as PAGE_SIZE allows: the job pool is shared (see above)


@dataclass(frozen=True)
class DriverSettings:
    """``max_concurrency``: pages at once (the Map's ``MapMaxConcurrency``); ``page_workers``:
    jobs at once per page (``PageWorkers``); their product is the size of the one job pool
    all pages share: the requests in flight."""

    max_concurrency: int
    page_workers: int
    step_jobs: int = LISTING_STEP_JOBS
    results_prefix: str = ""


@dataclass
class DriverProgress:
    """What the run has done so far, for a progress bar."""

    pages_total: int = 0
    pages_done: int = 0
    exported: int = 0
    failed: int = 0


class StepFailed(Exception):
    """A listing or report step raised: the execution fails with its error, as a Lambda
    task's error fails the state machine."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.error = error


class LocalDriver:
    """One export, run in this process on ``storage``, named ``execution``."""

    def __init__(
        self,
        client: PlaymentClient,
        storage: Storage,
        settings: DriverSettings,
        *,
        on_progress: Callable[[DriverProgress], None] | None = None,
        check_stop: Callable[[], None] | None = None,
        log: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        """``check_stop`` runs on the calling thread between waits and steps and may raise to
        end the run (a full disk); ``log`` gets what the handlers would log at ``INFO``."""
        self._client = client
        self._storage = storage
        self._settings = settings
        self._on_progress = on_progress
        self._check_stop = check_stop or (lambda: None)
        self._log = log or (lambda message, fields: None)
        self.store: ResultStore | None = None
        self.progress = DriverProgress()
        self._lock = threading.Lock()

    @property
    def results_written(self) -> int:
        """Results this run wrote: each a whole file (or object) in the output."""
        return self.store.results_written if self.store is not None else 0

    def run(self, request: ExportRequest, execution: str) -> ExecutionResult:
        started_at = datetime.now(UTC)
        records = RunRecords(self._storage, execution)
        store = ResultStore(self._storage, self._settings.results_prefix)
        self.store = store
        history = BatchHistory(self._storage, request.project_id)
        try:
            listing = self._list_and_fetch(request, records, store, history, started_at)
            summary = self._report(records, listing, history)
        except StepFailed as failed:
            self._log_failure(records, failed.error)
            return _failed(execution, failed.error)
        return _ended(execution, summary, self._report_document(records))

    def _list_and_fetch(
        self,
        request: ExportRequest,
        records: RunRecords,
        store: ResultStore,
        history: BatchHistory,
        started_at: datetime,
    ) -> dict[str, Any]:
        """Every listing step, each overlapping the fetch of the chunk before it; the last
        step's summary, once every chunk is fetched."""
        settings = self._settings
        # Not with-blocks: a stop (Ctrl-C) must not wait for the pages under way.
        pages = ThreadPoolExecutor(settings.max_concurrency, thread_name_prefix="page")
        jobs = ThreadPoolExecutor(
            settings.max_concurrency * settings.page_workers, thread_name_prefix="export"
        )
        fetching = _Chunk([], [])  # the chunk whose pages are under way
        cursor: ListingCursor | None = None
        step_jobs = min(FIRST_STEP_JOBS, settings.step_jobs)
        try:
            while True:
                options = list_pages.ListingOptions(
                    max_concurrency=PAGES_PER_CHUNK,
                    started_at=started_at,
                    step_jobs=step_jobs,
                    history=history,
                )
                list_step = partial(
                    self._list_step, request, records, store, options, cursor, fetching
                )
                summary, manifest = list_step()
                if fetching.shares_jobs_with(manifest):
                    self._finish(fetching)  # then the step as the state machine runs it
                    summary, manifest = list_step()
                self._log("listing step done", summary.model_dump(exclude={"cursor"}))
                self._add_pages(summary.pages)
                started = _Chunk(
                    manifest,
                    [
                        pages.submit(self._page, store, records, request, page, jobs)
                        for page in manifest
                    ],
                )
                self._finish(fetching)
                fetching = started
                if summary.cursor is None:
                    self._finish(fetching)
                    return summary.model_dump()
                cursor = summary.cursor
                step_jobs = min(2 * step_jobs, settings.step_jobs)
        except BaseException:
            pages.shutdown(wait=False, cancel_futures=True)
            jobs.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            pages.shutdown(wait=False)
            jobs.shutdown(wait=False)

    def _list_step(
        self,
        request: ExportRequest,
        records: RunRecords,
        store: ResultStore,
        options: list_pages.ListingOptions,
        cursor: ListingCursor | None,
        fetching: "_Chunk",
    ) -> tuple[ListingSummary, list[JobPage]]:
        """One listing step and its manifest. A step that raises fails the run once the chunk
        being fetched is done, as on AWS, where the step comes after that chunk's Map."""
        try:
            summary = list_pages.list_export_pages(
                self._client,
                store,
                records,
                request,
                options,
                cursor=cursor,
            )
            return summary, records.read_manifest(summary.chunk)
        except Exception as error:
            self._check_stop()
            self._finish(fetching)
            raise StepFailed(error) from error

    def _finish(self, chunk: "_Chunk") -> None:
        """Wait for the chunk's pages, checking for a stop between waits. A page whose call
        raises leaves no outcome: the report counts its jobs as failed, as on AWS."""
        running = set(chunk.pages)
        while running:
            _, running = wait(running, timeout=WAIT_S, return_when=FIRST_COMPLETED)
            self._check_stop()

    def _page(
        self,
        store: ResultStore,
        records: RunRecords,
        request: ExportRequest,
        page: JobPage,
        jobs: ThreadPoolExecutor,
    ) -> PageOutcome:
        outcome = export_and_record_page(
            self._client,
            store,
            records,
            page,
            ExportOptions(
                overwrite=request.overwrite,
                include_referenced=request.include_referenced,
                workers=self._settings.page_workers,
            ),
            pool=jobs,
        )
        counts = outcome.counts()
        with self._lock:
            self.progress.pages_done += 1
            self.progress.exported += counts["exported"]
            self.progress.failed += counts["failed"]
        self._tell()
        return outcome

    def _report(
        self, records: RunRecords, listing: dict[str, Any], history: BatchHistory
    ) -> ReportSummary:
        progress: ReportProgress | None = None
        while True:
            try:
                summary = write_report(records, listing, progress, history=history)
            except Exception as error:
                self._check_stop()
                raise StepFailed(error) from error
            if summary.progress is None:
                self._log("report written", summary.model_dump())
                return summary
            progress = summary.progress

    def _report_document(self, records: RunRecords) -> dict[str, Any] | None:
        try:
            document: dict[str, Any] = json.loads(read_all(self._storage, records.report_key))
        except MissingObject:
            return None
        return document

    def _log_failure(self, records: RunRecords, error: BaseException) -> None:
        """The failed step's whole trace, beside the run's records (the terminal gets one
        line): ``_exports/<execution>/run.log``."""
        trace = "".join(traceback.format_exception(error))
        self._storage.put(records.prefix + RUN_LOG, trace.encode(), content_type="text/plain")

    def _add_pages(self, pages: int) -> None:
        with self._lock:
            self.progress.pages_total += pages
        self._tell()

    def _tell(self) -> None:
        if self._on_progress is not None:
            self._on_progress(self.progress)


@dataclass(frozen=True)
class _Chunk:
    """A chunk's manifest and its pages' calls under way."""

    manifest: list[JobPage]
    pages: list["Future[PageOutcome]"]

    def shares_jobs_with(self, manifest: list[JobPage]) -> bool:
        """Whether a job of ``manifest`` is among this chunk's (Playment listed it twice)."""
        mine = {(page.batch_id, job_id) for page in self.manifest for job_id in page.job_ids}
        return any((page.batch_id, job_id) in mine for page in manifest for job_id in page.job_ids)


def _ended(
    execution: str, summary: ReportSummary, report: dict[str, Any] | None
) -> ExecutionResult:
    """The state machine's verdict on the report's last step."""
    if summary.complete:
        return ExecutionResult(execution, "SUCCEEDED", None, None, summary.model_dump(), report)
    error = "PlaymentAuthError" if summary.auth_failed else "ExportIncomplete"
    return ExecutionResult(execution, "FAILED", error, summary.cause, None, report)


def _failed(execution: str, error: BaseException) -> ExecutionResult:
    """A step that raised: its error's type and message, as a Lambda task's error reads."""
    name = "PlaymentAuthError" if isinstance(error, PlaymentAuthError) else type(error).__name__
    cause = {
        "errorType": name,
        "errorMessage": str(error),
        "stackTrace": traceback.format_exception(error)[-3:],
    }
    return ExecutionResult(execution, "FAILED", name, json.dumps(cause), None, None)
