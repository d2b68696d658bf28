"""The storage port on S3: what Lambda uses, and ``--out s3://`` on the command line.

Uploads go through boto3's transfer manager, which streams a non-seekable body in parts with
a bounded number of parts in memory, so a 300 MB result costs tens of MB, not 300.

Create-only writes use S3's conditional ``If-None-Match: *`` so that two runs racing on one job
never overwrite each other. The transfer manager does not accept that argument, so a botocore
event hook adds it to the ``PutObject`` (small bodies) or ``CompleteMultipartUpload`` (large ones)
of exactly the keys being written create-only. S3 answers such a write in two ways that must
not be confused: 412 ``PreconditionFailed`` (the object exists: the job is already exported) and
409 ``ConditionalRequestConflict`` (another write to the key is under way: try again, and the
next try will see either the object or a free key).

Every botocore error becomes a ``StorageError`` here (code ``s3_<S3's code>``): the domain
never sees botocore.
"""

import base64
import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.exceptions import ClientError

from playment_exporter.defaults import PAGE_WORKERS
from playment_exporter.errors import AlreadyExported, ResultsBucketUnusable, TransientError
from playment_exporter.storage import (
    LIST_PAGE_KEYS,
    Listing,
    MissingObject,
    Readable,
    ReadStream,
    StorageError,
    StoredObject,
)

MiB = 1024 * 1024
OBJECT_EXISTS = "PreconditionFailed"  # 412: If-None-Match failed, the key holds an object
WRITE_IN_PROGRESS = "ConditionalRequestConflict"  # 409: a concurrent write to the key
NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})


class StackHome(NamedTuple):
    """Where the stack's state machine runs: its region and account."""

    region: str
    account: str


def streaming_transfer_config(workers: int) -> TransferConfig:
    """Parts of 8 MiB; at most ``workers`` bodies being read and two parts queued at once."""
    config = TransferConfig(
        multipart_threshold=8 * MiB,
        multipart_chunksize=8 * MiB,
        max_concurrency=max(workers, 2),
        use_threads=True,
    )
    # Not a constructor argument in boto3, but a documented s3transfer setting: it bounds the
    # parts read ahead of the upload, which is what keeps memory flat for large bodies.
    config.max_in_memory_upload_chunks = 2
    config.max_submission_concurrency = max(workers, 1)
    return config


