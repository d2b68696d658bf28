"""A body given as bytes (a batch's history, a run record) is one PutObject that keeps the
promises of any other body: its metadata is stored with it, and a create-only write never
replaces an object already at the key."""

from collections.abc import Iterator
from typing import Any

import pytest

from playment_exporter.errors import AlreadyExported
from playment_exporter.storage_s3 import S3Storage
from tests.conftest import BUCKET


@pytest.fixture
def storage(s3: Any) -> Iterator[S3Storage]:
    made = S3Storage(s3, BUCKET)
    yield made
    made.close()


def test_bytes_are_stored_with_their_metadata(s3: Any, storage: S3Storage) -> None:
    # Given a body of bytes and the metadata to store with it
    metadata = {"export-execution": "run-1"}
    # When it is written
    storage.put("b1/a.json", b"{}", content_type="application/json", metadata=metadata)
    # Then S3 holds the bytes with that metadata
    assert s3.head_object(Bucket=BUCKET, Key="b1/a.json")["Metadata"] == metadata
    assert s3.get_object(Bucket=BUCKET, Key="b1/a.json")["Body"].read() == b"{}"


def test_bytes_written_create_only_never_replace_an_object(s3: Any, storage: S3Storage) -> None:
    # Given an object at the key
    storage.put("b1/a.json", b'{"earlier": 1}', content_type="application/json")
    # When other bytes are written there create-only
    # Then they are refused as already exported, and the object is as it was
    with pytest.raises(AlreadyExported):
        storage.put("b1/a.json", b"{}", content_type="application/json", create_only=True)
    assert s3.get_object(Bucket=BUCKET, Key="b1/a.json")["Body"].read() == b'{"earlier": 1}'
