"""The export on this machine, driven directly: the domain's steps in the state machine's order.

List a chunk (``list_export_pages``), export its pages with a bounded pool of page workers
(``export_and_record_page``, as FetchResult does), the next chunk, until the listing is done;
then the report in steps (``write_report``), which records the batch history. The same
functions, records and layout as on AWS, on whatever ``Storage`` it is given (the output
folder, or a bucket with ``--out s3://``): no AWS emulation, so every job costs the network's
time, not an emulator's. How the execution ends follows the state machine's verdicts:
``ExportIncomplete``, ``PlaymentAuthError``, or the failed step's own error.
"""

import json
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from playment_execution import ExecutionResult
from playment_exporter import list_pages
from playment_exporter.batch_history import BatchHistory
from playment_exporter.defaults import LISTING_STEP_JOBS
from playment_exporter.errors import PlaymentAuthError
from playment_exporter.export_options import ExportOptions
from playment_exporter.export_page import export_and_record_page
from playment_exporter.export_request import ExportRequest
from playment_exporter.list_pages import ListingCursor
from playment_exporter.outcomes import JobPage, PageOutcome
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.report import ReportProgress, ReportSummary, write_report
from playment_exporter.result_store import ResultStore
from playment_exporter.run_records import RunRecords
from playment_exporter.storage import MissingObject, Storage, read_all

RUN_LOG = "run.log"
WAIT_S = 0.2  # how long the main thread waits on the pool at a time: signals land between


@dataclass(frozen=True)
class DriverSettings:
    """``max_concurrency``: pages at once (the Map's ``MapMaxConcurrency``, which also sizes
    the pages); ``page_workers``: jobs at once per page (``PageWorkers``)."""

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
        """Every listing step, each followed by its chunk's pages; the last step's summary."""
        cursor: ListingCursor | None = None
        # Not a with-block: a stop (Ctrl-C) must not wait for the pages under way.
        pages = ThreadPoolExecutor(
            max_workers=self._settings.max_concurrency, thread_name_prefix="page"
        )
        try:
            while True:
                try:
                    summary = list_pages.list_export_pages(
                        self._client,
                        store,
                        records,
                        request,
                        list_pages.ListingOptions(
                            max_concurrency=self._settings.max_concurrency,
                            started_at=started_at,
                            step_jobs=self._settings.step_jobs,
                            history=history,
                        ),
                        cursor=cursor,
                    )
                except Exception as error:
                    self._check_stop()
                    raise StepFailed(error) from error
                self._log("listing step done", summary.model_dump(exclude={"cursor"}))
                self._add_pages(summary.pages)
                manifest = records.read_manifest(summary.chunk)
                self._fetch(pages, store, records, request, manifest)
                if summary.cursor is None:
                    return summary.model_dump()
                cursor = summary.cursor
        except BaseException:
            pages.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            pages.shutdown(wait=False)

    def _fetch(
        self,
        pages: ThreadPoolExecutor,
        store: ResultStore,
        records: RunRecords,
        request: ExportRequest,
        manifest: list[JobPage],
    ) -> None:
        """The chunk's pages, ``max_concurrency`` at a time (the Map's children). A page whose
        call raises leaves no outcome: the report counts its jobs as failed, as on AWS."""
        running: set[Future[PageOutcome]] = set()
        for page in manifest:
            if len(running) >= self._settings.max_concurrency:
                running = self._wait_some(running)
            running.add(pages.submit(self._page, store, records, request, page))
        while running:
            running = self._wait_some(running)

    def _wait_some(self, running: set["Future[PageOutcome]"]) -> set["Future[PageOutcome]"]:
        while True:
            done, rest = wait(running, timeout=WAIT_S, return_when=FIRST_COMPLETED)
            self._check_stop()
            if done:
                return rest

    def _page(
        self, store: ResultStore, records: RunRecords, request: ExportRequest, page: JobPage
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
