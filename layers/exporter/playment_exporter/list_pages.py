"""Plan an export in bounded steps: each step lists the next chunk of jobs and writes its
manifest, so that no invocation's time or memory grows with the batch or the project.

The state machine loops: a listing step, then a distributed Map over that step's chunk, then
the next listing step, until the cursor comes back empty. A step stops after ``step_jobs``
listed jobs or at its deadline; the cursor (batch, page token, position) says where the next
one resumes. The first step writes the export's batch plan (``batches.json``): with
``all_batches``, the project's batches from its details, less those with no completed jobs.
A step (``ListingStep.run``) reads as the state machine names its work: plan, list to a
bound, settle the exported, cut pages, write; what it found is ``listing_chunk.Chunk``'s.

Jobs that need no call are settled here, from the listing alone: a job the list shows as not
completed, a job already exported (unless overwriting), a job whose ID is not a safe key. A
job this execution has already exported (listed twice across steps, or listed again after a
refused token) is dropped, neither fetched nor counted again: S3 says when each result was
written (``ResultStore.exported_among``), and one written since the execution started is ours.

A batch Playment does not know (in a project it knows) is settled as one failed entry with
code ``batch_not_found`` (its job ID empty), and the listing goes on with the other batches:
they are exported, and the export ends incomplete, naming the batch. A project it does not
know fails the step: nothing of it can be exported.

The step's deadline covers all of its work. The listing stops at it; so does the "already
exported" pass that follows, which asks S3 about the step's jobs all at once, sorted (one LIST
per thousand keys, or per job when the IDs are sparse among the batch's results: settling page
by page would cost a LIST per page at least, and with IDs in no particular order, a LIST per
job). Completed jobs the pass did not reach are written to ``unsettled/<chunk>.json`` and the
cursor names that chunk: the next step settles them first. What remains after the deadline are
the step's few writes, whose time the caller keeps in reserve. A job is counted once it is
settled or planned for fetching, by the step that does so.

A page token carried from one step to the next is not documented to stay valid. If Playment
refuses it, the batch is listed again from its first page; the jobs before the refused
position were counted already and are only fetched if they have no result yet.
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel

from playment_exporter.batch_history import BatchHistory
from playment_exporter.defaults import FULL_LISTING_DAYS, LISTING_STEP_JOBS
from playment_exporter.errors import BATCH_NOT_FOUND, InvalidInput, PlaymentApiError
from playment_exporter.export_request import ExportRequest
from playment_exporter.ids import validate_id
from playment_exporter.listing_chunk import Chunk, deadline_passed
from playment_exporter.outcomes import JobPage
from playment_exporter.playment_client import PlaymentClient, repeated_token
from playment_exporter.result_store import ResultStore
from playment_exporter.run_records import BatchPlan, LeftOutBatch, RunRecords

PAGE_SIZE = 250
MIN_PAGE_SIZE = 10
MAX_TOKEN_RESTARTS = 3  # a batch whose carried tokens keep being refused fails after this
REFUSED_TOKEN_CODE = "invalid_request_error"  # noqa: S105 - an error code: a refused page token


def page_size_for(jobs_to_fetch: int, max_concurrency: int) -> int:
    """Jobs per manifest page, one number for a listing step's chunk: enough pages to keep
    every child the Map may run busy, within ``MIN_PAGE_SIZE`` and ``PAGE_SIZE``.

    Pages of ``PAGE_SIZE`` leave a small export mostly idle (400 jobs: 2 pages for 40 allowed
    children), so below ``PAGE_SIZE * max_concurrency`` jobs the pages shrink to one per
    child. The floor is there because a page costs the same whatever its size: a child
    workflow (2 billed transitions), a Lambda invoke and an outcome PUT, about $0.000055 at
    us-east-1 list prices, plus their latency. At 10 jobs that is about one more result PUT
    ($0.000005) per job, and a page still fills the default ``PageWorkers`` (8) threads;
    smaller pages would pay mostly for overhead. Large exports keep ``PAGE_SIZE``, the
    cheapest per job: at 250 the per-page costs come to $0.22 per million jobs (at 100 they
    were $0.55), and a page of 250 still takes a FetchResult call well under its timeout
    (about 250 / PageWorkers x the time per job, with the page's deadline as the backstop).
    """
    if jobs_to_fetch < 0:
        raise ValueError(f"jobs_to_fetch must not be negative, got {jobs_to_fetch}")
    if max_concurrency < 1:
        raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
    one_page_per_child = -(-jobs_to_fetch // max_concurrency)  # ceil, in integers
    return max(MIN_PAGE_SIZE, min(PAGE_SIZE, one_page_per_child))


class ListingCursor(BaseModel):
    """Where the listing stands between steps: small, carried in the execution's state."""

    batch_index: int = 0  # into the batch plan
    page_token: str = ""  # of that batch's next page ("" for its first)
    listed_in_batch: int = 0  # jobs of that batch listed so far, in Playment's order
    replay_until: int = 0  # after a refused token: jobs counted already, not settled again
    restarts: int = 0  # refused tokens in this batch so far
    chunk: int = 0  # the next step's chunk number
    next_page: int = 0  # the next manifest page's number: unique in the execution
    unsettled_chunk: int | None = None  # the chunk whose unsettled jobs the next step settles

    def next_batch(self) -> "ListingCursor":
        return self.model_copy(
            update={
                "batch_index": self.batch_index + 1,
                "page_token": "",
                "listed_in_batch": 0,
                "replay_until": 0,
                "restarts": 0,
            }
        )

    def restart_batch(self) -> "ListingCursor":
        return self.model_copy(
            update={
                "page_token": "",
                "listed_in_batch": 0,
                "replay_until": max(self.replay_until, self.listed_in_batch),
                "restarts": self.restarts + 1,
            }
        )


class ListingSummary(BaseModel):
    """A listing step's result, which the state machine carries to the Map and the report.

    ``cursor`` is where the next step resumes; ``None`` once every batch is listed and every
    listed job settled, and then ``chunks`` is the number of chunk manifests the report will
    read. Every field is a number or a name, whatever the size of the project or of the
    execution's input (which each step reads from the context object, not from this).
    """

    execution: str
    bucket: str
    manifest_key: str
    project_id: str
    overwrite: bool
    include_referenced: bool = False
    started_at: str
    chunk: int
    chunks: int
    cursor: ListingCursor | None
    batches: int
    pages: int
    page_size: int
    jobs_listed: int
    jobs_to_fetch: int
    jobs_settled: int
    jobs_unsettled: int = 0  # listed, left for the next step to settle (its deadline came)


@dataclass(frozen=True)
class ListingOptions:
    """What a listing step is told besides what it lists.

    ``max_concurrency`` is the Map's (``MapMaxConcurrency``): it sizes the chunk's pages.
    ``started_at`` is the execution's start: results written since are this execution's.
    With ``history``, an ``all_batches`` export leaves out the batches unchanged since a clean
    run less than ``full_listing_days`` ago (unless it overwrites or asks for a full listing).
    ``check_home`` is called by the first step (on AWS: the results bucket must be in the
    stack's region and account, ``ResultsBucketUnusable``). Listing and settling stop after
    ``step_jobs`` jobs or at ``deadline`` (a ``clock`` time); only the chunk's writes come
    after it.
    """

    max_concurrency: int
    started_at: datetime
    step_jobs: int = LISTING_STEP_JOBS
    history: BatchHistory | None = None
    full_listing_days: int = FULL_LISTING_DAYS
    deadline: float | None = None
    clock: Callable[[], float] = time.monotonic
    check_home: Callable[[], None] | None = None

    def late(self) -> bool:
        """Whether the step's deadline has come."""
        return deadline_passed(self.deadline, self.clock)


def list_export_pages(
    client: PlaymentClient,
    store: ResultStore,
    records: RunRecords,
    request: ExportRequest,
    options: ListingOptions,
    *,
    cursor: ListingCursor | None = None,
) -> ListingSummary:
    """List the next chunk of the export (the first, without a ``cursor``), settle what needs
    no call, and write the chunk's manifest and settled outcomes to S3."""
    return ListingStep(client, store, records, request, options).run(cursor)


class ListingStep:
    """One ListPages step, its parts named as the state machine's loop reads: plan the
    batches (the first step only), list to the step's bound, settle the exported, cut the
    pages, write the chunk. Each part is small enough to change on its own."""

    def __init__(
        self,
        client: PlaymentClient,
        store: ResultStore,
        records: RunRecords,
        request: ExportRequest,
        options: ListingOptions,
    ) -> None:
        self.client = client
        self.store = store
        self.records = records
        self.request = request
        self.options = options

    def run(self, cursor: ListingCursor | None = None) -> ListingSummary:
        """The step from ``cursor`` (the first, without one) to its summary."""
        if cursor is None:
            batch_ids, cursor = self.plan(), ListingCursor()
        else:
            batch_ids = self.records.read_batch_ids()
        chunk = Chunk(self.request.project_id)
        if cursor.unsettled_chunk is not None:
            chunk.carry(self.records.read_unsettled(cursor.unsettled_chunk))
        cursor = self.list_to_bound(batch_ids, chunk, cursor)
        self.settle_exported(chunk)
        pages = self.cut_pages(chunk, first=cursor.next_page)
        return self.write(chunk, pages, cursor, batches=len(batch_ids))

    def plan(self) -> list[str]:
        """Check the results bucket is usable, then write the export's batch plan: the
        batches asked for, or the project's that have completed jobs and changed since they
        were last listed clean (or are due a full listing), and those left out. The batches
        to list, in order: the rest of the plan is the report's, and need not stay in memory
        while the step lists."""
        if self.options.check_home is not None:
            self.options.check_home()
        plan = _batch_plan(self.client, self.request, self.options)
        self.records.write_batch_plan(plan)
        return plan.batch_ids

    def list_to_bound(
        self, batch_ids: list[str], chunk: Chunk, cursor: ListingCursor
    ) -> ListingCursor:
        """List pages into ``chunk`` from ``cursor`` until the step's bound or its deadline
        (the first page always, unless jobs were carried in); where the next step resumes."""
        lister = _PageLister(self.client, self.request.project_id, self.options.deadline)
        while cursor.batch_index < len(batch_ids) and chunk.requested < self.options.step_jobs:
            progressed = chunk.requested or chunk.settled_count  # a batch not found counts too
            if progressed and self.options.late():
                break
            cursor = lister.list_next_page(batch_ids[cursor.batch_index], chunk, cursor)
        return cursor

    def settle_exported(self, chunk: Chunk) -> None:
        """Skip or drop the listed jobs that have a result already; those the deadline
        leaves unreached are the next step's."""
        chunk.settle_exported(
            self.store,
            self.records.execution,
            self.options.started_at,
            overwrite=self.request.overwrite,
            deadline=self.options.deadline,
            clock=self.options.clock,
        )

    def cut_pages(self, chunk: Chunk, *, first: int) -> "_ChunkPages":
        """The chunk's jobs to fetch, in pages sized for the Map's concurrency."""
        to_fetch = chunk.to_fetch()
        jobs = sum(len(ids) for _, ids in to_fetch)
        size = page_size_for(jobs, self.options.max_concurrency)
        pages = _cut_pages(self.request.project_id, self.records.execution, to_fetch, size, first)
        return _ChunkPages(pages=pages, size=size, jobs=jobs)

    def write(
        self, chunk: Chunk, pages: "_ChunkPages", cursor: ListingCursor, *, batches: int
    ) -> ListingSummary:
        """Write the chunk's manifest, settled outcomes and unsettled jobs; the summary, with
        the cursor the next step resumes from (``None`` when the listing is done)."""
        number = cursor.chunk
        unsettled = chunk.unsettled()
        written = self.records.write_chunk(number, pages.pages, chunk.settled_outcomes(), unsettled)
        done = cursor.batch_index >= batches and not unsettled
        cursor = cursor.model_copy(
            update={
                "chunk": number + 1,
                "next_page": cursor.next_page + written,
                "unsettled_chunk": number if unsettled else None,
            }
        )
        request = self.request
        return ListingSummary(
            execution=self.records.execution,
            bucket=self.records.bucket,
            manifest_key=self.records.manifest_key(number),
            project_id=request.project_id,
            overwrite=request.overwrite,
            include_referenced=request.include_referenced,
            started_at=self.options.started_at.isoformat(),
            chunk=number,
            chunks=number + 1,
            cursor=None if done else cursor,
            batches=batches,
            pages=written,
            page_size=pages.size,
            jobs_listed=chunk.listed,
            jobs_to_fetch=pages.jobs,
            jobs_settled=chunk.settled_count,
            jobs_unsettled=sum(len(batch.job_ids) for batch in unsettled),
        )


@dataclass(frozen=True)
class _ChunkPages:
    """A chunk's manifest pages, made one at a time as written, and what sized them."""

    pages: Iterator[JobPage]
    size: int
    jobs: int


class _PageLister:
    """Reads a step's pages from Playment, one at a time, and moves the cursor on: to the
    next page, the next batch, or (a carried token refused) the batch's first page again."""

    def __init__(self, client: PlaymentClient, project_id: str, deadline: float | None) -> None:
        self.client = client
        self.project_id = project_id
        self.deadline = deadline
        self.seen_tokens: set[tuple[int, str]] = set()  # a token coming back within the step

    def list_next_page(self, batch_id: str, chunk: Chunk, cursor: ListingCursor) -> ListingCursor:
        """List the page ``cursor`` points at into ``chunk``; where the listing goes next."""
        try:
            page = self.client.list_batch_page(
                self.project_id, batch_id, cursor.page_token, deadline=self.deadline
            )
        except PlaymentApiError as error:
            return self._refused(error, batch_id, chunk, cursor)
        batch = chunk.batch(batch_id)
        for job in page.jobs:
            cursor = cursor.model_copy(update={"listed_in_batch": cursor.listed_in_batch + 1})
            batch.add(job, counted_already=cursor.listed_in_batch <= cursor.replay_until)
        token = page.next_page_token
        if not page.jobs or not token:
            return cursor.next_batch()
        if token == cursor.page_token or (cursor.batch_index, token) in self.seen_tokens:
            raise repeated_token(batch_id, token)
        self.seen_tokens.add((cursor.batch_index, token))
        return cursor.model_copy(update={"page_token": token})

    def _refused(
        self, error: PlaymentApiError, batch_id: str, chunk: Chunk, cursor: ListingCursor
    ) -> ListingCursor:
        """A batch Playment does not know is settled as one failed entry and passed over; a
        refused carried token restarts the batch (up to ``MAX_TOKEN_RESTARTS``); anything
        else is raised."""
        if error.code == BATCH_NOT_FOUND:
            chunk.batch(batch_id).not_found(error.message)
            return cursor.next_batch()
        if error.code != REFUSED_TOKEN_CODE or not cursor.page_token:
            raise error
        if cursor.restarts >= MAX_TOKEN_RESTARTS:
            raise PlaymentApiError(
                REFUSED_TOKEN_CODE,
                f"batch {batch_id}: Playment refused a page token {cursor.restarts + 1} "
                "times; listing it again from its first page did not help",
            ) from None
        cursor = cursor.restart_batch()
        self.seen_tokens = {seen for seen in self.seen_tokens if seen[0] != cursor.batch_index}
        return cursor


def _batch_plan(
    client: PlaymentClient, request: ExportRequest, options: ListingOptions
) -> BatchPlan:
    history, full_listing_days = options.history, options.full_listing_days
    if not request.all_batches:
        return BatchPlan(batch_ids=list(request.batch_ids))
    batches = client.get_project_details(request.project_id, deadline=options.deadline).batches
    unchanged = {}
    if history is not None and not (request.overwrite or request.full_listing):
        by_id = {batch.id: batch for batch in batches}
        unchanged = history.unchanged_batches(by_id, options.started_at, full_listing_days)
    plan = BatchPlan(batch_ids=[])
    for batch in batches:
        try:
            validate_id("batch_id", batch.id)
        except InvalidInput as error:
            plan.left_out.append(LeftOutBatch(batch_id=batch.id[:200], reason=str(error)))
            continue
        fingerprint = batch.fingerprint()
        since = unchanged.get(batch.id)
        if batch.completed_jobs == 0:
            plan.left_out.append(LeftOutBatch(batch_id=batch.id, reason="no completed jobs"))
        elif since is not None:
            due = since + timedelta(days=full_listing_days)
            reason = (
                f"unchanged since it was exported clean on {since:%Y-%m-%d %H:%M} UTC; "
                f"listed again by {due:%Y-%m-%d %H:%M} UTC, or with full_listing"
            )
            plan.left_out.append(LeftOutBatch(batch_id=batch.id, reason=reason))
        elif batch.id not in plan.fingerprints:
            plan.batch_ids.append(batch.id)
            plan.fingerprints[batch.id] = fingerprint
    return plan


def _cut_pages(
    project_id: str,
    execution: str,
    to_fetch: list[tuple[str, list[str]]],
    size: int,
    first: int,
) -> Iterator[JobPage]:
    """The chunk's jobs to fetch, batch by batch, in pages of ``size`` numbered from
    ``first`` (a batch's last page may be shorter); made one at a time, as written."""
    number = first
    for batch_id, job_ids in to_fetch:
        for start in range(0, len(job_ids), size):
            yield JobPage(
                project_id=project_id,
                batch_id=batch_id,
                page=number,
                job_ids=job_ids[start : start + size],
                execution=execution,
            )
            number += 1
