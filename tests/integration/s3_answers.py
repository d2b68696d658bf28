"""Answers moto never gives, made with botocore event hooks on a moto-backed S3 client.

S3 answers a create-only write racing another with 409 ``ConditionalRequestConflict``, and
refuses a delete a bucket policy denies; moto does neither by itself. A ``before-call`` hook
that returns ``(http_response, parsed)`` stands in for the request (botocore then raises a
``ClientError`` for a status of 300 or more, as for a real answer); the rest of the call
path, moto included, stays real.
"""

from typing import Any

Answer = tuple["_HttpAnswer", dict[str, Any]]


class _HttpAnswer:
    """The one thing botocore reads of an HTTP response a hook stands in for."""

    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.headers: dict[str, str] = {}
        self.content = b""


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
