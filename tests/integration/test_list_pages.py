"""Planning an export: the manifest's pages, sized to the whole export. Simulator on
loopback, S3 in moto."""

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

import pytest

from playment_exporter.api_models import ListedJob
from playment_exporter.errors import TransientError
from playment_exporter.export_request import ExportRequest
from playment_exporter.list_pages import ListingSummary, list_export_pages
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.result_store import ResultStore
from playment_exporter.retry_policy import RetrySettings
from playment_exporter.run_records import RunRecords
from playment_simulator import (
    Catalog,
    FaultPlan,
    SimBatch,
    SimJob,
    SimProject,
    Simulator,
    sample_catalog,
)
from tests.conftest import API_KEY, BUCKET

PROJECT = "p1"
Plan = Callable[..., tuple[ListingSummary, list[dict[str, Any]]]]


@pytest.fixture
def plan(s3: Any, start_simulator: Callable[..., Simulator]) -> Iterator[Plan]:
    """List an export of the given batches (job counts) and read back the manifest."""
    closing: list[PlaymentClient | ResultStore] = []

    def run(
        batches: Mapping[str, int],
        *,
        max_concurrency: int,
        not_completed_every: int = 0,
        overwrite: bool = False,
    ) -> tuple[ListingSummary, list[dict[str, Any]]]:
        simulator = start_simulator(sample_catalog(PROJECT, batches, not_completed_every))
        client = PlaymentClient(simulator.api_url, API_KEY)
        store = ResultStore(s3, BUCKET, "")
        closing.extend([client, store])
        request = ExportRequest.from_input(
            {"project_id": PROJECT, "batch_ids": list(batches), "overwrite": overwrite}
        )
        records = RunRecords(s3, BUCKET, "plan")
        summary = list_export_pages(
            client, store, records, request, max_concurrency=max_concurrency
        )
        body = s3.get_object(Bucket=BUCKET, Key=summary.manifest_key)["Body"].read()
        return summary, json.loads(body)

    yield run
    for item in closing:
        item.close()


def job_ids(manifest: list[dict[str, Any]]) -> list[str]:
    return [job_id for page in manifest for job_id in page["job_ids"]]


def test_400_jobs_fill_all_40_children_with_pages_of_10(plan: Plan) -> None:
    # Given a batch of 400 completed jobs and a Map that may run 40 children at once
    # When the export is planned
    summary, manifest = plan({"b1": 400}, max_concurrency=40)
    # Then it is cut into 40 pages of 10 jobs, one for each child, not 4 pages of 100
    assert summary.page_size == 10
    assert summary.pages == len(manifest) == 40
    assert all(len(page["job_ids"]) <= summary.page_size for page in manifest)
    # And every job is in exactly one page, in listing order, the pages numbered in order
    assert job_ids(manifest) == [f"b1-job-{n:05d}" for n in range(400)]
    assert [page["page"] for page in manifest] == list(range(40))
    assert summary.jobs_to_fetch == 400


def test_a_large_export_keeps_pages_of_100(plan: Plan) -> None:
    # Given 10,000 jobs to fetch, more than 40 children can take in pages of 100
    # When the export is planned
    summary, manifest = plan({"big": 10_000}, max_concurrency=40)
    # Then the pages are of 100 jobs, the cheapest per job, and hold every job once
    assert summary.page_size == 100
    assert [len(page["job_ids"]) for page in manifest] == [100] * 100
    assert len(set(job_ids(manifest))) == 10_000


def test_a_tiny_export_gets_pages_of_the_floor_not_of_one_job(plan: Plan) -> None:
    # Given 30 jobs to fetch and 40 children allowed
    # When the export is planned
    summary, manifest = plan({"b1": 30}, max_concurrency=40)
    # Then it makes 3 pages of 10, not 30 pages of 1
    assert summary.page_size == 10
    assert [len(page["job_ids"]) for page in manifest] == [10, 10, 10]


def test_the_size_is_one_for_the_whole_export_across_its_batches(plan: Plan) -> None:
    # Given two batches, 300 and 100 jobs, and 20 children allowed
    # When the export is planned
    summary, manifest = plan({"b1": 300, "b2": 100}, max_concurrency=20)
    # Then the size comes from the 400 jobs together, ceil(400 / 20) = 20, for both batches
    # (sized batch by batch, b2 would have had pages of 10)
    assert summary.page_size == 20
    sizes = Counter((page["batch_id"], len(page["job_ids"])) for page in manifest)
    assert sizes == {("b1", 20): 15, ("b2", 20): 5}
    assert summary.pages == 20


def test_only_the_jobs_to_fetch_size_the_pages(plan: Plan, s3: Any) -> None:
    # Given a batch of 1,000 jobs, every 4th not completed (250), and 600 of the 750 completed
    # ones already exported: 150 left to fetch
    completed = [n for n in range(1_000) if (n + 1) % 4 != 0]
    for n in completed[:600]:
        s3.put_object(Bucket=BUCKET, Key=f"b1/b1-job-{n:05d}.json", Body=b"{}")
    expected = {f"b1-job-{n:05d}" for n in completed[600:]}
    # When the export is planned for 10 children
    summary, manifest = plan({"b1": 1_000}, max_concurrency=10, not_completed_every=4)
    # Then the pages are sized on the 150 jobs to fetch, ceil(150 / 10) = 15 each (not on the
    # 1,000 listed: 100, nor the 750 completed: 75, nor the 400 not exported: 40)
    assert (summary.jobs_listed, summary.jobs_settled, summary.jobs_to_fetch) == (1_000, 850, 150)
    assert summary.page_size == 15
    assert [len(page["job_ids"]) for page in manifest] == [15] * 10
    assert set(job_ids(manifest)) == expected


