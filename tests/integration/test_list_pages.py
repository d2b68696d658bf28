"""Planning an export in bounded listing steps: each step's manifest pages, sized to what it
lists; the cursor between steps; jobs listed twice; a refused page token. Simulator on
loopback, S3 in moto."""

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from playment_exporter.api_models import BatchPage, ListedJob, ProjectBatch, ProjectDetails
from playment_exporter.batch_history import BatchHistory, BatchRecord
from playment_exporter.errors import (
    BATCH_NOT_FOUND,
    PROJECT_NOT_FOUND,
    PlaymentApiError,
    TransientError,
)
from playment_exporter.export_request import ExportRequest
from playment_exporter.list_pages import (
    MAX_TOKEN_RESTARTS,
    REFUSED_TOKEN_CODE,
    ListingCursor,
    ListingOptions,
    ListingSummary,
    list_export_pages,
)
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.result_store import ResultStore
from playment_exporter.retry_policy import RetrySettings
from playment_exporter.run_records import RunRecords
from playment_exporter.storage_s3 import S3Storage
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
from tests.integration.s3_answers import CountCalls

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
        store = ResultStore(S3Storage(s3, BUCKET), "")
        closing.extend([client, store])
        request = ExportRequest.from_input(
            {"project_id": PROJECT, "batch_ids": list(batches), "overwrite": overwrite}
        )
        records = RunRecords(S3Storage(s3, BUCKET), "plan")
        summary = list_export_pages(
            client,
            store,
            records,
            request,
            ListingOptions(max_concurrency=max_concurrency, started_at=now()),
        )
        body = s3.get_object(Bucket=BUCKET, Key=summary.manifest_key)["Body"].read()
        return summary, json.loads(body)

    yield run
    for item in closing:
        item.close()


def now() -> datetime:
    return datetime.now(UTC)


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


def test_a_large_export_keeps_pages_of_250(plan: Plan) -> None:
    # Given 12,000 jobs to fetch, more than 40 children can take in pages of 250
    # When the export is planned
    summary, manifest = plan({"big": 12_000}, max_concurrency=40)
    # Then the pages are of 250 jobs, the cheapest per job, and hold every job once
    assert summary.page_size == 250
    assert [len(page["job_ids"]) for page in manifest] == [250] * 48
    assert len(set(job_ids(manifest))) == 12_000


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

    def list_batch_page(self, project_id: str, batch_id: str, token: str, **_: Any) -> BatchPage:
        number = int(token or 0)
        last = number == len(self.pages) - 1
        return BatchPage(jobs=self.pages[number], next_page_token=None if last else str(number + 1))


def test_a_job_listed_twice_is_fetched_once_and_counted_once(s3: Any) -> None:
    # Given a listing whose second page repeats a completed job and a job not completed
    done, waiting = "completed", "in_progress"
    pages = [
        [ListedJob(id="a", status=done), ListedJob(id="b", status=done)],
        [ListedJob(id="b", status=done), ListedJob(id="n", status=waiting)],
        [ListedJob(id="n", status=waiting), ListedJob(id="c", status=done)],
    ]
    client = cast(PlaymentClient, ShiftingListing(pages))
    store = ResultStore(S3Storage(s3, BUCKET), "")
    records = RunRecords(S3Storage(s3, BUCKET), "dupes")
    request = ExportRequest.from_input({"project_id": PROJECT, "batch_id": "b1"})
    # When the export is planned
    summary = list_export_pages(
        client, store, records, request, ListingOptions(max_concurrency=1, started_at=now())
    )
    store.close()
    # Then each job is in the manifest once, and counted once: 4 listed, 1 settled, 3 to fetch
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=summary.manifest_key)["Body"].read())
    assert job_ids(manifest) == ["a", "b", "c"]
    assert (summary.jobs_listed, summary.jobs_settled, summary.jobs_to_fetch) == (4, 1, 3)
    (settled,) = records.read_settled(0)
    assert [o.job_id for o in settled.outcomes] == ["n"]


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
    store = ResultStore(S3Storage(s3, BUCKET), "")
    request = ExportRequest.from_input({"project_id": PROJECT, "all_batches": True})
    # When every batch of the project is planned
    records = RunRecords(S3Storage(s3, BUCKET), "all")
    summary = list_export_pages(
        client, store, records, request, ListingOptions(max_concurrency=4, started_at=now())
    )
    store.close()
    client.close()
    # Then the bad one is left out with the reason, its ID cut to 200 characters, and the
    # good one is listed after it
    plan = records.read_batch_plan()
    assert plan.batch_ids == ["ok"]
    assert [(b.batch_id, b.reason) for b in plan.left_out] == [
        (
            bad[:200],
            f"batch_id: {bad[:40] + '...'!r} is not a valid ID "
            "(letters, digits, '-', '_'; 1 to 128 characters)",
        )
    ]
    assert summary.jobs_listed == 3


