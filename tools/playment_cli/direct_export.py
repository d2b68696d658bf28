"""``run`` and ``demo`` on the local driver: the export in this process, into ``--out``.

``--out DIR`` is the folder adapter: nothing here reaches AWS. ``--out s3://bucket/prefix`` is
an explicit opt-in to the S3 adapter with the user's own AWS credentials (the deployed
layout: results under the prefix, run records under ``_exports/``), without a stack.
"""

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from typing import Any, NoReturn

from playment_cli.api_check import refused_key_line
from playment_cli.export_flags import EXIT_INCOMPLETE, EXIT_OK
from playment_cli.export_summary import print_error, print_export_summary
from playment_cli.interrupts import exit_status_of, signal_name
from playment_cli.local_driver import RUN_LOG, DriverProgress, DriverSettings, LocalDriver
from playment_cli.output_folder import RECORDS, OutputFolder, OutputTarget
from playment_cli.progress import PagesUpdate, export_progress
from playment_execution import ExecutionResult, new_execution_name
from playment_exporter.api_models import ProjectDetails
from playment_exporter.export_request import ExportRequest
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.storage import Storage
from playment_exporter.storage_folder import FolderStorage

STOP_WAIT_S = 1.0  # how long a stop waits for writes under way before leaving


def open_storage(target: OutputTarget, workers: int) -> Storage:
    """The folder adapter, or (only for an ``s3://`` target) the S3 adapter with the user's
    own credentials; boto3 is imported only then."""
    if target.folder is not None:
        folder = FolderStorage(target.folder)
        folder.clear_staging()  # what a killed run left
        return folder
    import boto3
    from botocore.config import Config

    from playment_exporter.storage_s3 import S3Storage

    # The user's own configuration, as the AWS CLI reads it (profile, region, endpoint).
    client = boto3.session.Session().client(
        "s3", config=Config(max_pool_connections=workers + 4, retries={"mode": "standard"})
    )
    return S3Storage(client, target.bucket, workers=workers)


def export_directly(  # noqa: PLR0913 - the parts of `run` the command line checked
    target: OutputTarget,
    folder: OutputFolder | None,
    api: tuple[str, str],
    request: ExportRequest,
    settings: DriverSettings,
    *,
    verbose: bool = False,
    details: ProjectDetails | None = None,
) -> int:
    """Run the export, print its summary; the exit status. ``folder``: ``--out`` as checked
    (a folder target only), tidied again if the run left nothing in it."""
    api_url, api_key = api
    started = time.monotonic()
    name = new_execution_name()
    storage = open_storage(target, settings.max_concurrency * settings.page_workers)
    client = PlaymentClient(
        api_url, api_key, pool_size=settings.max_concurrency * settings.page_workers
    )
    if details is not None:
        client.remember_details(request.project_id, details)
    stopping = _Stopping(storage, target, folder, name, started)
    try:
        with export_progress() as update:
            driver = LocalDriver(
                client,
                storage,
                settings,
                on_progress=_progress_to(update),
                check_stop=stopping.check,
                log=_log_to_stderr if verbose else None,
            )
            stopping.driver = driver
            try:
                result = driver.run(request, name)
                stopping.check()
            except KeyboardInterrupt as interrupt:
                stopping.stop(interrupt)
            except _OutOfSpace:
                stopping.stop(None)
    finally:
        client.close()
    storage.close()
    if _left_nothing(result, driver, storage):
        _forget_run(storage, name, folder)
    places = [("results written", f"{driver.results_written} to {_shown(target)}")]
    report = storage.uri(f"{RECORDS}/{name}/report.json")
    if result.report is not None:
        places.append(("report", report))
    elif not result.succeeded and result.error not in EXPLAINED_ERRORS:
        places.append(("details", storage.uri(f"{RECORDS}/{name}/{RUN_LOG}")))
    print_export_summary(
        result,
        places,
        time.monotonic() - started,
        report_place=report if result.report is not None else "not written",
        refused_key=refused_key_line,
    )
    return EXIT_OK if result.succeeded else EXIT_INCOMPLETE


