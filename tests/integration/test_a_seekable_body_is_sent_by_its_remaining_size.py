"""A seekable body given without a size (a spooled job list) is measured from where it stands
to its end: under the multipart threshold it goes to S3 as one PutObject with the SHA-256 of
its bytes, at the threshold through the transfer manager's multipart upload."""

import io
from collections.abc import Iterator
from typing import Any

import pytest

from playment_exporter.storage_s3 import MiB, S3Storage
from tests.conftest import BUCKET

THRESHOLD = 8 * MiB  # streaming_transfer_config's multipart threshold


class SentRequests:
    """Each S3 request sent: its operation and its ``x-amz-checksum-*`` headers."""

    def __init__(self, s3: Any) -> None:
        self.sent: list[tuple[str, set[str]]] = []
        s3.meta.events.register("before-call.s3", self._record)

    def _record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        headers = {name.lower() for name in params["headers"]}
        checksums = {name for name in headers if name.startswith("x-amz-checksum-")}
        self.sent.append((model.name, checksums))


@pytest.fixture
def storage(s3: Any) -> Iterator[S3Storage]:
    made = S3Storage(s3, BUCKET)
    yield made
    made.close()


def put_without_size(storage: S3Storage, key: str, body: io.BytesIO) -> None:
    storage.put(key, body, content_type="application/x-ndjson")


def stored(s3: Any, key: str) -> bytes:
    data: bytes = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return data


def test_a_small_seekable_body_is_one_put_with_its_sha256(s3: Any, storage: S3Storage) -> None:
    # Given a seekable body of 12 bytes, its size not given
    sent = SentRequests(s3)
    # When it is written
    put_without_size(storage, "b1/jobs.jsonl", io.BytesIO(b'{"a": [1,2]}'))
    # Then one PutObject carried the SHA-256 of its bytes, and the bytes are stored
    assert sent.sent == [("PutObject", {"x-amz-checksum-sha256"})]
    assert stored(s3, "b1/jobs.jsonl") == b'{"a": [1,2]}'


def test_a_seekable_body_one_byte_under_the_threshold_is_one_put(
    s3: Any, storage: S3Storage
) -> None:
    # Given a seekable body one byte short of the multipart threshold
    body = bytes(THRESHOLD - 1)
    sent = SentRequests(s3)
    # When it is written without its size
    put_without_size(storage, "b1/jobs.jsonl", io.BytesIO(body))
    # Then it went as one PutObject with its SHA-256, whole
    assert sent.sent == [("PutObject", {"x-amz-checksum-sha256"})]
    assert stored(s3, "b1/jobs.jsonl") == body


def test_a_seekable_body_at_the_threshold_is_a_multipart_upload(
    s3: Any, storage: S3Storage
) -> None:
    # Given a seekable body of exactly the multipart threshold
    body = bytes(THRESHOLD)
    sent = SentRequests(s3)
    # When it is written without its size
    put_without_size(storage, "b1/jobs.jsonl", io.BytesIO(body))
    # Then it went in parts, not as one PutObject, and is stored whole
    operations = [operation for operation, _ in sent.sent]
    assert operations[0] == "CreateMultipartUpload"
    assert "PutObject" not in operations
    assert stored(s3, "b1/jobs.jsonl") == body


def test_a_seekable_body_read_partway_is_sent_from_where_it_stands(
    s3: Any, storage: S3Storage
) -> None:
    # Given a seekable body of 4 MiB and 16 bytes, its first 4 MiB already read
    body = io.BytesIO(bytes(4 * MiB) + b"0123456789abcdef")
    body.seek(4 * MiB)
    sent = SentRequests(s3)
    # When it is written without its size
    put_without_size(storage, "b1/jobs.jsonl", body)
    # Then the 16 bytes left went as one PutObject with their SHA-256, and only they are stored
    assert sent.sent == [("PutObject", {"x-amz-checksum-sha256"})]
    assert stored(s3, "b1/jobs.jsonl") == b"0123456789abcdef"
