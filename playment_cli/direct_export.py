"""``run`` and ``demo`` on the local driver: the export in this process, into ``--out``.

``--out DIR`` is the folder adapter: nothing here reaches AWS. ``--out s3://bucket/prefix`` is
an explicit opt-in to the S3 adapter with the user's own AWS credentials (the deployed
layout: results under the prefix, run records under ``_exports/``), without a stack.
"""

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

from playment_cli.export_flags import EXIT_INCOMPLETE, EXIT_OK, UsageError
from playment_cli.export_summary import print_export_summary
from playment_cli.interrupts import exit_status_of
from playment_cli.local_driver import RUN_LOG, DriverProgress, DriverSettings, LocalDriver
from playment_cli.pages_bar import PagesUpdate, pages_bar
from playment_execution import new_execution_name
from playment_exporter.export_request import ExportRequest
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.storage import Storage
from playment_exporter.storage_folder import FolderStorage

S3_SCHEME = "s3://"
STOP_WAIT_S = 1.0  # how long a stop waits for writes under way before leaving


@dataclass(frozen=True)
class OutputTarget:
    """Where ``--out`` points: a folder, or a bucket and a results prefix."""

    folder: Path | None = None
    bucket: str = ""
    prefix: str = ""

    def __str__(self) -> str:
        return str(self.folder) if self.folder is not None else f"s3://{self.bucket}/{self.prefix}"


def output_target(value: str) -> OutputTarget:
    """``--out``: a folder path, or ``s3://bucket[/prefix]`` (the prefix ends with ``/``)."""
    if not value.startswith(S3_SCHEME):
        return OutputTarget(folder=Path(value))
    parts = urlsplit(value)
    bucket, prefix = parts.netloc, parts.path.lstrip("/")
    if not bucket or parts.query or parts.fragment:
        raise UsageError(f"--out: {value!r} is not s3://bucket or s3://bucket/prefix")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    if prefix.startswith("_exports/"):
        raise UsageError("--out: the prefix may not start with _exports/ (the run records')")
    return OutputTarget(bucket=bucket, prefix=prefix)


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


def export_directly(
    target: OutputTarget,
    api_url: str,
    api_key: str,
    request: ExportRequest,
    settings: DriverSettings,
) -> int:
    """Run the export, print its summary; the exit status."""
    started = time.monotonic()
    name = new_execution_name()
    storage = open_storage(target, settings.max_concurrency * settings.page_workers)
    client = PlaymentClient(
        api_url, api_key, pool_size=settings.max_concurrency * settings.page_workers
    )
    try:
        with pages_bar() as update:
            driver = LocalDriver(
                client,
                storage,
                settings,
                on_progress=None if update is None else _progress_to(update),
            )
            try:
                result = driver.run(request, name)
            except KeyboardInterrupt as interrupt:
                _stop(storage, target, interrupt)
    finally:
        client.close()
    storage.close()
    places = [("files in output", f"{target}")]
    if result.report is not None:
        places.append(("report", storage.uri(f"_exports/{name}/report.json")))
    if not result.succeeded and result.report is None:
        places.append(("details", storage.uri(f"_exports/{name}/{RUN_LOG}")))
    print_export_summary(result, places, time.monotonic() - started)
    return EXIT_OK if result.succeeded else EXIT_INCOMPLETE


def _progress_to(update: PagesUpdate) -> Callable[[DriverProgress], None]:
    def tell(progress: DriverProgress) -> None:
        update(
            progress.pages_total,
            progress.pages_done,
            f"{progress.exported} exported, {progress.failed} failed",
        )

    return tell


def _stop(storage: Storage, target: OutputTarget, interrupt: KeyboardInterrupt) -> NoReturn:
    """Ctrl-C or SIGTERM: write nothing more, drop what was staged, and leave at once.

    Every object in OUT is whole (each appears by one rename or one request); what the pages
    were still fetching is dropped. The page workers cannot be cancelled mid-request, so the
    process ends with ``os._exit`` rather than waiting for them."""
    if isinstance(storage, FolderStorage):
        storage.close(wait_s=STOP_WAIT_S)
    print(
        f"\ninterrupted: every file in {target} is whole; run the same command again to "
        "export the rest",
        file=sys.stderr,
        flush=True,
    )
    sys.stdout.flush()
    os._exit(exit_status_of(interrupt))