def test_a_batch_playment_does_not_know_is_one_failed_entry_and_the_others_are_listed(
    s3: Any, start_simulator: Callable[..., Simulator]
) -> None:
    # Given a project with batches b1 and b2, and a request for b1, "nope" and b2
    simulator = start_simulator(sample_catalog(PROJECT, {"b1": 12, "b2": 8}, 0))
    client = PlaymentClient(simulator.api_url, API_KEY)
    store = ResultStore(S3Storage(s3, BUCKET), "")
    records = RunRecords(S3Storage(s3, BUCKET), "unknown-batch")
    request = ExportRequest.from_input({"project_id": PROJECT, "batch_ids": ["b1", "nope", "b2"]})
    # When the export is planned
    summary = list_export_pages(
        client, store, records, request, ListingOptions(max_concurrency=4, started_at=now())
    )
    store.close()
    client.close()
    # Then both known batches are in the manifest, whole
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=summary.manifest_key)["Body"].read())
    assert Counter(page["batch_id"] for page in manifest for _ in page["job_ids"]) == {
        "b1": 12,
        "b2": 8,
    }
    assert summary.cursor is None
    # And the unknown one is settled as one failed entry that names it, with no job ID
    (settled,) = records.read_settled(0)
    assert settled.batch_id == "nope"
    (entry,) = settled.outcomes
    assert (entry.job_id, entry.status, entry.error_code) == ("", "failed", BATCH_NOT_FOUND)
    assert entry.message == "batch 'nope' not found in project 'p1' (Playment: Batch not found)"
    # (counted as one, as the report counts it)
    assert summary.jobs_listed == 21


def test_a_project_playment_does_not_know_fails_the_listing_naming_it(
    s3: Any, start_simulator: Callable[..., Simulator]
) -> None:
    # Given a request for a batch of a project the API does not know
    simulator = start_simulator(sample_catalog(PROJECT, {"b1": 3}, 0))
    client = PlaymentClient(simulator.api_url, API_KEY)
    store = ResultStore(S3Storage(s3, BUCKET), "")
    request = ExportRequest.from_input({"project_id": "nope", "batch_ids": ["b1", "b2"]})
    # When the export is planned / Then it fails on the first batch, naming the project
    with pytest.raises(PlaymentApiError) as raised:
        list_export_pages(
            client,
            store,
            RunRecords(S3Storage(s3, BUCKET), "x"),
            request,
            ListingOptions(max_concurrency=4, started_at=now()),
        )
    store.close()
    client.close()
    assert raised.value.code == PROJECT_NOT_FOUND
    assert "'nope'" in raised.value.message
    assert simulator.stats.requests["list"] == 1


def test_reading_the_project_details_stops_at_the_deadline(
    s3: Any, start_simulator: Callable[..., Simulator]
) -> None:
    # Given project details that always answer 503, and a deadline half a second away
    faults = FaultPlan(permanent={("details", PROJECT): "503"})
    simulator = start_simulator(sample_catalog(PROJECT, {"b1": 3}), faults=faults)
    fast = RetrySettings(window=30, initial_wait=0.01, max_wait=0.05)
    client = PlaymentClient(simulator.api_url, API_KEY, retry=fast, sleep=lambda _: None)
    store = ResultStore(S3Storage(s3, BUCKET), "")
    request = ExportRequest.from_input({"project_id": PROJECT, "all_batches": True})
    started = time.monotonic()
    # When every batch of the project is planned / Then it gives up at the deadline
    with pytest.raises(TransientError):
        list_export_pages(
            client,
            store,
            RunRecords(S3Storage(s3, BUCKET), "late"),
            request,
            ListingOptions(max_concurrency=4, started_at=now(), deadline=started + 0.5),
        )
    store.close()
    client.close()
    assert time.monotonic() - started < 10


def jobs_of(count: int) -> tuple[SimJob, ...]:
    return tuple(SimJob(f"ok-{n}") for n in range(count))


def batch_jobs(catalog: Catalog, batch_id: str) -> Sequence[SimJob]:
    batch = catalog.batch(PROJECT, batch_id)
    assert batch is not None
    return tuple(batch.jobs)


def list_in_steps(
    client: PlaymentClient,
    store: ResultStore,
    records: RunRecords,
    request: ExportRequest,
    *,
    step_jobs: int,
    between_steps: Callable[[ListingSummary], None] = lambda _: None,
) -> list[ListingSummary]:
    """Every listing step of an export, as the state machine's loop runs them."""
    steps: list[ListingSummary] = []
    started = now()
    cursor = None
    while len(steps) < 100:
        summary = list_export_pages(
            client,
            store,
            records,
            request,
            ListingOptions(max_concurrency=4, started_at=started, step_jobs=step_jobs),
            cursor=cursor,
        )
        steps.append(summary)
        if summary.cursor is None:
            return steps
        between_steps(summary)
        cursor = summary.cursor
    raise AssertionError("the listing never ended")


def manifests(records: RunRecords, steps: list[ListingSummary]) -> list[Any]:
    return [page for step in steps for page in records.read_manifest(step.chunk)]


