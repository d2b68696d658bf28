"""Where results land: ``<prefix><batch_id>/<job_id>.json`` in the results storage (a bucket,
or the local command's folder: ``storage``), written create-only, streamed, whole or not at all.
"""

import bisect
import mimetypes
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import NamedTuple

from playment_exporter.errors import AlreadyExported, ObjectsLeftBehind
from playment_exporter.export_index import index_key
from playment_exporter.storage import Readable, Storage, StorageError

RESULT_SUFFIX = ".json"
EXECUTION_METADATA = "export-execution"  # x-amz-meta-export-execution on each result
JSON = "application/json"


class ExportedAmong(NamedTuple):
    written: dict[str, datetime]  # job ID -> when its result was written
    unanswered: list[str]  # not reached before the deadline: ask again


class ResultStore:
    """Writes results and lists what is already exported. Thread-safe; one per container."""

    def __init__(self, storage: Storage, prefix: str = "") -> None:
        self.storage = storage
        self.prefix = prefix
        self.results_written = 0  # results this instance wrote: what a stopped run counts
        self._count_lock = threading.Lock()

    def result_key(self, batch_id: str, job_id: str) -> str:
        return f"{self.prefix}{batch_id}/{job_id}{RESULT_SUFFIX}"

    def write_result(
        self,
        batch_id: str,
        job_id: str,
        body: Readable,
        *,
        overwrite: bool,
        size_hint: int | None = None,
        execution: str = "",
    ) -> None:
        """Stream ``body`` into the job's object; whole or not at all. ``execution`` (the one
        that planned the job) goes into its metadata (``written_by``); a create-only write of
        a result that same execution wrote already succeeds, as the retry it is.

        Raises ``AlreadyExported`` when the object exists and ``overwrite`` is false. Any
        exception the body raises while being read aborts the upload: nothing is written.
        ``size_hint`` (from Content-Length) lets the storage send a small body in one request.
        """
        key = self.result_key(batch_id, job_id)
        metadata = {EXECUTION_METADATA: execution} if execution else None
        try:
            self.storage.put(
                key,
                body,
                content_type=JSON,
                create_only=not overwrite,
                size_hint=size_hint,
                metadata=metadata,
            )
        except AlreadyExported:
            # Written by this very execution: its page's call is running again (Step Functions
            # retried it), and the job is this run's, not an earlier run's.
            if not execution or self.written_by(batch_id, job_id) != execution:
                raise
            return
        with self._count_lock:
            self.results_written += 1

    def write_index(self, batch_id: str, execution: str, page: int, lines: bytes) -> str:
        """A page's index part (``export_index``); its key. Rewritten whole if the page's call
        runs again, never appended to."""
        key = index_key(self.prefix, batch_id, execution, page)
        self.storage.put(key, lines, content_type="application/x-ndjson")
        return key

    def written_by(self, batch_id: str, job_id: str) -> str:
        """The execution that wrote the job's result ("" if none is recorded)."""
        stored = self.storage.head(self.result_key(batch_id, job_id))
        return stored.metadata.get(EXECUTION_METADATA, "")

    def referenced_key(self, batch_id: str, job_id: str, name: str) -> str:
        return f"{self.prefix}{batch_id}/{job_id}/{name}"

    def write_referenced(
        self,
        batch_id: str,
        job_id: str,
        name: str,
        body: Readable,
        *,
        overwrite: bool,
        size_hint: int | None = None,
    ) -> str:
        """A file the result references, next to it: ``<batch>/<job>/<name>``; its key."""
        key = self.referenced_key(batch_id, job_id, name)
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        self.storage.put(
            key, body, content_type=content_type, create_only=not overwrite, size_hint=size_hint
        )
        return key

    def delete(self, keys: list[str]) -> None:
        """Take back objects this run wrote for a job that then failed, one key at a time,
        every key tried, then ``ObjectsLeftBehind`` naming each key not deleted (S3
        authorizes deletes per key, ``s3:DeleteObject``; this runs only for a failed job's
        few files)."""
        left: dict[str, str] = {}
        for key in keys:
            try:
                self.storage.delete(key)
            except StorageError as error:
                left[key] = error.code
        if left:
            raise ObjectsLeftBehind(self.storage.uri(self.prefix), left)

    def exported_among(
        self,
        batch_id: str,
        job_ids: Iterable[str],
        *,
        deadline: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> ExportedAmong:
        """Which of ``job_ids`` already have a result, each with when it was written.

        Bounded by the jobs asked about, not by the batch: their result keys are sorted, and
        the storage's sorted listing is entered just before the first one not yet answered
        (``StartAfter``), a thousand keys a call, the jobs' folders of referenced files folded
        away (``Delimiter``). IDs dense in the batch cost a call per thousand keys; sparse
        ones about a call each. Past ``deadline`` no further call is made (the first always
        is): the jobs not reached are ``unanswered``, for the caller to ask again later.
        """
        batch_prefix = f"{self.prefix}{batch_id}/"
        names = sorted({job_id + RESULT_SUFFIX for job_id in job_ids})
        found: dict[str, datetime] = {}
        index = 0
        # where the next call enters the listing ("": before names[index])
        start_after = ""  # pragma: no mutate - None reads as "" does in the `or` below
        while index < len(names):
            answer = self.storage.list(  # a thousand keys: the storage's default, S3's most
                batch_prefix,
                delimiter="/",
                start_after=start_after or batch_prefix + names[index][: -len(RESULT_SUFFIX)],
            )
            written = {item.key[len(batch_prefix) :]: item.last_modified for item in answer.objects}
            listed = [item.key for item in answer.objects] + answer.folders
            decided = len(names)  # everything after the start was listed
            if answer.truncated and listed:
                decided = bisect.bisect_right(names, max(listed)[len(batch_prefix) :])
            for name in names[index:decided]:
                if name in written:
                    found[name[: -len(RESULT_SUFFIX)]] = written[name]
            # A thousand keys that all sort before the next job's (IDs it prefixes: "a-1",
            # "a-2"... before "a"): go on from the last of them, not past the job. (A folder
            # as StartAfter skips its keys, as when S3 gives it as NextMarker.)
            start_after = max(listed) if decided <= index else ""
            index = max(index, decided)
            if deadline is not None and clock() >= deadline:
                break  # after a call, not before: asking always moves on
        unanswered = [name[: -len(RESULT_SUFFIX)] for name in names[index:]]
        return ExportedAmong(written=found, unanswered=unanswered)

    def close(self) -> None:
        self.storage.close()
