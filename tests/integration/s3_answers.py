"""Answers moto never gives, made with botocore event hooks on a moto-backed S3 client.

S3 answers a create-only write racing another with 409 ``ConditionalRequestConflict``, refuses
a delete a bucket policy denies, and refuses a call whose bucket owner condition names another
account than the bucket's; moto does none of these by itself. A ``before-call`` hook
that returns ``(http_response, parsed)`` stands in for the request (botocore then raises a
``ClientError`` for a status of 300 or more, as for a real answer); the rest of the call
path, moto included, stays real.
"""

import base64
import hashlib
import threading
import zlib
from typing import Any

from botocore.exceptions import ClientError
from moto.s3.models import s3_backends

Answer = tuple["_HttpAnswer", dict[str, Any]]


class _HttpAnswer:
    """What botocore reads of an HTTP response a hook stands in for (``raw``: only
    GetBucketLocation's own parser, which leaves an answer without a body alone)."""

    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.headers: dict[str, str] = {}
        self.content = b""
        self.raw = None


class CountCalls:
    """Counts the calls of one operation that reach the point of being sent."""

    def __init__(self, s3: Any, operation: str) -> None:
        self.calls = 0
        s3.meta.events.register(f"before-call.s3.{operation}", self._count)

    def _count(self, **_: Any) -> None:
        self.calls += 1


class FailFirstCalls:
    """The first ``times`` calls of ``operation`` (on ``key`` only, if given) answer
    ``status``/``code`` without being sent."""

    def __init__(
        self,
        s3: Any,
        operation: str,
        *,
        status: int,
        code: str,
        times: int = 1,
        key: str | None = None,
    ) -> None:
        self.calls = 0
        self._status = status
        self._code = code
        self._times = times
        self._key = key
        s3.meta.events.register(f"before-call.s3.{operation}", self._answer)

    def _answer(self, params: dict[str, Any], **_: Any) -> Answer | None:
        if self._key is not None and not params["url_path"].endswith("/" + self._key):
            return None
        self.calls += 1
        if self.calls > self._times:
            return None  # sent to moto as usual
        parsed = {
            "Error": {"Code": self._code, "Message": f"injected {self._status} {self._code}"},
            "ResponseMetadata": {"HTTPStatusCode": self._status},
        }
        return _HttpAnswer(self._status), parsed


class DenyDeletes:
    """``DeleteObject`` of a ``denied`` key answers 403 AccessDenied without being sent, as
    S3 does for a key the caller's policies do not cover; other keys reach moto."""

    def __init__(self, s3: Any, denied: set[str]) -> None:
        self.denied = denied
        self.refused: list[str] = []
        s3.meta.events.register("before-call.s3.DeleteObject", self._answer)

    def _answer(self, params: dict[str, Any], **_: Any) -> Answer | None:
        key = next((k for k in self.denied if params["url_path"].endswith("/" + k)), None)
        if key is None:
            return None
        self.refused.append(key)
        parsed = {
            "Error": {"Code": "AccessDenied", "Message": "Access Denied"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }
        return _HttpAnswer(403), parsed


class BucketOwnerCondition:
    """S3's bucket owner condition on ``operation``, which moto ignores: a call whose
    ``ExpectedBucketOwner`` is not the account moto made the bucket in answers 403
    AccessDenied without being sent, as S3 documents; other calls reach moto."""

    def __init__(self, s3: Any, operation: str) -> None:
        self.refused = 0
        s3.meta.events.register(f"before-call.s3.{operation}", self._answer)

    def _answer(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> Answer | None:
        expected = params["headers"].get("x-amz-expected-bucket-owner")
        bucket = context["input_params"]["Bucket"]
        owner = s3_backends.bucket_accounts.get(bucket, ("", expected))[1]
        if expected is None or expected == owner:
            return None
        self.refused += 1
        parsed = {
            "Error": {"Code": "AccessDenied", "Message": "Access Denied"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }
        return _HttpAnswer(403), parsed


class DamageInTransit:
    """What S3 would receive if a byte changed on the way, and what it answers: the body of
    the first ``times`` calls of ``operation`` is altered after the SDK computed its checksum,
    and S3's own check (the ``x-amz-checksum-*`` header against the bytes received) refuses
    it with 400 BadDigest, storing nothing. moto keeps checksums but never checks them, and
    every ``before-send`` handler runs (moto's too), so the refusal is raised, not returned."""

    def __init__(self, s3: Any, operation: str, *, times: int = 1, key: str = "") -> None:
        self.damaged = 0
        self._operation = operation
        self._times = times
        self._key = key
        self._lock = threading.Lock()  # a multipart upload sends its parts from several threads
        s3.meta.events.register_first(f"before-send.s3.{operation}", self._receive)

    def _receive(self, request: Any, **_: Any) -> None:
        with self._lock:
            if self.damaged >= self._times or f"/{self._key}" not in request.url:
                return
            self.damaged += 1
        body = request.body if isinstance(request.body, bytes) else request.body.read()
        headers = {name.lower(): _text(value) for name, value in request.headers.items()}
        if "x-amz-trailer" in headers:  # streamed: aws-chunked, the checksum after the data
            body, trailers = _aws_chunked(body)
            headers.update(trailers)
        received = bytes([body[0] ^ 0xFF]) + body[1:]  # the byte that changed on the way
        if _checksum_matches(headers, received):
            raise AssertionError("the request carried no checksum that S3 could check")
        error = {"Code": "BadDigest", "Message": "The checksum did not match"}
        raise ClientError(
            {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, self._operation
        )


def _checksum_matches(headers: dict[str, Any], body: bytes) -> bool:
    sent_sha256 = headers.get("x-amz-checksum-sha256")
    if sent_sha256 is not None:
        return base64.b64encode(hashlib.sha256(body).digest()).decode() == _text(sent_sha256)
    sent_crc32 = headers.get("x-amz-checksum-crc32")
    if sent_crc32 is not None:
        crc = zlib.crc32(body).to_bytes(4, "big")
        return base64.b64encode(crc).decode() == _text(sent_crc32)
    return True  # nothing to check: S3 would store the damaged bytes


def _aws_chunked(body: bytes) -> tuple[bytes, dict[str, str]]:
    """The data and the trailing headers of an aws-chunked body."""
    data, rest = b"", body
    while True:
        size_line, rest = rest.split(b"\r\n", 1)
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        data, rest = data + rest[:size], rest[size + 2 :]
    trailers = {}
    for line in rest.split(b"\r\n"):
        if b":" in line:
            name, value = line.split(b":", 1)
            trailers[name.decode().lower()] = value.decode().strip()
    return data, trailers


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
