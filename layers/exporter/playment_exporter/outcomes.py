"""What became of each job, and of each page of jobs: the facts the report is made of."""

from collections import Counter
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field


class JobStatus(StrEnum):
    EXPORTED = "exported"
    SKIPPED = "skipped"
    FAILED = "failed"


class SkipReason(StrEnum):
    NOT_COMPLETED = "not_completed"
    NO_RESULT = "no_result"
    ALREADY_EXPORTED = "already_exported"


AUTH_FAILED = "auth_failed"


class IndexedFile(BaseModel):
    """A file a result references, written beside it (for the index, ``export_index``)."""

    key: str
    size: int
    sha256: str


class JobOutcome(BaseModel):
    """One job's end: exported (with its size), skipped (with why) or failed (with a code)."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    status: JobStatus
    reason: SkipReason | None = None
    error_code: str | None = None
    message: str | None = None
    bytes: int | None = None
    files: int | None = None  # referenced files exported beside the result, when asked
    # What the index records of an exported job: the result's SHA-256 (hex, of the bytes
    # written), the team's own ID for the job, and each referenced file written beside it.
    sha256: str | None = None
    result_size: int | None = None
    reference_id: str | None = None
    referenced: list[IndexedFile] | None = None

    @classmethod
    def exported(  # noqa: PLR0913 - one keyword per field of an exported job's outcome
        cls,
        job_id: str,
        size: int,
        files: int | None = None,
        *,
        sha256: str | None = None,
        result_size: int | None = None,
        reference_id: str | None = None,
        referenced: list[IndexedFile] | None = None,
    ) -> Self:
        return cls(
            job_id=job_id,
            status=JobStatus.EXPORTED,
            bytes=size,
            files=files,
            sha256=sha256,
            result_size=result_size,
            reference_id=reference_id,
            referenced=referenced,
        )

    @classmethod
    def skipped(cls, job_id: str, reason: SkipReason) -> Self:
        return cls(job_id=job_id, status=JobStatus.SKIPPED, reason=reason)

    @classmethod
    def failed(cls, job_id: str, code: str, message: str) -> Self:
        return cls(job_id=job_id, status=JobStatus.FAILED, error_code=code, message=message)


class JobPage(BaseModel):
    """One item of the manifest: up to a hundred jobs of one batch, exported by one call."""

    model_config = ConfigDict(frozen=True)

    project_id: str
    batch_id: str
    page: int = Field(ge=0)
    job_ids: list[str]
    # The execution that planned the page: its results carry it (``ResultStore``), so that a
    # later listing step can tell a result this execution wrote from an earlier run's.
    execution: str = ""


class PageOutcome(BaseModel):
    """The outcomes of one manifest page, as written to ``_exports/<execution>/outcomes/``."""

    project_id: str
    batch_id: str
    page: int
    outcomes: list[JobOutcome]

    def counts(self) -> Counter[str]:
        return Counter(outcome.status.value for outcome in self.outcomes)

    @property
    def bytes_written(self) -> int:
        return sum(outcome.bytes or 0 for outcome in self.outcomes)

    @property
    def auth_failed(self) -> bool:
        return any(outcome.error_code == AUTH_FAILED for outcome in self.outcomes)
