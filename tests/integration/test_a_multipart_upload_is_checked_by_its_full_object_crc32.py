"""A body past the multipart threshold is uploaded in parts with a FULL_OBJECT CRC32: S3 keeps
the CRC32 of the whole object (which anyone can recompute from the bytes), not a CRC32 of the
parts' CRC32s that only the part sizes used on upload can reproduce."""

import base64
import io
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from playment_exporter.storage_s3 import MiB, S3Storage
from tests.conftest import BUCKET

LARGE = 9 * MiB  # past streaming_transfer_config's 8 MiB multipart threshold


@pytest.fixture
def storage(s3: Any) -> Iterator[S3Storage]:
    made = S3Storage(s3, BUCKET)
    yield made
    made.close()


def crc32_of(data: bytes) -> str:
    """The CRC32 as S3 gives it: four big-endian bytes, base64."""
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def test_a_large_body_is_stored_with_the_crc32_of_the_whole_object(
    s3: Any, storage: S3Storage
) -> None:
    # Given a body past the multipart threshold
    body = bytes(range(256)) * (LARGE // 256)
    # When it is written
    storage.put("b1/big.json", io.BytesIO(body), content_type="application/json")
    # Then S3 keeps a FULL_OBJECT checksum: the CRC32 of the whole body
    head = s3.head_object(Bucket=BUCKET, Key="b1/big.json", ChecksumMode="ENABLED")
    assert head["ChecksumType"] == "FULL_OBJECT"
    assert head["ChecksumCRC32"] == crc32_of(body)
