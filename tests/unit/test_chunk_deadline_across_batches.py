"""A listing step's pass over its batches' candidates, against the step's deadline: the first
batch with candidates always makes its first LIST (so that the pass moves on), and past the
deadline every later batch is handed on unsettled, none dropped."""

from datetime import UTC, datetime
from typing import Any

from playment_exporter.api_models import COMPLETED, ListedJob
from playment_exporter.listing_chunk import Chunk
from playment_exporter.result_store import ResultStore
from playment_exporter.run_records import UnsettledJobs
from playment_exporter.storage_s3 import S3Storage
from tests.conftest import BUCKET

STARTED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def _chunk(jobs_by_batch: dict[str, ListedJob]) -> Chunk:
    chunk = Chunk("p1")
    for batch_id, job in jobs_by_batch.items():
        chunk.batch(batch_id).add(job, counted_already=False)
    return chunk


def _settle(chunk: Chunk, s3: Any, deadline: float) -> None:
    """The pass over an empty results bucket (every candidate still to fetch), the clock
    standing at 1.0."""
    store = ResultStore(S3Storage(s3, BUCKET), "")
    chunk.settle_exported(
        store, "exec-1", STARTED_AT, overwrite=False, deadline=deadline, clock=lambda: 1.0
    )
    store.close()


def test_the_first_batch_with_candidates_is_settled_even_past_the_deadline(s3: Any) -> None:
    # Given a chunk whose first batch listed only a job not completed, its second a candidate
    chunk = _chunk(
        {
            "b0": ListedJob(id="busy", status="in_progress"),
            "b1": ListedJob(id="j1", status=COMPLETED),
        }
    )
    # When the pass starts with the step's deadline already passed
    _settle(chunk, s3, deadline=0.0)
    # Then the candidate is still looked up and planned for fetching: the pass moved on
    assert chunk.to_fetch() == [("b0", []), ("b1", ["j1"])]
    assert chunk.unsettled() == []


def test_past_the_deadline_every_later_batch_is_left_unsettled(s3: Any) -> None:
    # Given a chunk of three batches, each with one candidate
    chunk = _chunk({f"b{n}": ListedJob(id=f"j{n}", status=COMPLETED) for n in (1, 2, 3)})
    # When the pass starts with the step's deadline already passed
    _settle(chunk, s3, deadline=0.0)
    # Then the first batch's candidate is planned, and both later batches are handed on
    assert chunk.to_fetch() == [("b1", ["j1"]), ("b2", []), ("b3", [])]
    assert chunk.unsettled() == [
        UnsettledJobs(batch_id="b2", job_ids=["j2"]),
        UnsettledJobs(batch_id="b3", job_ids=["j3"]),
    ]


def test_before_the_deadline_every_batch_is_settled(s3: Any) -> None:
    # Given a chunk of two batches, each with one candidate
    chunk = _chunk({f"b{n}": ListedJob(id=f"j{n}", status=COMPLETED) for n in (1, 2)})
    # When the pass runs well before the step's deadline
    _settle(chunk, s3, deadline=60.0)
    # Then both candidates are planned for fetching and none is left
    assert chunk.to_fetch() == [("b1", ["j1"]), ("b2", ["j2"])]
    assert chunk.unsettled() == []
