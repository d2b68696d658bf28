"""A body whose size is given (Playment's Content-Length) goes as one PutObject up to one byte
short of the multipart threshold, and in parts from the threshold on."""

from collections.abc import Iterator
from typing import Any

import pytest

from playment_exporter.storage_s3 import MiB, S3Storage
from tests.conftest import BUCKET

THRESHOLD = 8 * MiB  # streaming_transfer_config's multipart threshold


class ForwardOnly:
    """A body that can only be read forward, as a Playment download is."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, size: int = -1, /) -> bytes:
        size = len(self._data) if size < 0 else size
        given, self._data = self._data[:size], self._data[size:]
        return given


class SentOperations:
    """The name of each S3 operation sent."""

    def __init__(self, s3: Any) -> None:
        self.sent: list[str] = []
        s3.meta.events.register("before-call.s3", self._record)

    def _record(self, model: Any, **_: Any) -> None:
        self.sent.append(model.name)


@pytest.fixture
def storage(s3: Any) -> Iterator[S3Storage]:
    made = S3Storage(s3, BUCKET)
    yield made
    made.close()


def put_with_its_size(storage: S3Storage, body: bytes) -> None:
    storage.put(
        "b1/j1.json", ForwardOnly(body), content_type="application/json", size_hint=len(body)
    )


def stored(s3: Any) -> bytes:
    data: bytes = s3.get_object(Bucket=BUCKET, Key="b1/j1.json")["Body"].read()
    return data


def test_a_body_one_byte_under_the_threshold_is_one_put(s3: Any, storage: S3Storage) -> None:
    # Given a forward-only body one byte short of the multipart threshold, its size given
    body = bytes(THRESHOLD - 1)
    sent = SentOperations(s3)
    # When it is written with that size
    put_with_its_size(storage, body)
    # Then it went as one PutObject, whole
    assert sent.sent == ["PutObject"]
    assert stored(s3) == body


def test_a_body_at_the_threshold_is_a_multipart_upload(s3: Any, storage: S3Storage) -> None:
    # Given a forward-only body of exactly the multipart threshold, its size given
    body = bytes(THRESHOLD)
    sent = SentOperations(s3)
    # When it is written with that size
    put_with_its_size(storage, body)
    # Then it went in parts, not as one PutObject, and is stored whole
    assert sent.sent[0] == "CreateMultipartUpload"
    assert "PutObject" not in sent.sent
    assert stored(s3) == body
