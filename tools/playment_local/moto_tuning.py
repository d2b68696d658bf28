"""What moto (5.2.5) does on every emulated request that a long local export cannot afford.

Found with py-spy and tracemalloc on 2,000-job and 300 MB runs; each is undone on exit:

- ``S3Backend._url_module`` *reloads* ``moto.s3.urls`` on every S3 request (its URLs may
  depend on environment variables, which do not change while the engine runs): Python's import
  lock, taken by hundreds of threads, serialised the whole export. Reloaded once here.
- ``BackendDict._create_account_specific_backend`` takes moto's backend lock and compares the
  dict with every registered one on every request, though the backend exists after the first:
  here it returns before the lock when there is nothing to create.
- Each request's body ends up in reference cycles (werkzeug's request and its environ point at
  each other; so do s3transfer's futures and their parts), so it is freed only when the cyclic
  garbage collector runs, which counts objects, not bytes: ten 8 MiB parts sat in memory per
  multipart upload, and a hundred 1 MB results at a time. The requests still in flight when a
  collection runs survive it and age, so only a full collection frees them reliably:
  ``BotocoreStubber.process_request`` is wrapped to run one once ``COLLECT_AFTER_BYTES`` of
  request and response bodies have gone through (the engine freezes its start-up objects, so
  a full collection walks only what the run made since).
- ``S3Backend.list_objects`` copies the bucket's whole key store and reads every key's latest
  version on every LIST, even one for a single prefix, where S3 looks only at that prefix: a
  listing step asks whether its batches' jobs are exported with a LIST per batch, and over
  20,000 batches each LIST went through the tens of thousands of keys the run had written
  (minutes a step). With a prefix, moto's method is given a view of the bucket holding only
  the keys under it, found by their names alone; the rest of the listing stays moto's.

Why no public API serves: moto has no setting for any of the four (its URL module, backend
lookup, request handling and bucket listing are internal), and each costs the e2e suite and
``make scale`` minutes or gigabytes.

All four are private names: ``tests/integration/test_lambda_dispatch.py`` checks they are
where this module expects them.
"""

import gc
import importlib
import threading
from typing import Any

from moto.core.base_backend import BackendDict
from moto.core.botocore_stubber import BotocoreStubber
from moto.s3.models import FakeTableStorageBucket, S3Backend

SEAMS = (
    (S3Backend, "_url_module"),
    (BackendDict, "_create_account_specific_backend"),
    (BotocoreStubber, "process_request"),
    (S3Backend, "list_objects"),
)
COLLECT_AFTER_BYTES = 32 * 1024 * 1024


class EmulatorTuning:
    def __init__(self) -> None:
        self._originals: list[tuple[type, str, Any]] = []
        self._bytes_since_collection = 0
        self._lock = threading.Lock()

    def install(self) -> None:
        for owner, name in SEAMS:
            if name not in vars(owner):
                raise RuntimeError(f"moto's {owner.__name__}.{name} is gone: the seam moved")
            self._originals.append((owner, name, vars(owner)[name]))
        urls = importlib.reload(importlib.import_module("moto.s3.urls"))
        setattr(S3Backend, "_url_module", property(lambda _backend: urls))  # noqa: B010
        setattr(BackendDict, "_create_account_specific_backend", self._lookup())  # noqa: B010
        setattr(BotocoreStubber, "process_request", self._collecting())  # noqa: B010
        setattr(S3Backend, "list_objects", _prefix_listing())  # noqa: B010

    def uninstall(self) -> None:
        for owner, name, original in reversed(self._originals):
            setattr(owner, name, original)
        self._originals = []

    def _lookup(self) -> Any:
        create = vars(BackendDict)["_create_account_specific_backend"]
        registered: list[Any] = getattr(BackendDict, "_instances")  # noqa: B009

        def create_if_missing(backends: Any, account_id: str) -> None:
            if dict.__contains__(backends, account_id) and any(
                known is backends for known in registered
            ):
                return
            create(backends, account_id)

        return create_if_missing

    def _collecting(self) -> Any:
        process = vars(BotocoreStubber)["process_request"]
        tuning = self

        def process_request(stubber: Any, request: Any) -> Any:
            response = process(stubber, request)
            headers = request.headers  # aws-chunked bodies give their size in the second
            size = _int(headers.get("Content-Length")) or _int(
                headers.get("X-Amz-Decoded-Content-Length")
            )
            if response is not None and isinstance(response[2], bytes | str):
                size += len(response[2])
            tuning._count(size)
            return response

        return process_request

    def _count(self, size: int) -> None:
        with self._lock:
            self._bytes_since_collection += size
            due = self._bytes_since_collection >= COLLECT_AFTER_BYTES
            if due:
                self._bytes_since_collection = 0
        if due:
            gc.collect()


class _KeysUnder:
    """The bucket's key store as ``list_objects`` reads it, limited to one prefix."""

    def __init__(self, store: Any, prefix: str) -> None:
        self._store = store
        self._prefix = prefix

    def items(self) -> list[tuple[str, Any]]:
        names = list(dict.keys(self._store))  # one C call: safe while others write
        found = []
        for name in names:
            if name.startswith(self._prefix):
                key = self._store.get(name)  # its latest version; None if deleted meanwhile
                if key is not None:
                    found.append((name, key))
        return found


class _BucketUnder:
    """A bucket as ``list_objects`` sees it: its keys, under one prefix."""

    def __init__(self, bucket: Any, prefix: str) -> None:
        self.keys = _KeysUnder(bucket.keys, prefix)


def _prefix_listing() -> Any:
    list_objects = vars(S3Backend)["list_objects"]

    def list_under_prefix(backend: Any, bucket: Any, prefix: Any, *args: Any, **kwargs: Any) -> Any:
        if prefix and not isinstance(bucket, FakeTableStorageBucket):
            bucket = _BucketUnder(bucket, prefix)
        return list_objects(backend, bucket, prefix, *args, **kwargs)

    return list_under_prefix


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