def settled(records: RunRecords, steps: list[ListingSummary]) -> list[str]:
    return [
        job.job_id
        for step in steps
        for outcome in records.read_settled(step.chunk)
        for job in outcome.outcomes
    ]


def export_as_this_execution(s3: Any, records: RunRecords) -> Callable[[ListingSummary], None]:
    """What the Map does between two listing steps: write each listed job's result, marked
    with the execution that planned it (as FetchResult does)."""

    def write(step: ListingSummary) -> None:
        for page in records.read_manifest(step.chunk):
            for job_id in page.job_ids:
                s3.put_object(
                    Bucket=BUCKET,
                    Key=f"{page.batch_id}/{job_id}.json",
                    Body=b"{}",
                    Metadata={"export-execution": records.execution},
                )

    return write


def test_steps_stop_at_their_bound_and_resume_at_the_cursor(
    s3: Any, start_simulator: Callable[..., Simulator]
) -> None:
    # Given three batches of 25, 7 and 40 jobs (every 9th not completed), listed 10 a page,
    # and listing steps of 30 jobs
    catalog = sample_catalog(PROJECT, {"b1": 25, "b2": 7, "b3": 40}, not_completed_every=9)
    simulator = start_simulator(catalog, page_size=10)
    client = PlaymentClient(simulator.api_url, API_KEY)
    store = ResultStore(S3Storage(s3, BUCKET), "")
    records = RunRecords(S3Storage(s3, BUCKET), "steps")
    request = ExportRequest.from_input({"project_id": PROJECT, "batch_ids": ["b1", "b2", "b3"]})
    # When the export is listed step by step
    steps = list_in_steps(client, store, records, request, step_jobs=30)
    store.close()
    client.close()
    # Then each step stopped at the first page boundary at or past its bound (b1's 25 and
    # b2's 7; then three pages of b3; then its last), and one step carried a page token of
    # b3 into the next
    assert [step.jobs_listed for step in steps] == [32, 30, 10]
    assert any(step.cursor is not None and step.cursor.page_token for step in steps)
    assert [step.chunk for step in steps] == [0, 1, 2]
    # And every completed job is in exactly one manifest page, every other job settled once,
    # and each page of the API was read once
    pages = manifests(records, steps)
    jobs = [job for b in ("b1", "b2", "b3") for job in batch_jobs(catalog, b)]
    expected = [job.id for job in jobs]
    completed = [job.id for job in jobs if job.status == "completed"]
    assert job_ids([page.model_dump() for page in pages]) == completed
    assert sorted(settled(records, steps) + completed) == sorted(expected)
    assert [page.page for page in pages] == list(range(len(pages)))
    assert simulator.stats.requests["list"] == 3 + 1 + 4


def test_a_refused_token_lists_the_batch_again_and_counts_each_job_once(
    s3: Any, start_simulator: Callable[..., Simulator]
) -> None:
    # Given a batch of 60 jobs listed 10 a page, every 10th not completed (the last one the
    # first step counts among them), steps of 30 jobs, and Playment refusing the page token
    # the first step carries into the second
    from playment_simulator.paging import TOKEN_BASE

    catalog = sample_catalog(PROJECT, {"b1": 60}, not_completed_every=10)
    refused = FaultPlan(scripted={("list", f"b1@{TOKEN_BASE + 30}"): ["token_refused"]})
    simulator = start_simulator(catalog, page_size=10, faults=refused)
    client = PlaymentClient(simulator.api_url, API_KEY)
    store = ResultStore(S3Storage(s3, BUCKET), "")
    records = RunRecords(S3Storage(s3, BUCKET), "refused")
    request = ExportRequest.from_input({"project_id": PROJECT, "batch_id": "b1"})
    # When it is listed step by step, the first chunk exported between the steps
    steps = list_in_steps(
        client,
        store,
        records,
        request,
        step_jobs=30,
        between_steps=export_as_this_execution(s3, records),
    )
    store.close()
    client.close()
    # Then the token was refused once, and the batch was listed again from its first page
    assert simulator.stats.faults == {"token_refused": 1}
    # And every completed job is fetched once, and every job counted once
    jobs = batch_jobs(catalog, "b1")
    completed = [job.id for job in jobs if job.status == "completed"]
    assert sorted(job_ids([p.model_dump() for p in manifests(records, steps)])) == completed
    assert sorted(settled(records, steps)) == sorted(
        job.id for job in jobs if job.status != "completed"
    )
    assert sum(step.jobs_listed for step in steps) == 60