class S3Storage:
    """One bucket through one boto3 client. Thread-safe; one per container."""

    def __init__(self, s3_client: Any, bucket: str, *, workers: int = PAGE_WORKERS) -> None:
        self._bucket = bucket
        self._s3 = s3_client
        self._create_only_keys: set[str] = set()
        self._lock = threading.Lock()
        events = s3_client.meta.events
        events.register("before-parameter-build.s3.PutObject", self._add_if_none_match)
        events.register(
            "before-parameter-build.s3.CompleteMultipartUpload", self._add_if_none_match
        )
        self._config = streaming_transfer_config(workers)
        self._transfers = create_transfer_manager(s3_client, self._config)

    @property
    def bucket(self) -> str:
        return self._bucket

    def uri(self, key: str) -> str:
        return f"s3://{self._bucket}/{key}"

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
        """A body known to be small (``size_hint``, from Content-Length) is read whole and
        sent in one PutObject with its SHA-256, which skips the transfer manager's threads:
        most results are a few KB. A larger one streams in parts, each checked on receipt
        against its CRC32 and the whole against the CRC32 the parts make (FULL_OBJECT)."""
        if isinstance(body, bytes):
            data = body
            extra: dict[str, Any] = {"ContentType": content_type}
            if metadata:
                extra["Metadata"] = metadata
            self._put_small(key, data, create_only=create_only, extra=extra)
            return
        extra = {"ContentType": content_type} | ({"Metadata": metadata} if metadata else {})
        if size_hint is None and _seekable(body):
            size_hint = _remaining(body)
            if size_hint < self._config.multipart_threshold:
                self._put_small(key, body.read(), create_only=create_only, extra=extra)
                return
        if size_hint is not None and size_hint < self._config.multipart_threshold:
            data = body.read()  # every check the body makes runs before the request is sent
            self._put_small(key, data, create_only=create_only, extra=extra)
            return
        if create_only:
            with self._lock:
                self._create_only_keys.add(key)
        checked = extra | {"ChecksumAlgorithm": "CRC32", "ChecksumType": "FULL_OBJECT"}
        try:
            with _as_storage_errors(key):
                self._transfers.upload(body, self._bucket, key, extra_args=checked).result()
        finally:
            if create_only:
                with self._lock:
                    self._create_only_keys.discard(key)

    def _put_small(
        self, key: str, data: bytes, *, create_only: bool, extra: dict[str, Any]
    ) -> None:
        condition = {"IfNoneMatch": "*"} if create_only else {}
        # The SHA-256 of the bytes as they came: S3 refuses the write (BadDigest) if what
        # reaches it differs, and nothing is stored.
        digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
        with _as_storage_errors(key):
            self._s3.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=data,
                ChecksumSHA256=digest,
                **extra,
                **condition,
            )

    def open(self, key: str) -> ReadStream:
        with _as_storage_errors(key):
            body: ReadStream = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"]
        return body

    def head(self, key: str) -> StoredObject:
        """botocore sets ``ContentLength`` from the header S3 always sends, and ``Metadata``
        on every answer (``{}`` without ``x-amz-meta-`` headers): no default is needed."""
        with _as_storage_errors(key):
            answer = self._s3.head_object(Bucket=self._bucket, Key=key)
        return StoredObject(
            key=key,
            size=answer["ContentLength"],
            last_modified=answer["LastModified"],
            metadata=dict(answer["Metadata"]),
        )

    def list(
        self,
        prefix: str,
        *,
        start_after: str = "",
        delimiter: str = "",
        max_keys: int = LIST_PAGE_KEYS,
    ) -> Listing:
        arguments: dict[str, Any] = {"Bucket": self._bucket, "Prefix": prefix, "MaxKeys": max_keys}
        if start_after:
            arguments["StartAfter"] = start_after
        if delimiter:
            arguments["Delimiter"] = delimiter
        with _as_storage_errors(prefix):
            answer = self._s3.list_objects_v2(**arguments)
        return Listing(
            objects=[
                StoredObject(key=item["Key"], size=item["Size"], last_modified=item["LastModified"])
                for item in answer.get("Contents", [])
            ],
            folders=[folder["Prefix"] for folder in answer.get("CommonPrefixes", [])],
            truncated=bool(answer.get("IsTruncated")),
        )

    def delete(self, key: str) -> None:
        """One ``DeleteObject``: not ``DeleteObjects``, which S3 authorizes per key too but
        answers 200 with its refusals inside ``Errors``, and which moto authorizes against
        the bucket instead, so the local engine could not run it under the real role."""
        with _as_storage_errors(key):
            self._s3.delete_object(Bucket=self._bucket, Key=key)

    def check_home(self, home: StackHome) -> None:
        """Raise ``ResultsBucketUnusable`` unless the bucket is in ``home``'s region and
        account: a distributed Map reads its manifest and writes its results only there, so
        with any other bucket every page of every run would fail.

        One ``GetBucketLocation`` (``s3:GetBucketLocation``, nothing more) with the bucket
        owner condition: S3 refuses it (403) when another account owns the bucket, and, for
        a bucket of another account outside its own region, whatever its policy says.
        """
        here = f"this stack runs in {home.region}, account {home.account}"
        try:
            answer = self._s3.get_bucket_location(
                Bucket=self._bucket, ExpectedBucketOwner=home.account
            )
        except ClientError as error:
            code = s3_error_code(error)
            if code == "NoSuchBucket":
                raise ResultsBucketUnusable(
                    f"results bucket {self._bucket} does not exist; {here}: create it there, "
                    "or leave ResultsBucketName empty for the stack to make one"
                ) from None
            if code in ("AccessDenied", "403"):
                raise ResultsBucketUnusable(
                    f"results bucket {self._bucket} is not in account {home.account} (S3 "
                    f"refused the bucket owner check, {code}, as it does for another "
                    f"account's bucket or a role without s3:GetBucketLocation); {here}: "
                    f"{_ONLY_HOME}"
                ) from None
            raise
        region = _region_of(answer.get("LocationConstraint"))
        if region != home.region:
            raise ResultsBucketUnusable(
                f"results bucket {self._bucket} is in {region}, account {home.account}; "
                f"{here}: {_ONLY_HOME}"
            )

    def home_check(self, home: StackHome) -> Callable[[], None]:
        """``check_home`` for ``home``, to be called by the first listing step."""
        return lambda: self.check_home(home)

    def _add_if_none_match(self, params: dict[str, Any], **_: Any) -> None:
        if params.get("Bucket") != self._bucket:
            return
        with self._lock:
            create_only = params.get("Key") in self._create_only_keys
        if create_only:
            params["IfNoneMatch"] = "*"

    def close(self) -> None:
        self._transfers.shutdown()


_ONLY_HOME = (
    "a distributed Map reads its manifest and writes its results only in its own region and "
    "account; give ResultsBucketName a bucket there, or deploy the stack where the bucket is"
)


def _region_of(location_constraint: str | None) -> str:
    """GetBucketLocation's answer as a region name: none for us-east-1, "EU" for eu-west-1."""
    if not location_constraint:
        return "us-east-1"
    if location_constraint == "EU":
        return "eu-west-1"
    return location_constraint


def _seekable(body: Readable) -> bool:
    seekable = getattr(body, "seekable", None)
    return bool(seekable()) if callable(seekable) else False


def _remaining(body: Any) -> int:
    start = body.tell()
    end = body.seek(0, 2)
    body.seek(start)
    return int(end - start)


def s3_error_code(error: ClientError) -> str:
    """S3's code for the failure (``AccessDenied``, ``PreconditionFailed``...)."""
    return str(error.response.get("Error", {}).get("Code", ""))


@contextmanager
def _as_storage_errors(key: str) -> Iterator[None]:
    """412: the object exists (``AlreadyExported``); 409: retry the write (``TransientError``);
    no such key: ``MissingObject``; any other refusal: ``StorageError`` with S3's code."""
    try:
        yield
    except ClientError as error:
        code = s3_error_code(error)
        if code == OBJECT_EXISTS:
            raise AlreadyExported(key) from None
        if code == WRITE_IN_PROGRESS:
            raise TransientError(
                f"s3_{code}", f"another write to {key} was under way (HTTP 409)"
            ) from None
        if code in NOT_FOUND:
            raise MissingObject(key, f"s3_{code}") from None
        raise StorageError(f"s3_{code}", f"S3 refused {error.operation_name} of {key}") from None
