"""The projects, batches and jobs the simulator serves, and the bytes of each job's result."""

import functools
import hashlib
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from playment_simulator.bodies import (
    LargeBody,
    referenced_file_body,
    segmentation_body,
    small_annotation_count,
    small_body,
)
from playment_simulator.jobs import COMPLETED, GeneratedJobs, SimJob, completed_jobs
from playment_simulator.urls import referenced_file_url

__all__ = ["COMPLETED", "Catalog", "GeneratedJobs", "JobEntry", "SimBatch", "SimJob", "SimProject"]

LastPageToken = Literal["absent", "null", "empty", "repeat"]
LAST_PAGE_TOKEN_STYLES: tuple[LastPageToken, ...] = ("absent", "null", "empty", "repeat")
"""How the last page of a batch says it is the last: key missing, ``null`` or ``""``; or,
as a misbehaving server would, by handing back the token that asked for it ("repeat")."""
ENDING_STYLES: tuple[LastPageToken, ...] = ("absent", "null", "empty")
"""The styles a well-behaved server might use; the sample catalog takes these."""


@dataclass(frozen=True)
class SimBatch:
    """A batch: its jobs held (a tuple) or made on demand (``GeneratedJobs``)."""

    id: str
    jobs: Sequence[SimJob]
    last_page_token: LastPageToken = "absent"  # noqa: S105 (a style, not a secret)
    name: str = ""
    # Jobs the listing shows a second time, after all the others, as a listing does when
    # jobs move under it while it is paged through.
    listed_twice: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.last_page_token not in LAST_PAGE_TOKEN_STYLES:
            raise ValueError(
                f"batch {self.id}: last_page_token must be one of {LAST_PAGE_TOKEN_STYLES}, "
                f"got {self.last_page_token!r}"
            )
        if self.listed_twice and (unknown := set(self.listed_twice) - {j.id for j in self.jobs}):
            raise ValueError(f"batch {self.id}: listed_twice names no job of it: {unknown}")

    @functools.cached_property
    def listing(self) -> Sequence[SimJob]:
        """The jobs as the batch's pages list them: every job, then those listed twice."""
        if not self.listed_twice:
            return self.jobs
        by_id = {job.id: job for job in self.jobs}
        return (*self.jobs, *(by_id[job_id] for job_id in self.listed_twice))

    def completed_jobs(self) -> Iterator[SimJob]:
        return completed_jobs(self.jobs)


@dataclass(frozen=True)
class SimProject:
    id: str
    batches: tuple[SimBatch, ...]
    name: str = "Sample project"


@dataclass(frozen=True)
class JobEntry:
    """A job with the batch it belongs to, as the job endpoint needs both."""

    batch_id: str
    job: SimJob


