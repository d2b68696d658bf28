"""What one listing step found, batch by batch: the jobs to fetch, the jobs settled from the
listing alone (not completed, already exported, an ID that is not a safe key), and the jobs
the step's deadline left for the next step to settle.

A job is counted once: by the step that settles it or plans it for fetching. A job listed
twice (pages shifting, or listed again after a refused token) is dealt with once, and one this
execution has exported already is dropped: S3 says when each result was written, and one
written since the execution started is ours.
"""

from collections.abc import Callable
from datetime import datetime

from playment_exporter.api_models import COMPLETED, ListedJob
from playment_exporter.errors import BATCH_NOT_FOUND, InvalidInput
from playment_exporter.ids import validate_id
from playment_exporter.outcomes import JobOutcome, PageOutcome, SkipReason
from playment_exporter.result_store import ResultStore
from playment_exporter.run_records import UnsettledJobs

# The page of a batch's jobs settled by the listing: no manifest page's number. The report
# reads a settled outcome's jobs, never its page.
SETTLED_PAGE = -1


class BatchPart:
    """One batch's part of a chunk, sorted into jobs to fetch, jobs settled, and jobs left
    for the next step to settle."""

    def __init__(self, project_id: str, batch_id: str) -> None:
        self.project_id = project_id
        self.batch_id = batch_id
        self._seen: set[str] = set()
        self.candidates: list[str] = []  # completed: fetch unless already exported
        self.counted_already: set[str] = set()  # of the candidates: counted by an earlier step
        self.to_fetch: list[str] = []
        self.settled: list[JobOutcome] = []
        self.unsettled: list[str] = []  # candidates the pass did not reach by the deadline
        self.listed = 0  # jobs counted by this step
        self.requested = 0  # jobs this step has to deal with: read from Playment, or carried

    def carry(self, jobs: UnsettledJobs) -> None:
        """Candidates an earlier step listed and left unsettled."""
        self.requested += len(jobs.job_ids)
        self._seen.update(jobs.job_ids)
        self.candidates.extend(jobs.job_ids)
        self.counted_already.update(jobs.counted_already)

    def add(self, job: ListedJob, *, counted_already: bool = False) -> None:
        if job.id in self._seen:  # a job listed twice (pages shifting under us) counts once
            return
        self._seen.add(job.id)
        self.requested += 1
        if counted_already:
            # Listed again after a refused token: counted by an earlier step. Fetch it only
            # if it is completed and still has no result (it may be one that step fetched).
            if (job.status is None or job.status == COMPLETED) and _usable(job.id):
                self.candidates.append(job.id)
                self.counted_already.add(job.id)
            return
        try:
            validate_id("job_id", job.id)
        except InvalidInput as error:
            self._settle(JobOutcome.failed(job.id[:200], "invalid_job_id", str(error)))
            return
        if job.status is not None and job.status != COMPLETED:
            self._settle(JobOutcome.skipped(job.id, SkipReason.NOT_COMPLETED))
        else:
            self.candidates.append(job.id)

    def not_found(self, message: str) -> None:
        """Playment does not know the batch: one failed entry names it (no job to name),
        counted as the report counts it."""
        self._settle(JobOutcome.failed("", BATCH_NOT_FOUND, message))

    def settle_exported(
        self,
        store: ResultStore,
        execution: str,
        started_at: datetime,
        *,
        overwrite: bool,
        deadline: float | None,
        clock: Callable[[], float],
    ) -> None:
        """Fetch, skip as already exported, or drop (ours already) each candidate; those not
        reached by ``deadline`` are left ``unsettled``."""
        if not self.candidates:
            return
        answer = store.exported_among(
            self.batch_id, self.candidates, deadline=deadline, clock=clock
        )
        unanswered = set(answer.unanswered)
        # S3 keeps LastModified to the second: a result from the execution's first second may
        # be an earlier run's or this one's; its metadata says which (a HEAD, rarely needed).
        since = started_at.replace(microsecond=0)
        for job_id in self.candidates:
            when = answer.written.get(job_id)
            written_since_start = when is not None and when >= since
            if job_id in unanswered or (written_since_start and deadline_passed(deadline, clock)):
                self.unsettled.append(job_id)  # not reached, or its HEAD: the next step's
                continue
            if written_since_start and store.written_by(self.batch_id, job_id) == execution:
                continue  # exported by this execution already, listed twice: not counted again
            counted = job_id in self.counted_already
            if when is not None and not overwrite:
                if not counted:
                    self._settle(JobOutcome.skipped(job_id, SkipReason.ALREADY_EXPORTED))
                continue
            self.to_fetch.append(job_id)
            if not counted:
                self.listed += 1
        self.candidates = []

    def leave_unsettled(self) -> None:
        """The step's deadline came before the pass reached this batch."""
        self.unsettled.extend(self.candidates)
        self.candidates = []

    def unsettled_jobs(self) -> UnsettledJobs:
        return UnsettledJobs(
            batch_id=self.batch_id,
            job_ids=self.unsettled,
            counted_already=[job for job in self.unsettled if job in self.counted_already],
        )

    def settled_outcome(self) -> PageOutcome:
        return PageOutcome(
            project_id=self.project_id,
            batch_id=self.batch_id,
            page=SETTLED_PAGE,
            outcomes=self.settled,
        )

    def _settle(self, outcome: JobOutcome) -> None:
        self.settled.append(outcome)
        self.listed += 1


