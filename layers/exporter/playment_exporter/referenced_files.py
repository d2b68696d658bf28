"""Files a result points at (segmentation masks, point clouds), exported next to it.

A segmentation result is JSON whose ``url`` fields, at any depth, name private files that
only the attachment API opens. Each is stored as ``<batch_id>/<job_id>/<file name>``, streamed
like a result but not parsed (a PNG is not JSON). A job counts as exported only when all its
files and then its result are written; if any file fails, the files written so far are taken
back, so a result object in S3 always means a complete job. Files that cannot be taken back
fail the job as ``cleanup_failed``, naming them, whatever failed first: they are objects in the
bucket that someone must remove, and nothing else would say so.
"""

import re
import shutil
from dataclasses import dataclass, field
from tempfile import SpooledTemporaryFile
from urllib.parse import unquote, urlsplit

from playment_exporter.errors import (
    AlreadyExported,
    ExporterError,
    ObjectsLeftBehind,
    PlaymentApiError,
    RejectedBody,
    TransientError,
)
from playment_exporter.export_options import ExportOptions
from playment_exporter.outcomes import IndexedFile, JobOutcome, JobPage
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.result_store import ResultStore
from playment_exporter.storage import StorageError

_SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}")
SPOOL_IN_MEMORY = 8 * 1024 * 1024  # beyond this the result waits on local disk (/tmp)
COPY_CHUNK = 1024 * 1024


class ReferencedFileFailed(ExporterError):
    """One referenced file could not be exported; the message names the file."""


@dataclass(frozen=True)
class ReferencedFile:
    url: str
    name: str


def referenced_files(urls: list[str]) -> list[ReferencedFile]:
    """The distinct files behind ``urls``, each with the name it is stored under."""
    files: dict[str, ReferencedFile] = {}
    for url in urls:
        parts = urlsplit(url)
        name = unquote(parts.path.rsplit("/", 1)[-1])  # the last segment: "a%2Fb" stays one
        if parts.scheme not in {"http", "https"} or not _SAFE_NAME.fullmatch(name):
            raise ReferencedFileFailed(
                "invalid_referenced_url", f"{url[:200]!r} does not name a file that can be stored"
            )
        known = files.get(name)
        if known is not None and known.url != url:
            raise ReferencedFileFailed(
                "duplicate_referenced_name", f"two different files are both named {name!r}"
            )
        files[name] = ReferencedFile(url, name)
    return list(files.values())


def export_with_referenced_files(
    client: PlaymentClient,
    store: ResultStore,
    page: JobPage,
    job_id: str,
    result_url: str,
    *,
    options: ExportOptions,
) -> JobOutcome:
    """Download the result once (kept in a spooled file, so memory stays flat), export the
    files it references, then write the result. Raises ``ReferencedFileFailed`` and the
    client's own errors; ``AlreadyExported`` when the result is there already."""
    deadline = options.deadline
    with SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        for attempt in client.retrying(deadline):
            with (
                attempt,
                client.open_result(result_url, deadline=deadline, collect_urls=True) as body,
            ):
                spool.seek(0)
                spool.truncate()
                shutil.copyfileobj(body, spool, COPY_CHUNK)
                urls, size, sha256 = list(body.referenced_urls), body.bytes_read, body.sha256
        files = referenced_files(urls)
        job_files = _JobFiles(client, store, page, job_id, options)
        try:
            indexed = [job_files.export(file) for file in files]
            for attempt in client.retrying(deadline):  # a 409 from S3 is worth another try
                with attempt:
                    spool.seek(0)
                    store.write_result(
                        page.batch_id,
                        job_id,
                        spool,
                        overwrite=options.overwrite,
                        size_hint=size,
                        execution=page.execution,
                    )
        except AlreadyExported:
            raise  # the result is there from an earlier run: the files are right beside it
        except BaseException as error:
            _take_back(store, job_files.written, error)
            raise
    files_bytes = sum(file.size for file in indexed if file.key in job_files.written)
    return JobOutcome.exported(
        job_id,
        size + files_bytes,
        files=len(files),
        sha256=sha256,
        result_size=size,
        referenced=indexed,
    )


def _take_back(store: ResultStore, written: list[str], error: BaseException) -> None:
    """Delete the files written for a job that failed; raise ``cleanup_failed`` if any stay."""
    try:
        store.delete(written)
    except ObjectsLeftBehind as left:
        if not isinstance(error, Exception):
            raise error from left  # an interrupt stays an interrupt
        raise ReferencedFileFailed(
            "cleanup_failed",
            f"the job failed ({_code_of(error)}) and its referenced files could not be deleted: "
            f"{left}",
        ) from error


@dataclass
class _JobFiles:
    """One job's referenced files as they are written: ``written`` holds the keys this run
    wrote, which a failure takes back."""

    client: PlaymentClient
    store: ResultStore
    page: JobPage
    job_id: str
    options: ExportOptions
    written: list[str] = field(default_factory=list)

    def export(self, file: ReferencedFile) -> IndexedFile:
        batch_id, deadline = self.page.batch_id, self.options.deadline
        key = self.store.referenced_key(batch_id, self.job_id, file.name)
        try:
            for attempt in self.client.retrying(deadline):
                with (
                    attempt,
                    self.client.open_result(
                        file.url,
                        deadline=deadline,
                        expect_json=False,  # pragma: no mutate - None is as false to VerifiedBody
                    ) as body,
                ):
                    try:
                        self.store.write_referenced(
                            batch_id,
                            self.job_id,
                            file.name,
                            body,
                            overwrite=self.options.overwrite,
                            size_hint=body.expected_length,
                        )
                    except AlreadyExported:
                        # Written by an earlier run whose result write did not happen: the same
                        # file, kept; the index records what was read of it now.
                        return IndexedFile(key=key, size=body.bytes_read, sha256=body.sha256)
                    self.written.append(key)
                    return IndexedFile(key=key, size=body.bytes_read, sha256=body.sha256)
        except (TransientError, RejectedBody, PlaymentApiError) as error:
            raise ReferencedFileFailed(
                error.code, f"referenced file {file.name}: {error.message}"
            ) from None
        raise AssertionError("unreachable: tenacity re-raises the last error")


def _code_of(error: Exception) -> str:
    """The code an outcome would have given ``error``: ours, the storage's, or the exception's
    name."""
    if isinstance(error, ExporterError | StorageError):
        return error.code
    return type(error).__name__
