"""Where results land: ``<prefix><batch_id>/<job_id>.json`` in the results bucket.

Uploads go through boto3's transfer manager, which streams a non-seekable body in parts with
a bounded number of parts in memory, so a 300 MB result costs tens of MB, not 300.

Create-only writes use S3's conditional ``If-None-Match: *`` so that two runs racing on one job
never overwrite each other. The transfer manager does not accept that argument, so a botocore
event hook adds it to the ``PutObject`` (small bodies) or ``CompleteMultipartUpload`` (large ones)
of exactly the keys being written create-only. S3 answers such a write in two ways that must
not be confused: 412 ``PreconditionFailed`` (the object exists: the job is already exported) and
409 ``ConditionalRequestConflict`` (another write to the key is under way: try again, and the
next try will see either the object or a free key).
"""

import base64
import bisect
import hashlib
import mimetypes
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.exceptions import ClientError

from playment_exporter.errors import (
    AlreadyExported,
    ObjectsLeftBehind,
    ResultsBucketUnusable,
    TransientError,
)
from playment_exporter.export_index import index_key

MiB = 1024 * 1024
RESULT_SUFFIX = ".json"
EXECUTION_METADATA = "export-execution"  # x-amz-meta-export-execution on each result
LIST_PAGE_KEYS = 1_000  # the most one ListObjectsV2 call returns
JSON = "application/json"
OBJECT_EXISTS = "PreconditionFailed"  # 412: If-None-Match failed, the key holds an object
WRITE_IN_PROGRESS = "ConditionalRequestConflict"  # 409: a concurrent write to the key