class Chunk:
    """What one listing step found, batch by batch, in the order listed."""

    def __init__(self, project_id: str) -> None:
        self.project_id = project_id
        self._batches: dict[str, BatchPart] = {}

    def batch(self, batch_id: str) -> BatchPart:
        if batch_id not in self._batches:
            self._batches[batch_id] = BatchPart(self.project_id, batch_id)
        return self._batches[batch_id]

    def carry(self, unsettled: list[UnsettledJobs]) -> None:
        for jobs in unsettled:
            self.batch(jobs.batch_id).carry(jobs)

    @property
    def listed(self) -> int:
        return sum(batch.listed for batch in self._batches.values())

    @property
    def requested(self) -> int:
        """Jobs read from Playment, replayed ones included, and jobs carried: what bounds
        the step."""
        return sum(batch.requested for batch in self._batches.values())

    @property
    def settled_count(self) -> int:
        return sum(len(batch.settled) for batch in self._batches.values())

    def settle_exported(
        self,
        store: ResultStore,
        execution: str,
        started_at: datetime,
        *,
        overwrite: bool,
        deadline: float | None,
        clock: Callable[[], float],
    ) -> None:
        """Every batch's candidates, until the deadline (the first batch with candidates
        always makes its first LIST, so that the pass always moves on)."""
        with_candidates = (batch for batch in self._batches.values() if batch.candidates)
        for index, batch in enumerate(with_candidates):
            if index > 0 and deadline_passed(deadline, clock):
                batch.leave_unsettled()
            else:
                batch.settle_exported(
                    store,
                    execution,
                    started_at,
                    overwrite=overwrite,
                    deadline=deadline,
                    clock=clock,
                )

    def to_fetch(self) -> list[tuple[str, list[str]]]:
        return [(batch_id, batch.to_fetch) for batch_id, batch in self._batches.items()]

    def settled_outcomes(self) -> list[PageOutcome]:
        return [batch.settled_outcome() for batch in self._batches.values() if batch.settled]

    def unsettled(self) -> list[UnsettledJobs]:
        return [batch.unsettled_jobs() for batch in self._batches.values() if batch.unsettled]


def deadline_passed(deadline: float | None, clock: Callable[[], float]) -> bool:
    return deadline is not None and clock() >= deadline


def _usable(job_id: str) -> bool:
    try:
        validate_id(
            "job_id",  # pragma: no mutate - the error that would name it is dropped
            job_id,
        )
    except InvalidInput:
        return False
    return True
