"""Playment's wire format, parsed leniently: only the fields the exporter uses are required.

The list endpoint names a job ``id`` and the job endpoint names it ``job_id``; the API's
envelope is ``{"data": ..., "success": bool}`` or ``{"success": false, "error": {...}}``.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

COMPLETED = "completed"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ListedJob(_Lenient):
    """A job as a batch page lists it. ``status`` may be missing: then the job must be asked."""

    id: str
    status: str | None = None


class BatchPage(_Lenient):
    jobs: list[ListedJob] = Field(default_factory=list)
    next_page_token: str | None = None

    @field_validator("next_page_token", mode="before")
    @classmethod
    def _token_as_text(cls, value: Any) -> str | None:
        """The token is opaque; some servers send a number. Compare it as text."""
        if value is None:
            return None
        return str(value)

    @field_validator("jobs", mode="before")
    @classmethod
    def _null_jobs_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


class JobRecord(_Lenient):
    """One job's result record: ``result`` is the private URL of the result file, or ``""``."""

    job_id: str = ""
    status: str = ""
    result: str | None = ""
    reference_id: str | None = ""  # the team's own ID for the job, given when it was created

    @property
    def is_completed(self) -> bool:
        return self.status == COMPLETED

    @property
    def result_url(self) -> str:
        return self.result or ""


class ProjectBatch(_Lenient):
    id: str
    name: str = ""
    total_jobs: int | None = None
    completed_jobs: int | None = None
    completed_frames: int | None = None
    annotations: int | None = None
    status: str | None = None

    def fingerprint(self) -> dict[str, Any]:
        """The details that change when the batch's jobs do (not always: one job reopened
        while another completes leaves them as they were; hence the periodic full listing)."""
        return self.model_dump(
            include={"total_jobs", "completed_jobs", "completed_frames", "annotations", "status"}
        )


class ProjectDetails(_Lenient):
    name: str = ""
    batches: list[ProjectBatch] = Field(default_factory=list)


class ApiError(_Lenient):
    code: str = "unknown_error"
    message: str = ""