def test_a_job_listed_again_in_a_later_step_is_neither_fetched_nor_counted_again(
    s3: Any,
) -> None:
    # Given a listing whose second page repeats a job of the first, steps of one page, and a
    # job "z" exported by an earlier run
    done = "completed"
    pages = [
        [ListedJob(id="a", status=done), ListedJob(id="b", status=done)],
        [ListedJob(id="b", status=done), ListedJob(id="c", status=done)],
        [ListedJob(id="z", status=done)],
    ]
    s3.put_object(Bucket=BUCKET, Key="b1/z.json", Body=b"{}", Metadata={"export-execution": "x"})
    client = cast(PlaymentClient, ShiftingListing(pages))
    store = ResultStore(S3Storage(s3, BUCKET), "")
    records = RunRecords(S3Storage(s3, BUCKET), "twice")
    request = ExportRequest.from_input({"project_id": PROJECT, "batch_id": "b1"})
    # When it is listed step by step, each chunk exported between the steps
    steps = list_in_steps(
        client, store, records, request, step_jobs=2,
        between_steps=export_as_this_execution(s3, records),
    )  # fmt: skip
    store.close()
    # Then "b" is fetched once and counted once; "z" is settled as already exported
    assert [[p.job_ids for p in records.read_manifest(s.chunk)] for s in steps] == [
        [["a", "b"]],
        [["c"]],
        [],
    ]
    assert [step.jobs_listed for step in steps] == [2, 1, 1]
    assert settled(records, steps) == ["z"]


def test_carried_tokens_refused_again_and_again_end_the_listing(
    s3: Any, start_simulator: Callable[..., Simulator]
) -> None:
    # Given Playment refusing every carried page token of a batch
    from playment_simulator.paging import TOKEN_BASE

    refused = FaultPlan(permanent={("list", f"b1@{TOKEN_BASE + 10}"): "token_refused"})
    simulator = start_simulator(sample_catalog(PROJECT, {"b1": 30}), page_size=10, faults=refused)
    client = PlaymentClient(simulator.api_url, API_KEY)
    store = ResultStore(S3Storage(s3, BUCKET), "")
    request = ExportRequest.from_input({"project_id": PROJECT, "batch_id": "b1"})
    # When it is listed in steps of one page / Then it gives up after a few fresh starts,
    # naming the batch, rather than listing forever
    with pytest.raises(PlaymentApiError) as raised:
        list_in_steps(
            client, store, RunRecords(S3Storage(s3, BUCKET), "stuck"), request, step_jobs=10
        )
    store.close()
    client.close()
    # And it has tried the first token and MAX_TOKEN_RESTARTS fresh starts, each refused,
    # and says how many times, as Playment's own refusal code
    assert simulator.stats.faults == {"token_refused": MAX_TOKEN_RESTARTS + 1}
    assert raised.value.code == REFUSED_TOKEN_CODE
    assert raised.value.message == (
        f"batch b1: Playment refused a page token {MAX_TOKEN_RESTARTS + 1} times; "
        "listing it again from its first page did not help"
    )


def test_a_token_refused_within_a_step_lists_the_batch_again_in_that_step(
    s3: Any, start_simulator: Callable[..., Simulator]
) -> None:
    # Given a batch of 30 jobs listed 10 a page, and Playment refusing its second page's
    # token once
    from playment_simulator.paging import TOKEN_BASE

    catalog = sample_catalog(PROJECT, {"b1": 30})
    refused = FaultPlan(scripted={("list", f"b1@{TOKEN_BASE + 10}"): ["token_refused"]})
    simulator = start_simulator(catalog, page_size=10, faults=refused)
    client = PlaymentClient(simulator.api_url, API_KEY)
    store = ResultStore(S3Storage(s3, BUCKET), "")
    records = RunRecords(S3Storage(s3, BUCKET), "once")
    request = ExportRequest.from_input({"project_id": PROJECT, "batch_id": "b1"})
    # When it is listed in one step
    steps = list_in_steps(client, store, records, request, step_jobs=1_000)
    store.close()
    client.close()
    # Then the step starts the batch again (its first page's token is no repeat) and lists
    # every job once
    assert simulator.stats.faults == {"token_refused": 1}
    assert len(steps) == 1
    jobs = batch_jobs(catalog, "b1")
    fetched = job_ids([p.model_dump() for p in manifests(records, steps)])
    assert fetched == [job.id for job in jobs if job.status == "completed"]
    assert sorted(fetched + settled(records, steps)) == sorted(job.id for job in jobs)
    assert steps[0].jobs_listed == 30


class FailingListing:
    """A client whose batch b1 has one page of two jobs and a second page that fails with
    ``error``; each request's token is kept."""

    def __init__(self, error: PlaymentApiError, failing_token: str) -> None:
        self.error = error
        self.failing_token = failing_token
        self.tokens: list[str] = []

    def list_batch_page(self, project_id: str, batch_id: str, token: str, **_: Any) -> BatchPage:
        self.tokens.append(token)
        if token == self.failing_token:
            raise self.error
        jobs = [ListedJob(id="a", status="completed"), ListedJob(id="b", status="completed")]
        return BatchPage(jobs=jobs, next_page_token="2")


