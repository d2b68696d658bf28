"""A listing step's pages up to its bound: a late step stops once it has something to hand on
(jobs listed, or a batch Playment does not know), and returns the cursor the next step resumes
from, which counts the batch's jobs listed so far; after a refused token, exactly the jobs
counted before are listed again as counted already. Batch pages from a stand-in client; the
step's store and records (untouched while listing) on S3 in moto."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import pytest

from playment_exporter.api_models import COMPLETED, BatchPage, ListedJob
from playment_exporter.errors import BATCH_NOT_FOUND, PlaymentApiError
from playment_exporter.export_request import ExportRequest
from playment_exporter.list_pages import ListingCursor, ListingOptions, ListingStep
from playment_exporter.listing_chunk import Chunk
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.result_store import ResultStore
from playment_exporter.run_records import RunRecords
from playment_exporter.storage_s3 import S3Storage
from tests.conftest import BUCKET

PROJECT = "p1"
STARTED = datetime(2026, 1, 1, tzinfo=UTC)
# Batch b1 in two pages: three completed jobs, then two more.
PAGES = {
    "": BatchPage(
        jobs=[ListedJob(id=f"j{n}", status=COMPLETED) for n in (1, 2, 3)],
        next_page_token="page-2",
    ),
    "page-2": BatchPage(jobs=[ListedJob(id=f"j{n}", status=COMPLETED) for n in (4, 5)]),
}


class StepAt(Protocol):
    """Makes a listing step, given its deadline."""

    def __call__(self, deadline: float | None) -> ListingStep: ...


class TwoPageBatch:
    """A client that knows batch b1 (``PAGES``) and no other, recording each page asked for."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def list_batch_page(self, project_id: str, batch_id: str, token: str, **_: Any) -> BatchPage:
        self.asked.append((batch_id, token))
        if batch_id != "b1":
            raise PlaymentApiError(BATCH_NOT_FOUND, f"batch {batch_id!r} not found")
        return PAGES[token]


@pytest.fixture
def listing(s3: Any) -> Iterator[tuple[TwoPageBatch, StepAt]]:
    """The client, and a maker of listing steps over it with a clock at 20 and the given
    deadline (late at 10 or before; none: never late)."""
    client = TwoPageBatch()
    store = ResultStore(S3Storage(s3, BUCKET), "")
    records = RunRecords(S3Storage(s3, BUCKET), "bounded")
    request = ExportRequest.from_input({"project_id": PROJECT, "batch_ids": ["b1"]})

    def step(deadline: float | None) -> ListingStep:
        options = ListingOptions(
            max_concurrency=4, started_at=STARTED, deadline=deadline, clock=lambda: 20.0
        )
        return ListingStep(cast(PlaymentClient, client), store, records, request, options)

    yield client, step
    store.close()


def test_a_late_step_lists_its_first_page_and_returns_where_the_next_resumes(
    listing: tuple[TwoPageBatch, StepAt],
) -> None:
    # Given a step whose deadline has passed, and a batch of two pages
    client, step = listing
    # When it lists to its bound
    cursor = step(deadline=10.0).list_to_bound(["b1"], Chunk(PROJECT), ListingCursor())
    # Then it listed the first page only (so that the export moves on), and the cursor it
    # returns points at the second page, with the batch's 3 jobs listed so far
    assert client.asked == [("b1", "")]
    assert cursor == ListingCursor(batch_index=0, page_token="page-2", listed_in_batch=3)


def test_a_late_step_stops_after_a_batch_playment_does_not_know(
    listing: tuple[TwoPageBatch, StepAt],
) -> None:
    # Given a step whose deadline has passed, its first batch one Playment does not know
    client, step = listing
    chunk = Chunk(PROJECT)
    # When it lists to its bound
    cursor = step(deadline=10.0).list_to_bound(["gone", "b1"], chunk, ListingCursor())
    # Then the unknown batch, settled as one failed entry, counts as progress: the step
    # stops there, and the next one starts at b1's first page
    assert client.asked == [("gone", "")]
    assert chunk.settled_count == 1
    assert cursor == ListingCursor(batch_index=1)


def test_a_step_on_time_lists_every_page_to_the_end_of_its_batches(
    listing: tuple[TwoPageBatch, StepAt],
) -> None:
    # Given a step with no deadline
    client, step = listing
    # When it lists to its bound
    cursor = step(deadline=None).list_to_bound(["gone", "b1"], Chunk(PROJECT), ListingCursor())
    # Then it read every page of both batches, and its cursor is past the last batch
    assert client.asked == [("gone", ""), ("b1", ""), ("b1", "page-2")]
    assert cursor == ListingCursor(batch_index=2)


def test_after_a_refused_token_the_jobs_counted_before_are_counted_already(
    listing: tuple[TwoPageBatch, StepAt],
) -> None:
    # Given a cursor whose carried token was refused after 2 jobs of b1 were listed (and
    # counted by an earlier step): the batch starts again from its first page
    client, step = listing
    restarted = ListingCursor(page_token="page-x", listed_in_batch=2).restart_batch()
    chunk = Chunk(PROJECT)
    # When the step lists b1 again
    cursor = step(deadline=None).list_to_bound(["b1"], chunk, restarted)
    # Then b1 was listed again from its first page, and exactly the first 2 jobs listed are
    # marked counted already; the other 3 are new
    assert client.asked == [("b1", ""), ("b1", "page-2")]
    assert chunk.batch("b1").counted_already == {"j1", "j2"}
    assert chunk.batch("b1").candidates == ["j1", "j2", "j3", "j4", "j5"]
    assert cursor.batch_index == 1