class ExportedAmong(NamedTuple):
    written: dict[str, datetime]  # job ID -> when its result was written
    unanswered: list[str]  # not reached before the deadline: ask again


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


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class ResultStore:
    """Writes results and lists what is already exported. Thread-safe; one per container."""

    def __init__(self, s3_client: Any, bucket: str, prefix: str = "", *, workers: int = 8) -> None:
        self.bucket = bucket
        self.prefix = prefix
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
        A body known to be small (``size_hint``, from Content-Length) is read whole and sent
        in one PutObject, which skips the transfer manager's threads: most results are a few KB.
        """
        key = self.result_key(batch_id, job_id)
        metadata = {EXECUTION_METADATA: execution} if execution else {}
        try:
            self._write(
                key,
                body,
                overwrite=overwrite,
                size_hint=size_hint,
                content_type=JSON,
                metadata=metadata,
            )
        except AlreadyExported:
            # Written by this very execution: its page's call is running again (Step Functions
            # retried it), and the job is this run's, not an earlier run's.
            if not execution or self.written_by(batch_id, job_id) != execution:
                raise

    def write_index(self, batch_id: str, execution: str, page: int, lines: bytes) -> str:
        """A page's index part (``export_index``); its key. Rewritten whole if the page's call
        runs again, never appended to."""
        key = index_key(self.prefix, batch_id, execution, page)
        self._s3.put_object(
            Bucket=self.bucket, Key=key, Body=lines, ContentType="application/x-ndjson"
        )
        return key

    def written_by(self, batch_id: str, job_id: str) -> str:
        """The execution that wrote the job's result ("" if none is recorded)."""
        answer = self._s3.head_object(Bucket=self.bucket, Key=self.result_key(batch_id, job_id))
        return str(answer.get("Metadata", {}).get(EXECUTION_METADATA, ""))

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
        self._write(key, body, overwrite=overwrite, size_hint=size_hint, content_type=content_type)
        return key

    def delete(self, keys: list[str]) -> None:
        """Take back objects this run wrote for a job that then failed: one ``DeleteObject``
        per key, every key tried, then ``ObjectsLeftBehind`` naming each key not deleted.

        Not ``DeleteObjects``: S3 authorizes both per key (``s3:DeleteObject``), but a batch
        call answers 200 with its refusals inside ``Errors``, and moto authorizes it against
        the bucket instead, so the local engine could not run it under the real role.
        Deletes cost nothing and this runs only for a failed job's few files.
        """
        left: dict[str, str] = {}
        for key in keys:
            try:
                self._s3.delete_object(Bucket=self.bucket, Key=key)
            except ClientError as error:
                left[key] = s3_error_code(error)
        if left:
            raise ObjectsLeftBehind(self.bucket, left)

    def _write(
        self,
        key: str,
        body: Readable,
        *,
        overwrite: bool,
        size_hint: int | None,
        content_type: str,
        metadata: dict[str, str] | None = None,
    ) -> None:
        extra = {"ContentType": content_type} | ({"Metadata": metadata} if metadata else {})
        if size_hint is not None and size_hint < self._config.multipart_threshold:
            self._put_small(key, body, overwrite=overwrite, extra=extra)
            return
        if not overwrite:
            with self._lock:
                self._create_only_keys.add(key)
        # S3 checks every part on receipt against its CRC32, and the whole object against
        # the CRC32 the parts make (FULL_OBJECT): a part damaged on the way fails the upload.
        checked = extra | {"ChecksumAlgorithm": "CRC32", "ChecksumType": "FULL_OBJECT"}
        try:
            self._transfers.upload(body, self.bucket, key, extra_args=checked).result()
        except ClientError as error:
            _raise_if_conditional(error, key)
            raise
        finally:
            if not overwrite:
                with self._lock:
                    self._create_only_keys.discard(key)

    def _put_small(
        self, key: str, body: Readable, *, overwrite: bool, extra: dict[str, Any]
    ) -> None:
        data = body.read()  # every check the body makes runs before the request is sent
        condition = {} if overwrite else {"IfNoneMatch": "*"}
        # The SHA-256 of the bytes as they came from Playment: S3 refuses the write (BadDigest)
        # if what reaches it differs, and nothing is stored.
        digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
        try:
            self._s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ChecksumSHA256=digest,
                **extra,
                **condition,
            )
        except ClientError as error:
            _raise_if_conditional(error, key)
            raise

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
        S3's sorted listing is entered just before the first one not yet answered
        (``StartAfter``), a thousand keys a call, the jobs' folders of referenced files folded
        away (``Delimiter``). IDs dense in the batch cost a call per thousand keys; sparse
        ones about a call each. Past ``deadline`` no further call is made (the first always
        is): the jobs not reached are ``unanswered``, for the caller to ask again later.
        """
        batch_prefix = f"{self.prefix}{batch_id}/"
        names = sorted({job_id + RESULT_SUFFIX for job_id in job_ids})
        found: dict[str, datetime] = {}
        index = 0
        start_after = ""  # where the next call enters the listing ("": before names[index])
        calls = 0
        while index < len(names):
            if calls and deadline is not None and clock() >= deadline:
                break
            answer = self._s3.list_objects_v2(
                Bucket=self.bucket,
                Prefix=batch_prefix,
                Delimiter="/",
                StartAfter=start_after or batch_prefix + names[index][: -len(RESULT_SUFFIX)],
                MaxKeys=LIST_PAGE_KEYS,
            )
            calls += 1
            contents = answer.get("Contents", [])
            written = {item["Key"][len(batch_prefix) :]: item["LastModified"] for item in contents}
            listed = [item["Key"] for item in contents]
            listed += [folder["Prefix"] for folder in answer.get("CommonPrefixes", [])]
            decided = len(names)  # everything after the start was listed
            if answer.get("IsTruncated") and listed:
                decided = bisect.bisect_right(names, max(listed)[len(batch_prefix) :])
            for name in names[index:decided]:
                if name in written:
                    found[name[: -len(RESULT_SUFFIX)]] = written[name]
            # A thousand keys that all sort before the next job's (IDs it prefixes: "a-1",
            # "a-2"... before "a"): go on from the last of them, not past the job. (A folder
            # as StartAfter skips its keys, as when S3 gives it as NextMarker.)
            start_after = max(listed) if decided <= index else ""
            index = max(index, decided)
        unanswered = [name[: -len(RESULT_SUFFIX)] for name in names[index:]]
        return ExportedAmong(written=found, unanswered=unanswered)

    def check_home(self, home: "StackHome") -> None:
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
                Bucket=self.bucket, ExpectedBucketOwner=home.account
            )
        except ClientError as error:
            code = s3_error_code(error)
            if code == "NoSuchBucket":
                raise ResultsBucketUnusable(
                    f"results bucket {self.bucket} does not exist; {here}: create it there, "
                    "or leave ResultsBucketName empty for the stack to make one"
                ) from None
            if code in ("AccessDenied", "403"):
                raise ResultsBucketUnusable(
                    f"results bucket {self.bucket} is not in account {home.account} (S3 "
                    f"refused the bucket owner check, {code}, as it does for another "
                    f"account's bucket or a role without s3:GetBucketLocation); {here}: "
                    f"{_ONLY_HOME}"
                ) from None
            raise
        region = _region_of(answer.get("LocationConstraint"))
        if region != home.region:
            raise ResultsBucketUnusable(
                f"results bucket {self.bucket} is in {region}, account {home.account}; "
                f"{here}: {_ONLY_HOME}"
            )

    def _add_if_none_match(self, params: dict[str, Any], **_: Any) -> None:
        if params.get("Bucket") != self.bucket:
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


def s3_error_code(error: ClientError) -> str:
    """S3's code for the failure (``AccessDenied``, ``PreconditionFailed``...)."""
    return str(error.response.get("Error", {}).get("Code", ""))


def _raise_if_conditional(error: ClientError, key: str) -> None:
    """412: the object exists (``AlreadyExported``); 409: retry the write (``TransientError``)."""
    code = s3_error_code(error)
    if code == OBJECT_EXISTS:
        raise AlreadyExported(key) from None
    if code == WRITE_IN_PROGRESS:
        raise TransientError(
            f"s3_{code}", f"another write to {key} was under way (HTTP 409)"
        ) from None