@pytest.mark.parametrize(
    ("code", "failing_token"),
    [
        pytest.param("FS_0004", "2", id="another-error-on-a-carried-token"),
        pytest.param(REFUSED_TOKEN_CODE, "", id="refused-without-a-token"),
    ],
)
def test_only_a_refused_carried_token_starts_the_batch_again(
    s3: Any, code: str, failing_token: str
) -> None:
    # Given Playment failing a request of batch b1 with an error that is not a refused
    # carried token
    error = PlaymentApiError(code, "Playment says no", status=400)
    client = FailingListing(error, failing_token)
    store = ResultStore(S3Storage(s3, BUCKET), "")
    records = RunRecords(S3Storage(s3, BUCKET), "failing")
    request = ExportRequest.from_input({"project_id": PROJECT, "batch_id": "b1"})
    # When the batch is listed / Then Playment's own error ends the listing, at once: the
    # batch is not started again
    with pytest.raises(PlaymentApiError) as raised:
        list_in_steps(cast(PlaymentClient, client), store, records, request, step_jobs=1_000)
    store.close()
    assert raised.value is error
    assert client.tokens.count(failing_token) == 1


class ReopenedAfterRefusal:
    """A client whose batch has two pages, whose carried token is refused once, and whose
    first page has moved on when it is listed again: job "a", not completed at first, is
    completed by then."""

    def __init__(self) -> None:
        self.refused = False

    def list_batch_page(self, project_id: str, batch_id: str, token: str, **_: Any) -> BatchPage:
        if token == "1" and not self.refused:
            self.refused = True
            raise PlaymentApiError(REFUSED_TOKEN_CODE, "Invalid pageToken provided", status=400)
        if token == "1":
            return BatchPage(jobs=[ListedJob(id="c", status="completed")])
        status = "completed" if self.refused else "in_progress"
        first = [ListedJob(id="a", status=status), ListedJob(id="../bad", status="completed")]
        return BatchPage(jobs=first, next_page_token="1")


def test_a_job_completed_by_the_time_its_batch_is_listed_again_is_fetched_once(
    s3: Any,
) -> None:
    # Given a batch listed in steps of two jobs, whose first page holds job "a" (not
    # completed yet) and a job whose ID is not a safe key, and whose carried token is refused
    # once, after which "a" is listed again as completed
    store = ResultStore(S3Storage(s3, BUCKET), "")
    records = RunRecords(S3Storage(s3, BUCKET), "reopened")
    request = ExportRequest.from_input({"project_id": PROJECT, "batch_id": "b1"})
    client = cast(PlaymentClient, ReopenedAfterRefusal())
    # When it is listed step by step
    steps = list_in_steps(client, store, records, request, step_jobs=2)
    store.close()
    # Then "a" is fetched now that it is completed, without being counted twice; the bad
    # ID is failed once and never fetched
    assert job_ids([p.model_dump() for p in manifests(records, steps)]) == ["a", "c"]
    outcomes = [
        (job.job_id, job.status.value)
        for step in steps
        for outcome in records.read_settled(step.chunk)
        for job in outcome.outcomes
    ]
    assert outcomes == [("a", "skipped"), ("../bad", "failed")]
    assert sum(step.jobs_listed for step in steps) == 3


class ProjectWithDetails:
    """A client whose project details are given, and whose every batch lists one job."""

    def __init__(self, batches: list[ProjectBatch]) -> None:
        self.batches = batches
        self.listed: list[str] = []

    def get_project_details(self, project_id: str, **_: Any) -> ProjectDetails:
        return ProjectDetails(batches=self.batches)

    def list_batch_page(self, project_id: str, batch_id: str, token: str, **_: Any) -> BatchPage:
        self.listed.append(batch_id)
        return BatchPage(jobs=[ListedJob(id=f"{batch_id}-j", status="completed")])


def details(batch_id: str, completed: int = 5, **changes: Any) -> ProjectBatch:
    fields = {"total_jobs": 9, "completed_jobs": completed, "completed_frames": completed}
    return ProjectBatch(
        id=batch_id, **{**fields, "annotations": 40, "status": "Complete", **changes}
    )


@pytest.mark.parametrize(
    ("later", "now_details", "listed"),
    [
        (timedelta(days=1), [details("a"), details("b")], []),
        (timedelta(days=1), [details("a", completed=6), details("b")], ["a"]),
        (timedelta(days=1), [details("a"), details("b", status="In progress")], ["b"]),
        (timedelta(days=7), [details("a"), details("b")], ["a", "b"]),
    ],
    ids=["unchanged", "more-completed", "status-changed", "full-listing-due"],
)
def test_only_batches_that_changed_or_are_due_are_listed_again(
    s3: Any, later: timedelta, now_details: list[ProjectBatch], listed: list[str]
) -> None:
    # Given batches a and b recorded clean by a run a while ago, with their details then
    first_run = now() - later
    history = BatchHistory(S3Storage(s3, BUCKET), PROJECT)
    history.write(
        {
            batch.id: BatchRecord(fingerprint=batch.fingerprint(), listed_at=first_run)
            for batch in (details("a"), details("b"))
        }
    )
    client = ProjectWithDetails(now_details)
    store = ResultStore(S3Storage(s3, BUCKET), "")
    records = RunRecords(S3Storage(s3, BUCKET), "scheduled")
    request = ExportRequest.from_input({"project_id": PROJECT, "all_batches": True})
    # When every batch is planned now, with the default seven days between full listings
    list_export_pages(
        cast(PlaymentClient, client),
        store,
        records,
        request,
        ListingOptions(max_concurrency=4, started_at=now(), history=history),
    )
    store.close()
    # Then only the batches whose details changed, or whose full listing is due, are listed
    assert client.listed == listed
    plan = records.read_batch_plan()
    assert plan.batch_ids == listed
    assert sorted(plan.fingerprints) == listed
    left = {entry.batch_id for entry in plan.left_out}
    assert left == {"a", "b"} - set(listed)


