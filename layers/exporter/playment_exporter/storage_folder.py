"""The storage port on a local folder: the output folder of ``playment-export run``.

A key is a path under the folder (``a/b.json`` -> ``OUT/a/b.json``); a key that would lead
out of it is refused. Each write streams into its own file in the staging folder
(``_exports/.incoming/``, on the same file system), then appears in place by one call: a hard
link for a create-only write (which fails if the name is taken, so no object is ever
replaced) or a rename otherwise. So nothing partial is ever visible under a key. Closing the
storage (a run being stopped) refuses new writes, waits briefly for those under way, and
empties the staging folder; a run that was killed leaves staged files that the next run's
``clear_staging`` removes.

Metadata (the execution that wrote a result) is kept in the file's extended attributes
where the system has them (``user.playment.<name>``); elsewhere it is not kept, and a result
reads as written by no execution.
"""

import errno
import itertools
import os
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from playment_exporter.errors import AlreadyExported
from playment_exporter.storage import (
    LIST_PAGE_KEYS,
    Listing,
    MissingObject,
    Readable,
    ReadStream,
    StorageError,
    StoredObject,
)

STAGING_KEY = "_exports/.incoming/"
WHERE = "the output folder"
METADATA_ATTRIBUTE = "user.playment."
# What a write holds at a time: the peak is about (writes in flight x this), whatever the sizes
# of the results (make bench: 64 writes of 1 MB results at 1 MiB chunks peaked 75 MB above the
# same run's 256 KB results).
COPY_CHUNK = 256 * 1024
_HAS_XATTR = hasattr(os, "setxattr")
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class FolderStorage:
    """One folder standing in for one bucket. Thread-safe."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.staging = self.root / STAGING_KEY
        self.written = 0  # objects this instance made appear
        self.no_space: OSError | None = None  # the first write that found the disk full
        self._open = True
        self._writers = 0
        self._lock = threading.Condition()
        self._names = itertools.count()  # staged files' names: unique in this process
        self._folders: set[Path] = set()  # made already: no mkdir per write

    @property
    def bucket(self) -> str:
        return str(self.root)

    def uri(self, key: str) -> str:
        return str(self.path_for(key))

    def path_for(self, key: str) -> Path:
        """Where ``key`` lives; a key that would lead out of the folder is refused. Lexical:
        no file system call."""
        parts = key.split("/")
        # An empty key, or one that starts with "/", has an empty part: refused with it.
        if "\0" in key or {"", ".", ".."} & set(parts):
            raise StorageError("folder_bad_key", f"refusing {key!r}: not a key", where=WHERE)
        return self.root.joinpath(*parts)

    # -- writing -------------------------------------------------------------------------

    def put(
        self,
        key: str,
        body: Readable | bytes,
        *,
        content_type: str,
        create_only: bool = False,
        size_hint: int | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        """Streamed into a staged file, then linked (create-only) or renamed into place.
        ``content_type`` and ``size_hint`` do not matter to a file."""
        target = self.path_for(key)
        with self._lock:
            if not self._open:
                raise StorageError(
                    "folder_stopping", f"the run is stopping: {key} not written", where=WHERE
                )
            self._writers += 1
        staged = self.staging / f"{os.getpid()}-{next(self._names)}"
        try:
            self._make_folder(self.staging)
            with staged.open("xb") as file:
                _copy(body, file)
            if metadata and _HAS_XATTR:
                _set_metadata(staged, metadata)
            self._make_folder(target.parent)
            # Checked, not held, while the file is placed: a stop waits for this write anyway.
            if not self._open:
                raise StorageError(
                    "folder_stopping", f"the run is stopping: {key} not written", where=WHERE
                )
            self._place(staged, target, key, create_only=create_only)
            with self._lock:
                self.written += 1
        except OSError as error:
            if error.errno in NO_SPACE_ERRNOS:
                with self._lock:
                    self.no_space = self.no_space or error
            raise _storage_error(error, key) from None
        finally:
            staged.unlink(missing_ok=True)
            with self._lock:
                self._writers -= 1
                self._lock.notify_all()

    def _make_folder(self, folder: Path) -> None:
        if folder not in self._folders:
            folder.mkdir(parents=True, exist_ok=True)
            self._folders.add(folder)

    @staticmethod
    def _place(staged: Path, target: Path, key: str, *, create_only: bool) -> None:
        if not create_only:
            os.replace(staged, target)
            return
        try:
            os.link(staged, target)  # fails if the name is taken: never replaces a file
        except FileExistsError:
            raise AlreadyExported(key) from None

    def delete(self, key: str) -> None:
        try:
            self.path_for(key).unlink(missing_ok=True)
        except OSError as error:
            raise _storage_error(error, key) from None

    # -- reading -------------------------------------------------------------------------

    def open(self, key: str) -> ReadStream:
        try:
            file: ReadStream = self.path_for(key).open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise MissingObject(key, "folder_missing", where=WHERE) from None
        except OSError as error:
            raise _storage_error(error, key) from None
        return file

    def head(self, key: str) -> StoredObject:
        path = self.path_for(key)
        try:
            status = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise MissingObject(key, "folder_missing", where=WHERE) from None
        if not path.is_file():
            raise MissingObject(key, "folder_missing", where=WHERE)
        return StoredObject(
            key=key,
            size=status.st_size,
            last_modified=datetime.fromtimestamp(status.st_mtime, UTC),
            metadata=_metadata(path),
        )

    def list(
        self,
        prefix: str,
        *,
        start_after: str = "",
        delimiter: str = "",
        max_keys: int = LIST_PAGE_KEYS,
    ) -> Listing:
        """S3's order and folding, from the folders the prefix names: only the prefix's own
        folder and what sorts after ``start_after`` are read."""
        if delimiter not in {"", "/"}:
            raise ValueError(f"a folder folds keys at '/' only, not {delimiter!r}")
        base_key = prefix[: prefix.rfind("/") + 1]
        base = self.root if not base_key else self.path_for(base_key.rstrip("/"))
        objects: list[StoredObject] = []
        folders: list[str] = []
        for key, path in self._walk(base, base_key, prefix, start_after, fold=bool(delimiter)):
            if len(objects) + len(folders) == max_keys:
                return Listing(objects, folders, truncated=True)
            if path is None:
                folders.append(key)
                continue
            try:
                status = path.stat()
            except FileNotFoundError:
                continue  # deleted while listed
            objects.append(
                StoredObject(key, status.st_size, datetime.fromtimestamp(status.st_mtime, UTC))
            )
        return Listing(objects, folders, truncated=False)

    def _walk(
        self,
        directory: Path,
        directory_key: str,
        prefix: str,
        start_after: str,
        *,
        fold: bool = False,
    ) -> Iterator[tuple[str, Path | None]]:
        """Keys under ``directory`` that start with ``prefix`` and sort after ``start_after``,
        in order (a folder sorts as its name and a ``/``); a folded folder's path is None."""
        try:
            scan = os.scandir(directory)
        except (FileNotFoundError, NotADirectoryError):
            return
        with scan:
            entries = sorted(
                (directory_key + entry.name + ("/" if entry.is_dir() else ""), entry.path)
                for entry in scan
            )
        for key, path in entries:
            if not key.startswith(prefix) or key == STAGING_KEY:
                continue
            if not key.endswith("/"):
                if key > start_after:
                    yield key, Path(path)
                continue
            inside = start_after.startswith(key) and start_after != key
            if key <= start_after and not inside:
                continue  # every key under it sorts before start_after
            below = self._walk(Path(path), key, key, start_after)  # never folded itself
            if not fold:
                yield from below
            elif next(below, None) is not None:  # S3 names a prefix only if a key is under it
                yield key, None

    # -- stopping ------------------------------------------------------------------------

    def close(self, wait_s: float = 5.0) -> None:
        """Write nothing more; once the writes under way have ended (or after ``wait_s``),
        empty the staging folder."""
        with self._lock:
            self._open = False  # pragma: no mutate - None is as false as False to put's checks
            self._lock.wait_for(lambda: self._writers == 0, timeout=wait_s)
        self.clear_staging()

    def clear_staging(self) -> None:
        """Remove what a stopped or killed run left staged."""
        shutil.rmtree(self.staging, ignore_errors=True)
        self._folders.discard(self.staging)


