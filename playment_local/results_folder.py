"""The output folder as the storage of the emulated results bucket.

moto keeps every object in memory (or one temporary file each) until the end, and assembles a
multipart upload in memory, three copies deep: exporting gigabytes locally needed gigabytes of
memory, and a re-run had to upload every earlier result back into the emulator. Here the
handlers still call the real S3 API and moto still answers every call (conditional writes,
listing, deletes), but a result's bytes leave the emulator the moment S3 accepts them:

- an accepted ``PutObject`` or ``CompleteMultipartUpload`` of a result key streams its body
  into ``OUT/_exports/.incoming/<key>``; moto keeps the key with an empty body;
- a ``DeleteObject(s)`` of such a key (a failed job taking back its files) drops the staged file;
- when a page's FetchResult call returns, its jobs' staged files are renamed into
  ``OUT/<key>``: a file appears in OUT whole or not at all, even if the run is killed;
- results already in OUT are shown to the listing as keys with an empty body, never uploaded;
- a write that finds no space left (``ENOSPC``, ``EDQUOT``) is remembered (``no_space``), for
  the command to stop the run and say so, rather than fail job after job.

The run's own records under ``_exports/`` stay ordinary moto objects (small, read back by the
report). The hooks are on moto's ``S3Backend`` (``put_object``, ``complete_multipart_upload``,
``delete_object``): moto's version is pinned and ``tests/integration/test_lambda_dispatch.py``
checks the seams are where this module expects them.
"""

import errno
import hashlib
import os
import shutil
import threading
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from moto.s3.exceptions import EntityTooSmall, InvalidPart, MalformedXML
from moto.s3.models import S3Backend
from moto.settings import S3_UPLOAD_PART_MIN_SIZE

RECORDS_PREFIX = "_exports/"
STAGING = Path("_exports") / ".incoming"
RESULT_SUFFIX = ".json"
_CHUNK = 1024 * 1024
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
SEAMS = ("put_object", "complete_multipart_upload", "delete_object")


class FolderClosed(RuntimeError):
    """A body arrived after the run began to stop: it is not written anywhere."""


