"""Plan an export: page through each batch and write the manifest of jobs left to fetch.

With ``all_batches``, the batches are the project's, from its details, less those with no
completed jobs. Jobs that need no call are settled here, from the listing alone: a job the
list shows as not completed, a job already exported (unless overwriting), a job whose ID is
not a safe key. Only the rest are cut into pages for the distributed Map, all of one size
chosen once the whole export is listed (``page_size_for``). What comes back is totals only: the
job IDs stay in S3, out of the 256 KiB state payload.
"""

from pydantic import BaseModel

from playment_exporter.api_models import COMPLETED, ListedJob
from playment_exporter.errors import InvalidInput
from playment_exporter.export_request import ExportRequest
from playment_exporter.ids import validate_id
from playment_exporter.outcomes import JobOutcome, JobPage, PageOutcome, SkipReason
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.result_store import ResultStore
from playment_exporter.run_records import RunRecords

PAGE_SIZE = 100
MIN_PAGE_SIZE = 10


def page_size_for(jobs_to_fetch: int, max_concurrency: int) -> int:
    """Jobs per manifest page, one number for the whole export: enough pages to keep every
    child the Map may run busy, within ``MIN_PAGE_SIZE`` and ``PAGE_SIZE``.

    Pages of ``PAGE_SIZE`` leave a small export mostly idle (400 jobs: 4 pages for 40 allowed
    children), so below ``PAGE_SIZE * max_concurrency`` jobs the pages shrink to one per
    child. The floor is there because a page costs the same whatever its size: a child
    workflow (2 billed transitions), a Lambda invoke and an outcome PUT, about $0.000055 at
    us-east-1 list prices, plus their latency. At 10 jobs that is about one more result PUT
    ($0.000005) per job, and a page still fills the default ``PageWorkers`` (8) threads;
    smaller pages would pay mostly for overhead. Large exports keep ``PAGE_SIZE``, the
    cheapest per job.
    """
    if jobs_to_fetch < 0:
        raise ValueError(f"jobs_to_fetch must not be negative, got {jobs_to_fetch}")
    if max_concurrency < 1:
        raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
    one_page_per_child = -(-jobs_to_fetch // max_concurrency)  # ceil, in integers
    return max(MIN_PAGE_SIZE, min(PAGE_SIZE, one_page_per_child))


class LeftOutBatch(BaseModel):
    batch_id: str
    reason: str


class ListingSummary(BaseModel):
    """ListPages' result, which the state machine carries to the Map and the report."""

    execution: str
    bucket: str
    manifest_key: str
    project_id: str
    batch_ids: list[str]
    batches_left_out: list[LeftOutBatch] = []
    overwrite: bool
    include_referenced: bool = False
    pages: int
    page_size: int
    jobs_listed: int
    jobs_to_fetch: int
    jobs_settled: int


def list_export_pages(
    client: PlaymentClient,
    store: ResultStore,
    records: RunRecords,
    request: ExportRequest,
    *,
    max_concurrency: int,
    deadline: float | None = None,
) -> ListingSummary:
    """List the export's batches, write the manifest and each batch's settled jobs to S3.

    ``max_concurrency`` is the Map's (``MapMaxConcurrency``): it sizes the pages.
    """
    to_fetch: list[tuple[str, list[str]]] = []  # (batch, its job IDs), until the size is known
    listed = settled = 0
    batch_ids, left_out = (
        _project_batches(client, request.project_id, deadline)
        if request.all_batches
        else (list(request.batch_ids), [])
    )
    for batch_id in batch_ids:
        already = set() if request.overwrite else store.exported_job_ids(batch_id)
        plan = _BatchPlan(request.project_id, batch_id, already)
        for api_page in client.list_batch_pages(request.project_id, batch_id, deadline=deadline):
            for job in api_page:
                plan.add(job)
        to_fetch.append((batch_id, plan.to_fetch))
        records.write_listing_outcome(plan.settled_outcome())
        listed += plan.listed
        settled += len(plan.settled)
    jobs_to_fetch = sum(len(job_ids) for _, job_ids in to_fetch)
    page_size = page_size_for(jobs_to_fetch, max_concurrency)
    manifest = [
        page
        for batch_id, job_ids in to_fetch
        for page in _cut_pages(request.project_id, batch_id, job_ids, page_size)
    ]
    records.write_manifest(manifest)
    return ListingSummary(
        execution=records.execution,
        bucket=records.bucket,
        manifest_key=records.manifest_key,
        project_id=request.project_id,
        batch_ids=batch_ids,
        batches_left_out=left_out,
        overwrite=request.overwrite,
        include_referenced=request.include_referenced,
        pages=len(manifest),
        page_size=page_size,
        jobs_listed=listed,
        jobs_to_fetch=jobs_to_fetch,
        jobs_settled=settled,
    )


def _project_batches(
    client: PlaymentClient, project_id: str, deadline: float | None
) -> tuple[list[str], list[LeftOutBatch]]:
    """The project's batches that have completed jobs, from its details, as listed now."""
    chosen: list[str] = []
    left_out: list[LeftOutBatch] = []
    for batch in client.get_project_details(project_id, deadline=deadline).batches:
        try:
            validate_id("batch_id", batch.id)
        except InvalidInput as error:
            left_out.append(LeftOutBatch(batch_id=batch.id[:200], reason=str(error)))
            continue
        if batch.completed_jobs == 0:
            left_out.append(LeftOutBatch(batch_id=batch.id, reason="no completed jobs"))
        elif batch.id not in chosen:
            chosen.append(batch.id)
    return chosen, left_out


class _BatchPlan:
    """One batch's listing, sorted into jobs to fetch and jobs already settled."""

    def __init__(self, project_id: str, batch_id: str, already: set[str]) -> None:
        self.project_id = project_id
        self.batch_id = batch_id
        self._already = already
        self._seen: set[str] = set()
        self.to_fetch: list[str] = []
        self.settled: list[JobOutcome] = []
        self.listed = 0

    def add(self, job: ListedJob) -> None:
        if job.id in self._seen:  # a job listed twice (pages shifting under us) counts once
            return
        self._seen.add(job.id)
        self.listed += 1
        try:
            validate_id("job_id", job.id)
        except InvalidInput as error:
            self.settled.append(JobOutcome.failed(job.id[:200], "invalid_job_id", str(error)))
            return
        if job.status is not None and job.status != COMPLETED:
            self.settled.append(JobOutcome.skipped(job.id, SkipReason.NOT_COMPLETED))
        elif job.id in self._already:
            self.settled.append(JobOutcome.skipped(job.id, SkipReason.ALREADY_EXPORTED))
        else:
            self.to_fetch.append(job.id)

    def settled_outcome(self) -> PageOutcome:
        return PageOutcome(
            project_id=self.project_id, batch_id=self.batch_id, page=-1, outcomes=self.settled
        )


def _cut_pages(project_id: str, batch_id: str, job_ids: list[str], size: int) -> list[JobPage]:
    """One batch's jobs to fetch, in pages of ``size`` (the last may be shorter)."""
    return [
        JobPage(
            project_id=project_id,
            batch_id=batch_id,
            page=number,
            job_ids=job_ids[start : start + size],
        )
        for number, start in enumerate(range(0, len(job_ids), size))
    ]
