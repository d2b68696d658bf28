"""The simulated projects ``make scale`` exports, and the smaller copy ``make test`` runs.

Every project is generated (``GeneratedJobs``): the simulator serves a million jobs without
holding them. Most jobs are not completed, as in a project still being annotated, so the
listing and the report carry the load and fetching stays small; a few completed jobs fail
(Playment answers ``FS_0004`` for them, every time), so the report has failures to name and
the execution ends ``ExportIncomplete``.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from playment_exporter.defaults import LISTING_STEP_JOBS
from playment_simulator import FaultPlan, SimBatch, SimProject
from playment_simulator.jobs import GeneratedJobs

# One child at a time: invocations never overlap, so each one's peak memory is its own
# (``playment_local.invocation_memory``). The Map's concurrency changes only how the listing
# cuts pages (``page_size_for``) and how fast the fetching goes.
SCALE_MAP_CONCURRENCY = 1
FAILING_FAULT = "job_not_found"
FUNCTIONS = ("ListPages", "FetchResult", "WriteReport")
# Pages of one job each, from thousands of batches: their memory is the jobs projects' to
# show; tracing it would double the time of a run that is mostly pages.
LISTING_AND_REPORT = ("ListPages", "WriteReport")


@dataclass(frozen=True)
class ScaleProject:
    """A project to export, what the export is asked, and what its report must count."""

    name: str
    project: SimProject
    failing: tuple[str, ...]  # completed jobs whose every request fails
    execution_input: Mapping[str, Any]
    listing_step_jobs: int
    map_max_concurrency: int = SCALE_MAP_CONCURRENCY
    measured: tuple[str, ...] = FUNCTIONS  # whose invocations' memory is measured
    # completed jobs an earlier run exported: their results are in the bucket before it starts
    already_exported: tuple[tuple[str, str], ...] = ()  # (batch, job)

    @property
    def jobs(self) -> int:
        return sum(len(batch.jobs) for batch in self.project.batches)

    @property
    def completed(self) -> int:
        return sum(sum(1 for _ in batch.completed_jobs()) for batch in self.project.batches)

    @property
    def expected_totals(self) -> dict[str, int]:
        return {
            "jobs": self.jobs,
            "exported": self.completed - len(self.failing) - len(self.already_exported),
            "skipped": self.jobs - self.completed + len(self.already_exported),
            "failed": len(self.failing),
        }

    @property
    def parameters(self) -> dict[str, str]:
        """The template parameters the export runs with."""
        return {
            "MapMaxConcurrency": str(self.map_max_concurrency),
            "ListingStepJobs": str(self.listing_step_jobs),
        }

    def describe(self) -> str:
        batches = len(self.project.batches)
        return (
            f"{self.jobs:,} jobs in {batches:,} batch{'es' if batches > 1 else ''} "
            f"({self.completed:,} completed, {len(self.failing):,} of them failing"
            + (f", {len(self.already_exported):,} exported before" if self.already_exported else "")
            + "), "
            f"ListingStepJobs {self.listing_step_jobs:,}, MapMaxConcurrency "
            f"{self.map_max_concurrency}"
        )


def jobs_project(
    name: str, jobs: int, *, completed_every: int, failing_every: int, step_jobs: int
) -> ScaleProject:
    """One batch of ``jobs`` jobs, one in ``completed_every`` completed, one completed job in
    ``failing_every`` failing."""
    batch = GeneratedJobs(_batch_id(name, 0), jobs, completed_every)
    failing = tuple(job.id for job in batch.completed())[::failing_every]
    project = SimProject(_project_id(name), (SimBatch(batch.batch_id, batch),))
    return ScaleProject(
        name=name,
        project=project,
        failing=failing,
        execution_input={"project_id": project.id, "batch_ids": [batch.batch_id]},
        listing_step_jobs=step_jobs,
    )


def batches_project(
    name: str, batches: int, *, jobs_per_batch: int, failing_batch_every: int, step_jobs: int
) -> ScaleProject:
    """``batches`` batches with UUIDs for IDs, as Playment's are, of ``jobs_per_batch`` jobs
    of which the first is completed. In one batch in ``failing_batch_every`` it fails (a
    Playment outage touches every batch); in the others an earlier run exported it, so the
    listing settles it and only the failing ones make pages. Exported as a schedule asks:
    ``all_batches``."""
    generated = [
        GeneratedJobs(_batch_id(name, n), jobs_per_batch, jobs_per_batch) for n in range(batches)
    ]
    failing_batches = generated[::failing_batch_every]
    exported_before = [jobs for n, jobs in enumerate(generated) if n % failing_batch_every]
    project = SimProject(
        _project_id(name), tuple(SimBatch(jobs.batch_id, jobs) for jobs in generated)
    )
    return ScaleProject(
        name=name,
        project=project,
        failing=tuple(jobs.job_id(0) for jobs in failing_batches),
        execution_input={"project_id": project.id, "all_batches": True},
        listing_step_jobs=step_jobs,
        measured=LISTING_AND_REPORT,
        already_exported=tuple((jobs.batch_id, jobs.job_id(0)) for jobs in exported_before),
    )


def _project_id(name: str) -> str:
    return "scale-" + name.replace(" ", "-")


def _batch_id(project: str, index: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"playment-bench/scale/{project}/{index}"))


def fault_plan(projects: tuple[ScaleProject, ...]) -> FaultPlan:
    """Every failing job of every project answers ``FS_0004`` (job not found), every time."""
    return FaultPlan(
        permanent={("job", job_id): FAILING_FAULT for p in projects for job_id in p.failing}
    )


@dataclass(frozen=True)
class ScaleSuite:
    """Projects to export, the pairs whose per-step figures must not grow from the first to
    the second, and the projects held to the absolute bounds only."""

    projects: tuple[ScaleProject, ...]
    growth_pairs: tuple[tuple[str, str], ...]


def full_suite() -> ScaleSuite:
    """``make scale``: 100,000 and 1,000,000 jobs (0.2% completed), 20,000 batches (half of
    them failing: a chunk's 5,000 batches with a failure are what the report carries)."""
    step = LISTING_STEP_JOBS
    return ScaleSuite(
        projects=(
            jobs_project(
                "100k jobs", 100_000, completed_every=500, failing_every=50, step_jobs=step
            ),
            jobs_project(
                "1M jobs", 1_000_000, completed_every=500, failing_every=50, step_jobs=step
            ),
            batches_project(
                "20k batches", 20_000, jobs_per_batch=5, failing_batch_every=2, step_jobs=step
            ),
        ),
        growth_pairs=(("100k jobs", "1M jobs"),),
    )


def small_suite() -> ScaleSuite:
    """The copy ``make test`` runs: tens of thousands of jobs needing attention and a thousand
    batches (a page, one per batch with a job to fetch, costs the local engine ~50 ms:
    more would not fit ``make test``'s time), listing steps small enough that the smaller
    project fills one and the larger takes four."""
    return ScaleSuite(
        projects=(
            jobs_project(
                "10k jobs", 10_000, completed_every=500, failing_every=10, step_jobs=2_500
            ),
            jobs_project(
                "40k jobs", 40_000, completed_every=500, failing_every=10, step_jobs=2_500
            ),
            batches_project(
                "250 batches", 250, jobs_per_batch=3, failing_batch_every=2, step_jobs=750
            ),
            batches_project(
                "1k batches", 1_000, jobs_per_batch=3, failing_batch_every=2, step_jobs=750
            ),
        ),
        growth_pairs=(("10k jobs", "40k jobs"), ("250 batches", "1k batches")),
    )