class ResultsFolder:
    """One output folder standing in for one bucket's result objects."""

    def __init__(self, root: Path, bucket: str, prefix: str = "") -> None:
        self.root = root.resolve()
        self.bucket = bucket
        self.prefix = prefix
        self.staging = self.root / STAGING
        self.published = 0  # every file moved into OUT: results, files beside them, index parts
        self.results_published = 0  # of those, results (<batch_id>/<job_id>.json)
        self.no_space: OSError | None = None  # the first write that found the disk full
        self._open = True
        self._writers = 0
        self._lock = threading.Condition()

    def holds(self, key: str) -> bool:
        """Whether ``key`` is a result (or a file beside one) rather than a run record."""
        return key.startswith(self.prefix) and not key.startswith(RECORDS_PREFIX)

    def path_for(self, key: str, base: Path | None = None) -> Path:
        """Where ``key`` lives under ``base`` (OUT by default); a key that would lead out of
        it (absolute, or with ``..``) is refused. Lexical, no file system call: every key
        the emulated bucket accepts passes through here."""
        parts = key.split("/")
        if key.startswith("/") or ".." in parts or "\0" in key:
            raise ValueError(f"refusing to write {key!r} outside {base or self.root}")
        return (base or self.root).joinpath(*parts)

    # -- what the hooks do ------------------------------------------------------------------

    def stage(self, key: str, chunks: Iterable[bytes]) -> None:
        """Write an accepted object's body where the page will publish it from."""
        target = self.path_for(key, self.staging)
        with self._lock:
            if not self._open:
                raise FolderClosed(f"the run is stopping: {key!r} is not kept")
            self._writers += 1
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with partial.open("wb") as file:
                for chunk in chunks:
                    file.write(chunk)
            partial.replace(target)
        except OSError as error:
            self._note_no_space(error)
            partial.unlink(missing_ok=True)
            raise
        finally:
            with self._lock:
                self._writers -= 1
                self._lock.notify_all()

    def discard(self, key: str) -> None:
        path = self.path_for(key, self.staging)
        path.unlink(missing_ok=True)

    # -- what the engine does ---------------------------------------------------------------

    def publish(self, batch_id: str, job_ids: Iterable[str], also: Iterable[str] = ()) -> int:
        """Move the staged result (and files beside it) of each job into place, and the keys
        ``also`` names (the page's index part); how many."""
        moved = 0
        results: set[str] = set()
        keys: list[str] = []
        for job_id in job_ids:
            base = f"{self.prefix}{batch_id}/{job_id}"
            keys += self._staged_under(base)
            results.add(base + RESULT_SUFFIX)
        keys += [key for key in also if self.path_for(key, self.staging).is_file()]
        for key in keys:
            with self._lock:
                if not self._open:  # stopped: nothing more appears in OUT
                    return moved
                target = self.path_for(key)
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    self.path_for(key, self.staging).replace(target)
                except OSError as error:
                    self._note_no_space(error)
                    raise
                self.published += 1
                self.results_published += key in results
            moved += 1
        return moved

    def existing_result_keys(self, batch_ids: list[str] | None) -> Iterator[str]:
        """The result keys OUT holds already (``None``: every batch folder in it)."""
        base = self.path_for(self.prefix) if self.prefix else self.root
        if batch_ids is None:
            folders = sorted(base.iterdir()) if base.is_dir() else []
            # Not _exports/ nor index.v1/: a batch ID has neither a leading "_" nor a dot.
            batch_ids = [
                f.name
                for f in folders
                if f.is_dir() and not f.name.startswith("_") and "." not in f.name
            ]
        for batch_id in batch_ids:
            folder = base / batch_id
            if folder.is_dir():
                for entry in os.scandir(folder):
                    if entry.name.endswith(RESULT_SUFFIX) and entry.is_file():
                        yield f"{self.prefix}{batch_id}/{entry.name}"

    def clear_staging(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    def close(self, wait_s: float = 5.0) -> None:
        """Stage and publish nothing more; once the writes under way have ended (or after
        ``wait_s``), drop what was staged but never published."""
        with self._lock:
            self._open = False
            self._lock.wait_for(lambda: self._writers == 0, timeout=wait_s)
        self.clear_staging()

    def _note_no_space(self, error: OSError) -> None:
        if error.errno in NO_SPACE_ERRNOS and self.no_space is None:
            self.no_space = error

    def _staged_under(self, base: str) -> list[str]:
        keys: list[str] = []
        result = self.path_for(base + RESULT_SUFFIX, self.staging)
        files = self.path_for(base, self.staging)
        if files.is_dir():  # referenced files first, the result last, as the job wrote them
            keys.extend(
                f"{base}/{path.relative_to(files).as_posix()}"
                for path in sorted(files.rglob("*"))
                if path.is_file() and not path.name.endswith(".part")
            )
        if result.is_file():
            keys.append(base + RESULT_SUFFIX)
        return keys


class FolderBackedS3:
    """Installs the hooks on moto's ``S3Backend`` for the folders registered with it."""

    def __init__(self) -> None:
        self._folders: dict[str, ResultsFolder] = {}
        self._originals: dict[str, Any] = {}

    def register(self, folder: ResultsFolder) -> None:
        self._folders[folder.bucket] = folder

    def add_existing(self, backend: S3Backend, folder: ResultsFolder, keys: Iterable[str]) -> int:
        """Keys with an empty body for results OUT already holds: listed, never uploaded."""
        put = self._originals.get("put_object", S3Backend.put_object)
        count = 0
        for key in keys:
            put(backend, folder.bucket, key, b"", disable_notification=True)
            count += 1
        return count

    def install(self) -> None:
        for name in SEAMS:
            if not callable(getattr(S3Backend, name, None)):
                raise RuntimeError(
                    f"moto's S3Backend.{name} is gone: the results-folder seam moved"
                )
            self._originals[name] = getattr(S3Backend, name)
        hooks = {
            "put_object": self._put_object,
            "complete_multipart_upload": self._complete_multipart_upload,
            "delete_object": self._delete_object,
        }
        for name, hook in hooks.items():
            setattr(S3Backend, name, hook)

    def uninstall(self) -> None:
        for name, original in self._originals.items():
            setattr(S3Backend, name, original)
        self._originals = {}

    def _folder_for(self, bucket: str, key: str) -> ResultsFolder | None:
        folder = self._folders.get(bucket)
        return folder if folder is not None and folder.holds(key) else None

    @property
    def _put_object(self) -> Any:
        original, folder_for = self._originals["put_object"], self._folder_for

        def put_object(backend: S3Backend, bucket_name: str, key_name: str, value: bytes,
                       *args: Any, **kwargs: Any) -> Any:  # fmt: skip
            folder = folder_for(bucket_name, key_name)
            if folder is None:
                return original(backend, bucket_name, key_name, value, *args, **kwargs)
            folder.stage(key_name, [value])
            kwargs.setdefault("etag", hashlib.md5(value, usedforsecurity=False).hexdigest())
            return original(backend, bucket_name, key_name, b"", *args, **kwargs)

        return put_object

    @property
    def _complete_multipart_upload(self) -> Any:
        originals, folder_for = self._originals, self._folder_for

        def complete_multipart_upload(
            backend: S3Backend, bucket_name: str, multipart_id: str, body: Any
        ) -> Any:
            bucket = backend.get_bucket(bucket_name)
            multipart = bucket.multiparts[multipart_id]
            folder = folder_for(bucket_name, multipart.key_name)
            if folder is None:
                return originals["complete_multipart_upload"](
                    backend, bucket_name, multipart_id, body
                )
            parts, etag = _checked_parts(multipart, body)
            folder.stage(multipart.key_name, _part_chunks(parts))
            del bucket.multiparts[multipart_id]
            multipart.dispose()  # the parts' temporary files: the body is in OUT's staging now
            key = originals["put_object"](
                backend,
                bucket_name,
                multipart.key_name,
                b"",
                storage=multipart.storage,
                etag=etag,
                encryption=multipart.sse_encryption,
                kms_key_id=multipart.kms_key_id,
            )
            key.set_metadata(multipart.metadata)
            backend.put_object_tagging(key, multipart.tags)
            return key

        return complete_multipart_upload

    @property
    def _delete_object(self) -> Any:
        original, folder_for = self._originals["delete_object"], self._folder_for

        def delete_object(
            backend: S3Backend, bucket_name: str, key_name: str, *args: Any, **kwargs: Any
        ) -> Any:
            result = original(backend, bucket_name, key_name, *args, **kwargs)
            folder = folder_for(bucket_name, key_name)
            if folder is not None:
                folder.discard(key_name)
            return result

        return delete_object


def _checked_parts(multipart: Any, body: Iterable[tuple[int, str]]) -> tuple[list[Any], str]:
    """The parts a CompleteMultipartUpload names, checked as S3 checks them, and the ETag."""
    parts: list[Any] = []
    digests = bytearray()
    for number, etag in body:
        part = multipart.parts.get(number)
        if part is None or part.etag.strip('"') != etag.strip('"'):
            raise InvalidPart()
        if parts and parts[-1].contentsize < S3_UPLOAD_PART_MIN_SIZE:
            raise EntityTooSmall()
        digests.extend(bytes.fromhex(part.etag.strip('"')))
        parts.append(part)
    if not parts:
        raise MalformedXML
    whole = hashlib.md5(bytes(digests), usedforsecurity=False).hexdigest()
    return parts, f"{whole}-{len(parts)}"


def _part_chunks(parts: list[Any]) -> Iterator[bytes]:
    for part in parts:
        with part.lock:
            buffer = part._value_buffer
            buffer.seek(0)
            while chunk := buffer.read(_CHUNK):
                yield chunk
