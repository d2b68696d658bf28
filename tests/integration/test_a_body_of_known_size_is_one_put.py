"""A result or a referenced file whose size is known (Playment's Content-Length) goes to S3 as
one PutObject with the SHA-256 of its bytes, not through the transfer manager's threads."""

from collections.abc import Iterator
from typing import Any

import pytest

from playment_exporter.result_store import ResultStore
from playment_exporter.storage_s3 import S3Storage
from tests.conftest import BUCKET

RESULT = b'{"a": [1,2]}'


class OneWayBody:
    """A body that can only be read forward, as a Playment download is: its size is known
    only from what the response said."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, size: int = -1, /) -> bytes:
        size = len(self._data) if size < 0 else size
        given, self._data = self._data[:size], self._data[size:]
        return given


class PutChecksums:
    """The ``x-amz-checksum-*`` headers of each PutObject sent."""

    def __init__(self, s3: Any) -> None:
        self.sent: list[set[str]] = []
        s3.meta.events.register("before-call.s3.PutObject", self._record)

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        headers = {name.lower() for name in params["headers"]}
        self.sent.append({name for name in headers if name.startswith("x-amz-checksum-")})


@pytest.fixture
def store(s3: Any) -> Iterator[ResultStore]:
    made = ResultStore(S3Storage(s3, BUCKET), "out/")
    yield made
    made.close()


def test_a_result_of_known_size_is_one_put_with_its_sha256(s3: Any, store: ResultStore) -> None:
    # Given a result of 12 bytes, readable only forward, whose size the response gave
    checksums = PutChecksums(s3)
    # When it is written with that size
    store.write_result(
        "b1", "j1", OneWayBody(RESULT), overwrite=False, size_hint=len(RESULT), execution="e1"
    )
    # Then one PutObject carried the SHA-256 of its bytes, and the bytes are stored
    assert checksums.sent == [{"x-amz-checksum-sha256"}]
    assert s3.get_object(Bucket=BUCKET, Key="out/b1/j1.json")["Body"].read() == RESULT


def test_a_referenced_file_of_known_size_is_one_put_with_its_sha256(
    s3: Any, store: ResultStore
) -> None:
    # Given a mask of 10 bytes, readable only forward, whose size the response gave
    checksums = PutChecksums(s3)
    # When it is written next to its job's result with that size
    key = store.write_referenced(
        "b1", "j1", "mask.png", OneWayBody(b"0123456789"), overwrite=False, size_hint=10
    )
    # Then one PutObject carried the SHA-256 of its bytes, and the bytes are stored
    assert checksums.sent == [{"x-amz-checksum-sha256"}]
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"0123456789"
