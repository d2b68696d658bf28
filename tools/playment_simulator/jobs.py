"""A job as the simulator serves it, and batches of jobs made on demand from their position.

``GeneratedJobs`` lets the simulator serve a batch of a million jobs without holding them: a
job is made from its index when a page or a lookup asks for it, and its ID says its index, so
the catalog finds it again without a table. The same arguments always make the same jobs.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

COMPLETED = "completed"
NOT_READY_STATUS = "in_progress"
INDEX_DIGITS = 7


@dataclass(frozen=True)
class SimJob:
    """One job. Any status but "completed" means "not ready": its result URL is empty.

    ``body_size`` None gives a small realistic result; an int gives a generated JSON body of
    exactly that many bytes, streamed and never held in memory.
    """

    id: str
    status: str = COMPLETED
    body_size: int | None = None
    reference_id: str = ""
    referenced: tuple[str, ...] = ()  # a segmentation result: the files its url fields name

    def __post_init__(self) -> None:
        if self.referenced and self.body_size is not None:
            raise ValueError(f"job {self.id}: a segmentation result has no body_size")
        if self.body_size is not None and self.body_size < 2:
            raise ValueError(f"job {self.id}: body_size must be at least 2, got {self.body_size}")

    @property
    def completed(self) -> bool:
        return self.status == COMPLETED


@dataclass(frozen=True)
class GeneratedJobs(Sequence[SimJob]):
    """``size`` jobs of batch ``batch_id``, made when asked for: job ``i`` is
    ``f"{batch_id}-{i:07d}"`` (reference ``f"{batch_id}-ref-{i:07d}"``), completed when
    ``i % completed_every == 0`` (0: none is), otherwise ``in_progress``."""

    batch_id: str
    size: int
    completed_every: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.size < 10**INDEX_DIGITS:
            raise ValueError(f"size must be within [0, {10**INDEX_DIGITS}), got {self.size}")
        if self.completed_every < 0:
            raise ValueError(f"completed_every must not be negative, got {self.completed_every}")

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, index: int) -> SimJob: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[SimJob, ...]: ...

    def __getitem__(self, index: int | slice) -> SimJob | tuple[SimJob, ...]:
        if isinstance(index, slice):
            return tuple(self._job(i) for i in range(*index.indices(self.size)))
        if index < 0:
            index += self.size
        if not 0 <= index < self.size:
            raise IndexError(f"batch {self.batch_id} has {self.size} jobs, not job {index}")
        return self._job(index)

    def __iter__(self) -> Iterator[SimJob]:
        return (self._job(i) for i in range(self.size))

    def completed(self) -> Iterator[SimJob]:
        """The completed jobs only, without making the others."""
        if self.completed_every == 0:
            return iter(())
        return (self._job(i) for i in range(0, self.size, self.completed_every))

    def job_id(self, index: int) -> str:
        return f"{self.batch_id}-{index:0{INDEX_DIGITS}d}"

    def index_of(self, job_id: str) -> int | None:
        """The index of the job with that ID, or None if this batch made no such job."""
        prefix, _, digits = job_id.rpartition("-")
        numeric = digits.isascii() and digits.isdigit()
        if prefix != self.batch_id or len(digits) != INDEX_DIGITS or not numeric:
            return None
        index = int(digits)
        return index if index < self.size else None

    def _job(self, index: int) -> SimJob:
        done = self.completed_every > 0 and index % self.completed_every == 0
        return SimJob(
            id=self.job_id(index),
            status=COMPLETED if done else NOT_READY_STATUS,
            reference_id=f"{self.batch_id}-ref-{index:0{INDEX_DIGITS}d}",
        )


def completed_jobs(jobs: Sequence[SimJob]) -> Iterator[SimJob]:
    """A batch's completed jobs; for generated ones, without making the others."""
    if isinstance(jobs, GeneratedJobs):
        return jobs.completed()
    return (job for job in jobs if job.completed)