# Errors whose message says all there is to say: a run that ends on one before writing any
# result leaves no records behind. Any other (a crash) keeps its trace in OUT.
EXPLAINED_ERRORS = frozenset(
    {
        "ExportIncomplete",
        "PlaymentAuthError",
        "PlaymentApiError",
        "PlaymentUnreachable",
        "InvalidInput",
        "ResultsBucketUnusable",
        "TransientError",
    }
)


class _OutOfSpace(Exception):
    """A write into OUT found the disk full: the run stops as if interrupted."""


def _shown(target: OutputTarget) -> str:
    return f"{target.folder}/" if target.folder is not None else str(target)


def _left_nothing(result: ExecutionResult, driver: LocalDriver, storage: Storage) -> bool:
    """A folder run that failed for an explained reason before any result or report: OUT is
    left as it was found."""
    return (
        isinstance(storage, FolderStorage)
        and result.report is None
        and driver.results_written == 0
        and result.error in EXPLAINED_ERRORS
    )


def _forget_run(storage: Storage, name: str, folder: OutputFolder | None) -> None:
    if isinstance(storage, FolderStorage):
        shutil.rmtree(storage.path_for(f"{RECORDS}/{name}"), ignore_errors=True)
        storage.clear_staging()
    if folder is not None:
        folder.tidy()


def _log_to_stderr(message: str, fields: dict[str, Any]) -> None:
    """What a handler logs, as its JSON line, on stderr (``--verbose``)."""
    line = json.dumps({"level": "INFO", "message": message, **fields}, default=str)
    print(line, file=sys.stderr, flush=True)


def _progress_to(update: PagesUpdate) -> Callable[[DriverProgress], None]:
    def tell(progress: DriverProgress) -> None:
        update(
            progress.pages_total,
            progress.pages_done,
            f"{progress.exported} exported, {progress.failed} failed",
        )

    return tell


class _Stopping:
    """How a run ends early: Ctrl-C, SIGTERM, or a full disk under a folder ``--out``."""

    def __init__(
        self,
        storage: Storage,
        target: OutputTarget,
        folder: OutputFolder | None,
        name: str,
        started: float,
    ) -> None:
        self.storage, self.target, self.folder = storage, target, folder
        self.name, self.started = name, started
        self.driver: LocalDriver | None = None

    def check(self) -> None:
        if isinstance(self.storage, FolderStorage) and self.storage.no_space is not None:
            raise _OutOfSpace

    def stop(self, interrupt: KeyboardInterrupt | None) -> NoReturn:
        """Write nothing more, drop what was staged, say what is there, and leave at once.

        Every object in OUT is whole (each appears by one rename or one request); what the
        pages were still fetching is dropped. The page workers cannot be cancelled
        mid-request, so the process ends with ``os._exit`` rather than waiting for them."""
        if isinstance(self.storage, FolderStorage):
            self.storage.close(wait_s=STOP_WAIT_S)
        written = self.driver.results_written if self.driver is not None else 0
        elapsed = time.monotonic() - self.started
        where = _shown(self.target)
        print(
            f"Export {self.name} stopped after {elapsed:.1f} s: {written} results written to "
            f"{where}, each whole",
            flush=True,
        )
        if interrupt is None:
            print_error(
                f"no space left on the device under {self.target}: the {written} results "
                "written are whole; free some space, then run the same command again"
            )
            status = EXIT_INCOMPLETE
        else:
            print(
                f"playment-export: interrupted ({signal_name(interrupt)}): run the same "
                "command again to export the rest",
                file=sys.stderr,
                flush=True,
            )
            status = exit_status_of(interrupt)
        if self.folder is not None:
            self.folder.tidy()
        sys.stdout.flush()
        os._exit(status)
