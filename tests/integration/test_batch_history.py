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
from tests.conftest import BUCKET

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


def recorded_clean(storage: S3Storage, listed_at: datetime, *batches: ProjectBatch) -> BatchHistory:
    made = BatchHistory(storage, "p1")
    made.write(
        {
            each.id: BatchRecord(fingerprint=each.fingerprint(), listed_at=listed_at)
            for each in batches
        }
    )
    return made


def test_a_batch_gone_from_the_project_does_not_hide_the_batches_after_it(s3: Any) -> None:
    # Given a history of two batches recorded clean a day ago, the first of which (in the
    # object's order) the project no longer has
    started = datetime(2026, 12, 1, tzinfo=UTC)
    gone, kept = batch(1), batch(2)
    history = recorded_clean(S3Storage(s3, BUCKET), started - timedelta(days=1), gone, kept)
    # When a run asks which of the project's batches need not be listed again
    unchanged = history.unchanged_batches({kept.id: kept}, started, full_listing_days=7)
    # Then the batch it still has is found unchanged
    assert unchanged == {kept.id: started - timedelta(days=1)}


@pytest.mark.parametrize(
    ("age", "listed_again"),
    [(timedelta(days=7), True), (timedelta(days=7) - timedelta(seconds=1), False)],
)
def test_a_batch_is_listed_again_once_full_listing_days_have_passed(
    s3: Any, age: timedelta, listed_again: bool
) -> None:
    # Given a batch recorded clean, unchanged since, and a full listing every 7 days
    started = datetime(2026, 12, 1, tzinfo=UTC)
    history = recorded_clean(S3Storage(s3, BUCKET), started - age, batch(1))
    # When a run starts `age` after that record
    unchanged = history.unchanged_batches({batch(1).id: batch(1)}, started, full_listing_days=7)
    # Then the batch is listed again from the 7th day on, not before
    assert (batch(1).id not in unchanged) is listed_again


def test_the_history_is_json_the_same_bytes_whatever_the_order_of_its_records(s3: Any) -> None:
    # Given the same records of two batches, given in either order
    storage, when = S3Storage(s3, BUCKET), datetime(2026, 12, 1, tzinfo=UTC)
    bodies = []
    for batches in [(batch(1), batch(2)), (batch(2), batch(1))]:
        # When the history is written
        history = recorded_clean(storage, when, *batches)
        written = s3.get_object(Bucket=BUCKET, Key=history.key)
        bodies.append(written["Body"].read())
        # Then it is a JSON object, said to be one
        assert written["ContentType"] == "application/json"
    # And the same records make the same bytes: an unchanged history reads as unchanged
    assert bodies[0] == bodies[1]
