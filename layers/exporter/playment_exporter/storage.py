"""The storage port: what the export needs from where it keeps results and records.

One small interface with two adapters: ``storage_s3.S3Storage`` (what Lambda uses: S3's own
calls, conditional writes and checksums) and ``storage_folder.FolderStorage`` (the local
command's output folder). The domain reads and writes only through it, so the same code
exports into a bucket or a folder, and only the S3 adapter knows botocore's errors.

Keys are S3-style: ``/``-separated, sorted as strings. Every adapter guarantees the same
three things: a create-only write never replaces an object (``AlreadyExported``); an object
appears whole or not at all; a listing is in key order, entered after ``start_after``, with
the keys past the next ``delimiter`` folded into ``folders``.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

LIST_PAGE_KEYS = 1_000  # the most one listing call returns, as S3's ListObjectsV2


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class ReadStream(Readable, Protocol):
    def close(self) -> None: ...


class StorageError(Exception):
    """The storage refused an operation; ``code`` says why in the adapter's terms (S3's error
    code, prefixed ``s3_``; or the folder's ``folder_<errno name>``)."""

    def __init__(self, code: str, message: str, *, where: str = "S3") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.where = where  # who refused, for a person: "S3", "the output folder"


class MissingObject(StorageError):
    """No object under the key."""

    def __init__(self, key: str, code: str = "s3_NoSuchKey", *, where: str = "S3") -> None:
        super().__init__(code, f"no object {key}", where=where)
        self.key = key


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    last_modified: datetime
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Listing:
    """One listing call's answer: objects and folded prefixes, each in key order."""

    objects: list[StoredObject]
    folders: list[str]
    truncated: bool


class Storage(Protocol):
    """Where the export keeps its objects. Thread-safe; one per container or run."""

    @property
    def bucket(self) -> str:
        """The bucket's name (for a folder, its path): what the state machine's Map reads."""
        ...

    def uri(self, key: str) -> str:
        """Where ``key`` is, for a person to read: ``s3://bucket/key`` or a path."""
        ...

    def put(
        self,
        key: str,
        body: Readable | bytes,
        *,
        content_type: str,
        create_only: bool = False,  # the port's default: its body never runs
        size_hint: int | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        """Write ``body`` under ``key``, whole or not at all, checked against a checksum of
        the bytes read. Streamed: memory stays flat whatever the size. With ``create_only``,
        raise ``AlreadyExported`` if the key holds an object. An exception the body raises
        while being read stops the write: nothing appears. ``TransientError`` when another
        write to the key was under way (worth another try)."""
        ...

    def open(self, key: str) -> ReadStream:
        """The object's bytes as a stream (the caller closes it); ``MissingObject``."""
        ...

    def head(self, key: str) -> StoredObject:
        """The object's size, time and metadata; ``MissingObject``."""
        ...

    def list(
        self,
        prefix: str,
        *,
        start_after: str = "",  # the port's default: its body never runs
        delimiter: str = "",  # the port's default: its body never runs
        max_keys: int = LIST_PAGE_KEYS,
    ) -> Listing:
        """Up to ``max_keys`` keys under ``prefix`` after ``start_after``, in order."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object (none there is no error); ``StorageError`` when refused."""
        ...

    def close(self) -> None:
        """Write nothing more, and let go of what the adapter holds (threads, staged files)."""
        ...


def read_all(storage: Storage, key: str) -> bytes:
    """A small object's bytes (run records: a page's outcomes, a manifest)."""
    stream = storage.open(key)
    try:
        return stream.read()
    finally:
        stream.close()


def list_all(storage: Storage, prefix: str, *, start_after: str = "") -> Iterator[StoredObject]:
    """Every object under ``prefix`` after ``start_after``, a listing call at a time."""
    while True:
        listing = storage.list(prefix, start_after=start_after)
        yield from listing.objects
        if not listing.truncated or not listing.objects:
            return
        start_after = listing.objects[-1].key


def iter_lines(stream: Readable, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    """The non-empty lines of a stream, one at a time (a JSON Lines file never read whole)."""
    pending = b""
    while chunk := stream.read(chunk_size):
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        yield from (line for line in lines if line)
    if pending:
        yield pending
