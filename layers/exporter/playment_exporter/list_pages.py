"""Plan an export: page through each batch and write the manifest of jobs left to fetch.

With ``all_batches``, the batches are the project's, from its details, less those with no
completed jobs. Jobs that need no call are settled here, from the listing alone: a job the
list shows as not completed, a job already exported (unless overwriting), a job whose ID is
not a safe key. Only the rest are cut into pages of ``page_size`` for the distributed Map.
What comes back is totals only: the job IDs stay in S3, out of the 256 KiB state payload.
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
    jobs_listed: int
    jobs_to_fetch: int
    jobs_settled: int


def list_export_pages(
    client: PlaymentClient,
    store: ResultStore,
    records: RunRecords,
    request: ExportRequest,
    *,
    page_size: int = PAGE_SIZE,
    deadline: float | None = None,
) -> ListingSummary:
    manifest: list[JobPage] = []
    listed = settled = 0
    batch_ids, left_out = (
        _project_batches(client, request.project_id, deadline)
        if request.all_batches
        else (list(request.batch_ids), [])
    )
    for batch_id in batch_ids:
        already = set() if request.overwrite else store.exported_job_ids(batch_id)
        plan = _BatchPlan(request.project_id, batch_id, page_size, already)
        for api_page in client.list_batch_pages(request.project_id, batch_id, deadline=deadline):
            for job in api_page:
                plan.add(job)
        manifest.extend(plan.pages())
        records.write_listing_outcome(plan.settled_outcome())
        listed += plan.listed
        settled += len(plan.settled)
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
        jobs_listed=listed,
        jobs_to_fetch=sum(len(page.job_ids) for page in manifest),
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

    def __init__(self, project_id: str, batch_id: str, page_size: int, already: set[str]) -> None:
        self.project_id = project_id
        self.batch_id = batch_id
        self._page_size = page_size
        self._already = already
        self._seen: set[str] = set()
        self._to_fetch: list[str] = []
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
            self._to_fetch.append(job.id)

    def pages(self) -> list[JobPage]:
        size = self._page_size
        return [
            JobPage(
                project_id=self.project_id,
                batch_id=self.batch_id,
                page=number,
                job_ids=self._to_fetch[start : start + size],
            )
            for number, start in enumerate(range(0, len(self._to_fetch), size))
        ]

    def settled_outcome(self) -> PageOutcome:
        return PageOutcome(
            project_id=self.project_id, batch_id=self.batch_id, page=-1, outcomes=self.settled
        )