class CyclingListing:
    """A client whose batch pages hand back tokens in a circle: 1, 2, then 1 again."""

    def __init__(self) -> None:
        self.requests = 0

    def list_batch_page(self, project_id: str, batch_id: str, token: str, **_: Any) -> BatchPage:
        self.requests += 1
        following = {"": "1", "1": "2", "2": "1"}[token]
        job = ListedJob(id=f"j{self.requests}", status="completed")
        return BatchPage(jobs=[job], next_page_token=following)


def test_a_page_token_that_comes_back_ends_the_listing_instead_of_looping(s3: Any) -> None:
    # Given a batch whose page tokens go round in a circle
    client = CyclingListing()
    store = ResultStore(S3Storage(s3, BUCKET), "")
    request = ExportRequest.from_input({"project_id": PROJECT, "batch_id": "b1"})
    # When it is listed / Then the listing stops with repeated_page_token, naming the batch,
    # after three pages, rather than paging forever
    with pytest.raises(PlaymentApiError, match="batch b1: page token '1' came back twice"):
        list_export_pages(
            cast(PlaymentClient, client),
            store,
            RunRecords(S3Storage(s3, BUCKET), "cycle"),
            request,
            ListingOptions(max_concurrency=4, started_at=now()),
        )
    store.close()
    assert client.requests == 3


def test_a_last_page_that_hands_back_its_own_token_ends_the_listing(
    s3: Any, start_simulator: Callable[..., Simulator]
) -> None:
    # Given a server whose last page hands back the token that asked for it
    catalog = sample_catalog(PROJECT, {"b1": 250}, last_page_tokens=("repeat",))
    simulator = start_simulator(catalog)
    client = PlaymentClient(simulator.api_url, API_KEY)
    store = ResultStore(S3Storage(s3, BUCKET), "")
    request = ExportRequest.from_input({"project_id": PROJECT, "batch_id": "b1"})
    # When the batch is listed / Then it stops with repeated_page_token after three pages
    with pytest.raises(PlaymentApiError) as raised:
        list_export_pages(
            client,
            store,
            RunRecords(S3Storage(s3, BUCKET), "repeat"),
            request,
            ListingOptions(max_concurrency=4, started_at=now()),
        )
    store.close()
    client.close()
    assert raised.value.code == "repeated_page_token"
    assert simulator.stats.requests["list"] == 3


def snapshot(s3: Any) -> dict[str, bytes]:
    """Every run record in the bucket (all a listing step writes), by key, to compare."""
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix="_exports/")
    keys = [item["Key"] for item in listing.get("Contents", [])]
    return {key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in keys}


def run_twice(s3: Any, step: Callable[[], ListingSummary]) -> ListingSummary:
    """Run a listing step, then again on the same input, as Step Functions retries one that
    crashed or timed out; assert the second changed nothing, and return the summary."""
    once = step()
    written = snapshot(s3)
    again = step()
    assert snapshot(s3) == written
    assert again == once
    return again


def test_each_listing_step_run_twice_writes_and_returns_the_same(
    s3: Any, start_simulator: Callable[..., Simulator]
) -> None:
    # Given three batches listed 10 a page in steps of 30 jobs (every 9th not completed),
    # every 5th job of b1 and b3 exported by an earlier run
    catalog = sample_catalog(PROJECT, {"b1": 25, "b2": 7, "b3": 40}, not_completed_every=9)
    for batch_id in ("b1", "b3"):
        for job in batch_jobs(catalog, batch_id)[::5]:
            s3.put_object(Bucket=BUCKET, Key=f"{batch_id}/{job.id}.json", Body=b"{}")
    simulator = start_simulator(catalog, page_size=10)
    client = PlaymentClient(simulator.api_url, API_KEY)
    store = ResultStore(S3Storage(s3, BUCKET), "")
    records = RunRecords(S3Storage(s3, BUCKET), "twice-each")
    request = ExportRequest.from_input({"project_id": PROJECT, "batch_ids": ["b1", "b2", "b3"]})
    started = now() + timedelta(seconds=1)

    def step(cursor: ListingCursor | None) -> Callable[[], ListingSummary]:
        return lambda: list_export_pages(
            client,
            store,
            records,
            request,
            ListingOptions(max_concurrency=4, started_at=started, step_jobs=30),
            cursor=cursor,
        )

    # When the first step runs twice, then the next one (which carries a page token of b3
    # from the first... of b3's pages) twice / Then each second run wrote and returned
    # exactly what the first did (run_twice)
    first = run_twice(s3, step(None))
    assert first.cursor is not None
    second = run_twice(s3, step(first.cursor))
    store.close()
    client.close()
    # And the steps did their work: settled jobs of both kinds, and a page token carried on
    assert second.cursor is not None
    assert second.cursor.page_token
    reasons = {
        job.reason
        for chunk in (first.chunk, second.chunk)
        for outcome in records.read_settled(chunk)
        for job in outcome.outcomes
    }
    assert reasons == {"not_completed", "already_exported"}
    assert first.pages > 0
    assert second.pages > 0