class Catalog:
    """Lookup of projects, batches and jobs, and the result bytes storage serves for a job.

    Job ids are unique within a project. Bodies are derived from the job id (and size), so
    the same catalog always serves the same bytes. Batches of ``GeneratedJobs`` are not
    indexed job by job: a lookup asks the batch its ID names (their IDs are checked against
    the held jobs' only, so a held job must not take a generated job's ID).
    """

    def __init__(self, projects: Iterable[SimProject]) -> None:
        self._projects: dict[str, SimProject] = {}
        self._batches: dict[tuple[str, str], SimBatch] = {}
        self._jobs: dict[tuple[str, str], JobEntry] = {}
        self._generated: dict[tuple[str, str], GeneratedJobs] = {}
        for project in projects:
            self._add(project)
        self._sha_cache: dict[tuple[str, str], str] = {}
        self._large_cache: dict[tuple[str, str], LargeBody] = {}
        self._cache_lock = threading.Lock()

    def _add(self, project: SimProject) -> None:
        if project.id in self._projects:
            raise ValueError(f"duplicate project id {project.id!r}")
        self._projects[project.id] = project
        for batch in project.batches:
            if (project.id, batch.id) in self._batches:
                raise ValueError(f"project {project.id}: duplicate batch id {batch.id!r}")
            self._batches[(project.id, batch.id)] = batch
            if isinstance(batch.jobs, GeneratedJobs):
                self._generated[(project.id, batch.id)] = batch.jobs
                continue
            for job in batch.jobs:
                if (project.id, job.id) in self._jobs:
                    raise ValueError(f"project {project.id}: duplicate job id {job.id!r}")
                self._jobs[(project.id, job.id)] = JobEntry(batch.id, job)

    @property
    def projects(self) -> Mapping[str, SimProject]:
        return MappingProxyType(self._projects)

    def project(self, project_id: str) -> SimProject | None:
        return self._projects.get(project_id)

    def batch(self, project_id: str, batch_id: str) -> SimBatch | None:
        return self._batches.get((project_id, batch_id))

    def job(self, project_id: str, job_id: str) -> JobEntry | None:
        entry = self._jobs.get((project_id, job_id))
        if entry is not None or not self._generated:
            return entry
        batch_id = job_id.rpartition("-")[0]
        generated = self._generated.get((project_id, batch_id))
        index = generated.index_of(job_id) if generated is not None else None
        if generated is None or index is None:
            return None
        return JobEntry(batch_id, generated[index])

    def _require_job(self, project_id: str, job_id: str) -> SimJob:
        entry = self.job(project_id, job_id)
        if entry is None:
            raise KeyError(f"no job {job_id!r} in project {project_id!r}")
        return entry.job

    def _large_body(self, project_id: str, job: SimJob) -> LargeBody:
        assert job.body_size is not None
        with self._cache_lock:
            body = self._large_cache.get((project_id, job.id))
            if body is None:
                body = LargeBody(job.id, job.body_size)
                self._large_cache[(project_id, job.id)] = body
            return body

    def _small_body(self, project_id: str, job: SimJob) -> bytes:
        if job.referenced:
            urls = [referenced_file_url(project_id, job.id, name) for name in job.referenced]
            return segmentation_body(job.id, urls)
        return small_body(job.id)

    def body_chunks(self, project_id: str, job_id: str) -> Iterator[bytes]:
        """The exact bytes storage serves for that job's result, in chunks."""
        job = self._require_job(project_id, job_id)
        if job.body_size is None:
            return iter((self._small_body(project_id, job),))
        return self._large_body(project_id, job).chunks()

    def body_length(self, project_id: str, job_id: str) -> int:
        job = self._require_job(project_id, job_id)
        if job.body_size is None:
            return len(self._small_body(project_id, job))
        return job.body_size

    def file_body(self, project_id: str, job_id: str, name: str) -> bytes | None:
        """The bytes of a file the job's result references, or None if it names no such file."""
        entry = self.job(project_id, job_id)
        if entry is None or name not in entry.job.referenced:
            return None
        return referenced_file_body(job_id, name)

    def file_sha256(self, project_id: str, job_id: str, name: str) -> str:
        body = self.file_body(project_id, job_id, name)
        if body is None:
            raise KeyError(f"job {job_id!r} references no file {name!r}")
        return hashlib.sha256(body).hexdigest()

    def body_sha256(self, project_id: str, job_id: str) -> str:
        """Hex SHA-256 of the body, computed by streaming (and remembered)."""
        key = (project_id, job_id)
        with self._cache_lock:
            cached = self._sha_cache.get(key)
        if cached is not None:
            return cached
        digest = hashlib.sha256()
        for chunk in self.body_chunks(project_id, job_id):
            digest.update(chunk)
        with self._cache_lock:
            self._sha_cache[key] = digest.hexdigest()
        return digest.hexdigest()

    def annotation_count(self, project_id: str, job_id: str) -> int:
        """Annotations in the job's result (0 while it is not completed)."""
        job = self._require_job(project_id, job_id)
        if not job.completed:
            return 0
        if job.body_size is None:
            return small_annotation_count(job.id)
        return self._large_body(project_id, job).annotation_count


SAMPLE_BATCHES: Mapping[str, int] = MappingProxyType({"batch-a": 250, "batch-b": 180})
_NOT_READY_STATUSES = ("in_progress", "pending")


def sample_catalog(
    project_id: str = "demo-project",
    batches: Mapping[str, int] = SAMPLE_BATCHES,
    not_completed_every: int = 9,
    last_page_tokens: Sequence[str] = ENDING_STYLES,
) -> Catalog:
    """A deterministic one-project catalog.

    Job ids are ``f"{batch_id}-job-{i:05d}"`` (i from 0); job i is not completed when
    ``(i + 1) % not_completed_every == 0`` (0 disables that); batches take the last-page
    styles round-robin, in the order given.
    """
    if not last_page_tokens:
        raise ValueError("last_page_tokens must name at least one style")
    styles = [_last_page_style(style) for style in last_page_tokens]
    sim_batches = []
    for index, (batch_id, job_count) in enumerate(batches.items()):
        jobs = tuple(
            SimJob(
                id=f"{batch_id}-job-{i:05d}",
                status=_sample_status(i, not_completed_every),
                reference_id=f"{batch_id}-ref-{i:05d}",
            )
            for i in range(job_count)
        )
        sim_batches.append(
            SimBatch(
                id=batch_id,
                jobs=jobs,
                last_page_token=styles[index % len(styles)],
                name=f"Batch {batch_id}",
            )
        )
    return Catalog([SimProject(id=project_id, batches=tuple(sim_batches))])


def _sample_status(index: int, not_completed_every: int) -> str:
    if not_completed_every > 0 and (index + 1) % not_completed_every == 0:
        return _NOT_READY_STATUSES[(index // not_completed_every) % len(_NOT_READY_STATUSES)]
    return COMPLETED


def _last_page_style(style: str) -> LastPageToken:
    if style not in LAST_PAGE_TOKEN_STYLES:
        raise ValueError(f"last page style must be one of {LAST_PAGE_TOKEN_STYLES}, got {style!r}")
    return style
