"""ResultStore's writes into S3 (moto): each result it writes counted once (the local command's
summary prints the count as "results written"), and one written without an execution left
without the execution's metadata."""

import io
from collections.abc import Iterator
from typing import Any

import pytest

from playment_exporter.result_store import ResultStore
from playment_exporter.storage_s3 import S3Storage
from tests.conftest import BUCKET


@pytest.fixture
def store(s3: Any) -> Iterator[ResultStore]:
    made = ResultStore(S3Storage(s3, BUCKET), "out/")
    yield made
    made.close()


def test_each_result_written_is_counted_once(store: ResultStore) -> None:
    # Given a store that has written nothing yet
    assert store.results_written == 0
    # When it writes one result / Then it counts one
    store.write_result("b1", "a", io.BytesIO(b"{}"), overwrite=False, execution="e1")
    assert store.results_written == 1
    # When it writes another / Then it counts two
    store.write_result("b1", "b", io.BytesIO(b"[]"), overwrite=False, execution="e1")
    assert store.results_written == 2


def test_a_result_written_without_an_execution_carries_no_execution_metadata(
    s3: Any, store: ResultStore
) -> None:
    # Given no execution named for the write
    # When a result is written
    store.write_result("b1", "a", io.BytesIO(b"{}"), overwrite=False)
    # Then its object has no metadata at all, so no execution is said to have written it
    assert s3.head_object(Bucket=BUCKET, Key="out/b1/a.json")["Metadata"] == {}
    assert store.written_by("b1", "a") == ""