def clock_of_lists(s3: Any) -> tuple[CountCalls, Callable[[], float]]:
    """A step's clock that only S3's LISTs move on, 100 s each (from now: the Playment
    client's retries keep to the real one)."""
    lists = CountCalls(s3, "ListObjectsV2")
    begun = time.monotonic()
    return lists, lambda: begun + 100 * lists.calls


@pytest.fixture
def sparse_batch(
    s3: Any, start_simulator: Callable[..., Simulator], put_many: Callable[[Iterable[str]], None]
) -> tuple[Simulator, list[SimJob]]:
    """Batch b1 of 12 jobs listed 4 a page, every 4th not completed; 5 of its 9 completed
    jobs exported by an earlier run; and after each job's key, a thousand results of other
    jobs, so that the "already exported" pass costs a LIST per job (IDs sparse in the batch)."""
    catalog = sample_catalog(PROJECT, {"b1": 12}, not_completed_every=4)
    jobs = list(batch_jobs(catalog, "b1"))
    completed = [job.id for job in jobs if job.status == "completed"]
    for job_id in completed[::2]:
        s3.put_object(
            Bucket=BUCKET, Key=f"b1/{job_id}.json", Body=b"{}", Metadata={"export-execution": "x"}
        )
    put_many(f"b1/{job.id}_{n:03d}.json" for job in jobs for n in range(1_000))
    return start_simulator(catalog, page_size=4), jobs


def test_a_step_stops_at_its_deadline_in_the_already_exported_pass_and_the_next_resumes(
    s3: Any, sparse_batch: tuple[Simulator, list[SimJob]]
) -> None:
    # Given the sparse batch, and a clock that each of S3's LISTs moves on by 100 s, with the
    # step's deadline 450 s away (an execution that started after the earlier run)
    simulator, jobs = sparse_batch
    client = PlaymentClient(simulator.api_url, API_KEY)
    store = ResultStore(S3Storage(s3, BUCKET), "")
    records = RunRecords(S3Storage(s3, BUCKET), "late-pass")
    request = ExportRequest.from_input({"project_id": PROJECT, "batch_id": "b1"})
    lists, clock = clock_of_lists(s3)
    begun = clock()
    started = now() + timedelta(seconds=1)
    # When the first step runs: its listing takes no LIST, its pass one per completed job
    first = list_export_pages(
        client,
        store,
        records,
        request,
        ListingOptions(max_concurrency=4, started_at=started, deadline=begun + 450, clock=clock),
    )
    # Then its pass stopped at the deadline: five LISTs, none begun after it, four of the
    # nine completed jobs left for the next step, which the cursor names
    assert lists.calls == 5
    assert first.jobs_unsettled == 4
    assert first.cursor is not None
    assert first.cursor.unsettled_chunk == 0
    # When the next step runs, without a deadline
    second = list_export_pages(
        client,
        store,
        records,
        request,
        ListingOptions(max_concurrency=4, started_at=started, clock=clock),
        cursor=first.cursor,
    )
    store.close()
    client.close()
    # Then it settled those four, asking S3 about each job once in all, and the listing ended
    assert lists.calls == 9
    assert (second.jobs_unsettled, second.cursor) == (0, None)
    # And every job is counted exactly once: fetched, or settled with its reason
    steps = [first, second]
    fetched = job_ids([page.model_dump() for page in manifests(records, steps)])
    assert sorted(fetched + settled(records, steps)) == sorted(job.id for job in jobs)
    assert sum(step.jobs_listed for step in steps) == len(jobs) == 12
    reasons = Counter(
        job.reason
        for step in steps
        for outcome in records.read_settled(step.chunk)
        for job in outcome.outcomes
    )
    assert reasons == {"not_completed": 3, "already_exported": 5}
    assert len(fetched) == 4


