"""The batch history as a scheduled run's first listing step reads it: a record at a time,
against S3 in moto_server (another process), so that only the reader's memory is measured."""

import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from playment_exporter.api_models import ProjectBatch
from playment_exporter.batch_history import BatchHistory, BatchRecord
from playment_exporter.storage_s3 import S3Storage

BATCHES = 5_000


def batch(number: int, completed: int = 5) -> ProjectBatch:
    return ProjectBatch(
        id=f"{number:08d}-8f3c-4a1e-9b2d-0c5e7f1a2b3c",
        total_jobs=9,
        completed_jobs=completed,
        completed_frames=completed,
        annotations=40,
        status="Complete",
    )


@pytest.fixture
def history(moto_server: str) -> BatchHistory:
    """A project of 5,000 batches, each recorded clean by a run a day ago."""
    s3 = boto3.client("s3", endpoint_url=moto_server)
    s3.create_bucket(Bucket="history")
    made = BatchHistory(S3Storage(s3, "history"), "big-project")
    a_day_ago = datetime.now(UTC) - timedelta(days=1)
    made.write(
        {
            each.id: BatchRecord(fingerprint=each.fingerprint(), listed_at=a_day_ago)
            for each in map(batch, range(BATCHES))
        }
    )
    return made


def peak_mib(read: Any) -> tuple[Any, float]:
    tracemalloc.start()
    try:
        answer = read()
        return answer, tracemalloc.get_traced_memory()[1] / (1024 * 1024)
    finally:
        tracemalloc.stop()


def test_a_run_reads_the_history_a_record_at_a_time(history: BatchHistory) -> None:
    # Given the project as its details are now: the first hundred batches unchanged, the
    # others with more completed jobs, and the last ten gone from the project
    now = {each.id: each for each in (batch(n, completed=6) for n in range(BATCHES - 10))}
    now.update({each.id: each for each in map(batch, range(100))})
    # When a run asks which batches need not be listed again, and, to compare, reads the
    # history whole as the report does
    unchanged, streamed = peak_mib(lambda: history.unchanged_batches(now, datetime.now(UTC), 7))
    _, whole = peak_mib(history.read)
    # Then the answer is every unchanged batch still in the project, with when it was listed
    assert set(unchanged) == {batch(n).id for n in range(100)}
    assert {since.date() for since in unchanged.values()} == {
        (datetime.now(UTC) - timedelta(days=1)).date()
    }
    # And reading it took a fraction of the memory of the history parsed whole
    assert streamed < whole / 4, (streamed, whole)