def _copy(body: Readable | bytes, file: IO[bytes]) -> None:
    """Write ``body`` into ``file`` a chunk at a time: memory stays flat whatever the size.
    The body checks itself as it is read (length, JSON, SHA-256): a body that raises leaves
    only a staged file, which the caller removes."""
    if isinstance(body, bytes):
        file.write(body)
        return
    while chunk := body.read(COPY_CHUNK):
        file.write(chunk)


def _set_metadata(path: Path, metadata: dict[str, str]) -> None:
    for name, value in metadata.items():
        try:
            os.setxattr(path, METADATA_ATTRIBUTE + name, value.encode())
        except OSError as error:
            if error.errno not in {errno.ENOTSUP, errno.EPERM}:
                raise
            return  # the file system keeps none: the result reads as written by no execution


def _metadata(path: Path) -> dict[str, str]:
    if not _HAS_XATTR:  # a system without extended attributes keeps no metadata
        return {}
    try:
        names = os.listxattr(path)
    except OSError:
        return {}
    return {
        name[len(METADATA_ATTRIBUTE) :]: os.getxattr(path, name).decode()
        for name in names
        if name.startswith(METADATA_ATTRIBUTE)
    }


def _storage_error(error: OSError, key: str) -> StorageError:
    name = errno.errorcode.get(error.errno or 0, "EIO")
    return StorageError(f"folder_{name}", f"{key}: {error.strerror or error}", where=WHERE)