def test_the_step_that_settles_what_another_left_run_twice_writes_and_returns_the_same(
    s3: Any, sparse_batch: tuple[Simulator, list[SimJob]]
) -> None:
    # Given the sparse batch, and a first step whose pass met its deadline after one LIST
    simulator, _ = sparse_batch
    client = PlaymentClient(simulator.api_url, API_KEY)
    store = ResultStore(S3Storage(s3, BUCKET), "")
    records = RunRecords(S3Storage(s3, BUCKET), "resume-twice")
    request = ExportRequest.from_input({"project_id": PROJECT, "batch_id": "b1"})
    started = now() + timedelta(seconds=1)
    _, clock = clock_of_lists(s3)
    first = list_export_pages(
        client,
        store,
        records,
        request,
        ListingOptions(max_concurrency=4, started_at=started, deadline=clock() + 50, clock=clock),
    )
    assert first.jobs_unsettled == 8
    # When the next step, which settles those eight, runs twice / Then the second run wrote
    # and returned exactly what the first did
    second = run_twice(
        s3,
        lambda: list_export_pages(
            client,
            store,
            records,
            request,
            ListingOptions(max_concurrency=4, started_at=started),
            cursor=first.cursor,
        ),
    )
    store.close()
    client.close()
    assert (second.jobs_unsettled, second.cursor) == (0, None)


def test_batches_the_pass_did_not_reach_by_the_deadline_go_to_the_next_step(
    s3: Any, start_simulator: Callable[..., Simulator]
) -> None:
    # Given two batches of three completed jobs, none exported yet (a LIST each), and a
    # clock that each LIST moves on by 100 s, with the step's deadline 50 s away
    catalog = sample_catalog(PROJECT, {"b1": 3, "b2": 3}, not_completed_every=0)
    simulator = start_simulator(catalog)
    client = PlaymentClient(simulator.api_url, API_KEY)
    store = ResultStore(S3Storage(s3, BUCKET), "")
    records = RunRecords(S3Storage(s3, BUCKET), "late-batches")
    request = ExportRequest.from_input({"project_id": PROJECT, "batch_ids": ["b1", "b2"]})
    lists, clock = clock_of_lists(s3)
    started = now()
    # When the first step runs
    first = list_export_pages(
        client,
        store,
        records,
        request,
        ListingOptions(max_concurrency=4, started_at=started, deadline=clock() + 50, clock=clock),
    )
    # Then its pass asked about b1 (the first LIST is always made) and left b2 for the next
    # step, uncounted
    assert lists.calls == 1
    assert [page.job_ids for page in records.read_manifest(0)] == [
        [job.id for job in batch_jobs(catalog, "b1")]
    ]
    assert [(u.batch_id, len(u.job_ids)) for u in records.read_unsettled(0)] == [("b2", 3)]
    assert (first.jobs_listed, first.jobs_unsettled) == (3, 3)
    # When the next step runs / Then it plans b2's jobs, with one more LIST, and ends
    second = list_export_pages(
        client,
        store,
        records,
        request,
        ListingOptions(max_concurrency=4, started_at=started),
        cursor=first.cursor,
    )
    store.close()
    client.close()
    assert lists.calls == 2
    assert [page.job_ids for page in records.read_manifest(1)] == [
        [job.id for job in batch_jobs(catalog, "b2")]
    ]
    assert (second.jobs_listed, second.cursor) == (3, None)


def test_asking_which_execution_wrote_a_result_waits_for_the_next_step_past_the_deadline(
    s3: Any,
) -> None:
    # Given a batch whose two jobs this execution exported already (listed again: results
    # written since it started, with its name), and a clock that each LIST moves on by
    # 100 s, the step's deadline 50 s away
    pages = [[ListedJob(id="a", status="completed"), ListedJob(id="b", status="completed")]]
    for job_id in ("a", "b"):
        s3.put_object(
            Bucket=BUCKET, Key=f"b1/{job_id}.json", Body=b"{}", Metadata={"export-execution": "own"}
        )
    client = cast(PlaymentClient, ShiftingListing(pages))
    store = ResultStore(S3Storage(s3, BUCKET), "")
    records = RunRecords(S3Storage(s3, BUCKET), "own")
    request = ExportRequest.from_input({"project_id": PROJECT, "batch_id": "b1"})
    heads = CountCalls(s3, "HeadObject")
    _, clock = clock_of_lists(s3)
    started = now() - timedelta(minutes=1)
    # When the first step runs
    first = list_export_pages(
        client,
        store,
        records,
        request,
        ListingOptions(max_concurrency=4, started_at=started, deadline=clock() + 50, clock=clock),
    )
    # Then its one LIST found both results, but the HEAD that says whose they are was left,
    # with the jobs, to the next step
    assert (heads.calls, first.jobs_unsettled, first.jobs_listed) == (0, 2, 0)
    # When the next step runs / Then it asks, finds both this execution's, and counts
    # neither again
    second = list_export_pages(
        client,
        store,
        records,
        request,
        ListingOptions(max_concurrency=4, started_at=started),
        cursor=first.cursor,
    )
    store.close()
    assert heads.calls == 2
    assert (second.jobs_listed, second.pages, second.jobs_settled, second.cursor) == (0, 0, 0, None)