def test_overwriting_counts_the_exported_jobs_as_jobs_to_fetch(plan: Plan, s3: Any) -> None:
    # Given the same batch, 600 of its 750 completed jobs already exported
    completed = [n for n in range(1_000) if (n + 1) % 4 != 0]
    for n in completed[:600]:
        s3.put_object(Bucket=BUCKET, Key=f"b1/b1-job-{n:05d}.json", Body=b"{}")
    # When it is planned with overwrite, for 10 children
    summary, manifest = plan(
        {"b1": 1_000}, max_concurrency=10, not_completed_every=4, overwrite=True
    )
    # Then all 750 completed jobs are fetched again, in pages of ceil(750 / 10) = 75
    assert summary.jobs_to_fetch == 750
    assert summary.page_size == 75
    assert [len(page["job_ids"]) for page in manifest] == [75] * 10


class ShiftingListing:
    """A client whose batch pages overlap, as a listing does when jobs move under it."""

    def __init__(self, pages: list[list[ListedJob]]) -> None:
        self.pages = pages

    def list_batch_pages(self, project_id: str, batch_id: str, **_: Any) -> Iterator[list[Any]]:
        yield from self.pages


def test_a_job_listed_twice_is_fetched_once_and_counted_once(s3: Any) -> None:
    # Given a listing whose second page repeats a completed job and a job not completed
    done, waiting = "completed", "in_progress"
    pages = [
        [ListedJob(id="a", status=done), ListedJob(id="b", status=done)],
        [ListedJob(id="b", status=done), ListedJob(id="n", status=waiting)],
        [ListedJob(id="n", status=waiting), ListedJob(id="c", status=done)],
    ]
    client = cast(PlaymentClient, ShiftingListing(pages))
    store = ResultStore(s3, BUCKET, "")
    records = RunRecords(s3, BUCKET, "dupes")
    request = ExportRequest.from_input({"project_id": PROJECT, "batch_id": "b1"})
    # When the export is planned
    summary = list_export_pages(client, store, records, request, max_concurrency=1)
    store.close()
    # Then each job is in the manifest once, and counted once: 4 listed, 1 settled, 3 to fetch
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=summary.manifest_key)["Body"].read())
    assert job_ids(manifest) == ["a", "b", "c"]
    assert (summary.jobs_listed, summary.jobs_settled, summary.jobs_to_fetch) == (4, 1, 3)
    listing = s3.get_object(Bucket=BUCKET, Key=records.listing_outcome_key("b1"))["Body"].read()
    assert [o["job_id"] for o in json.loads(listing)["outcomes"]] == ["n"]


def test_a_batch_id_that_is_not_safe_is_left_out_and_the_rest_listed(
    s3: Any, start_simulator: Callable[..., Simulator]
) -> None:
    # Given a project whose details list a batch ID that cannot be a key, before a good one
    bad = "b" * 250
    catalog = Catalog(
        [
            SimProject(
                id=PROJECT, batches=(SimBatch(bad, (SimJob("x"),)), SimBatch("ok", jobs_of(3)))
            )
        ]
    )
    simulator = start_simulator(catalog)
    client = PlaymentClient(simulator.api_url, API_KEY)
    store = ResultStore(s3, BUCKET, "")
    request = ExportRequest.from_input({"project_id": PROJECT, "all_batches": True})
    # When every batch of the project is planned
    summary = list_export_pages(
        client, store, RunRecords(s3, BUCKET, "all"), request, max_concurrency=4
    )
    store.close()
    client.close()
    # Then the bad one is left out with the reason, its ID cut to 200 characters, and the
    # good one is listed after it
    assert summary.batch_ids == ["ok"]
    assert [(b.batch_id, b.reason) for b in summary.batches_left_out] == [
        (
            bad[:200],
            f"batch_id: {bad[:40] + '...'!r} is not a valid ID "
            "(letters, digits, '-', '_'; 1 to 128 characters)",
        )
    ]
    assert summary.jobs_listed == 3


def test_reading_the_project_details_stops_at_the_deadline(
    s3: Any, start_simulator: Callable[..., Simulator]
) -> None:
    # Given project details that always answer 503, and a deadline half a second away
    faults = FaultPlan(permanent={("details", PROJECT): "503"})
    simulator = start_simulator(sample_catalog(PROJECT, {"b1": 3}), faults=faults)
    fast = RetrySettings(window=30, initial_wait=0.01, max_wait=0.05)
    client = PlaymentClient(simulator.api_url, API_KEY, retry=fast, sleep=lambda _: None)
    store = ResultStore(s3, BUCKET, "")
    request = ExportRequest.from_input({"project_id": PROJECT, "all_batches": True})
    started = time.monotonic()
    # When every batch of the project is planned / Then it gives up at the deadline
    with pytest.raises(TransientError):
        list_export_pages(
            client,
            store,
            RunRecords(s3, BUCKET, "late"),
            request,
            max_concurrency=4,
            deadline=started + 0.5,
        )
    store.close()
    client.close()
    assert time.monotonic() - started < 10


def jobs_of(count: int) -> tuple[SimJob, ...]:
    return tuple(SimJob(f"ok-{n}") for n in range(count))
