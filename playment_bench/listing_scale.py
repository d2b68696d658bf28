"""Listing at scale: ListPages' steps stay flat in time and memory as the project grows.

An export is listed through the real listing steps (``list_export_pages`` with the cursor of
one step passed to the next, as the state machine loops), against the simulator with no
latency (in a process of its own, ``SimulatorProcess``, so that it neither shares the GIL nor
adds to the memory measured here), with S3 in moto and
``RunRecords`` and ``ResultStore`` as the ListPages handler builds them. Two exports of one
project of 1,100,000 jobs: five batches of 20,000 (100,000 jobs) and its one batch of
1,000,000. Each step's duration is measured in a run without tracing; its peak memory in a
second run under ``tracemalloc`` (Python allocations above what the process held when the step
began; moto's copy of the objects written is in the process too, so a step's peak includes the
manifest it stored).

Then a projection, by arithmetic (``project``), of a 10,000,000-job export at a given time per
Playment listing page, priced by the cost model.
"""

import statistics
import time
import tracemalloc
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from math import ceil
from typing import Any

from moto import mock_aws

from exporter_runtime.clients import aws_session, s3_client
from playment_bench import cost
from playment_bench.simulator_process import PROJECT, SimulatorProcess
from playment_exporter.export_request import ExportRequest
from playment_exporter.list_pages import ListingCursor, list_export_pages
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.report import MAX_PAGES_PER_STEP
from playment_exporter.result_store import ResultStore
from playment_exporter.run_records import RunRecords
from playment_exporter.storage_s3 import S3Storage

API_KEY = "listing-bench-key"
BUCKET = "listing-bench"
SMALL_BATCHES = {f"small-{n}": 20_000 for n in range(1, 6)}
HUGE_BATCH = ("huge", 1_000_000)
EXPORTS = {  # name -> batches exported
    "100k": tuple(SMALL_BATCHES),
    "1M": (HUGE_BATCH[0],),
}
PROJECTION_JOBS = 10_000_000
PROJECTION_SECONDS_PER_LISTING_PAGE = 0.3
MiB = 1024 * 1024


# ------------------------------------------------------------------ measured


@dataclass(frozen=True)
class StepFigure:
    chunk: int
    jobs_listed: int
    pages: int
    page_size: int
    seconds: float
    peak_mib: float


@dataclass(frozen=True)
class ExportFigures:
    name: str
    jobs: int
    batches: int
    steps: tuple[StepFigure, ...]

    @property
    def max_seconds(self) -> float:
        return max(step.seconds for step in self.steps)

    @property
    def median_seconds(self) -> float:
        return statistics.median(step.seconds for step in self.steps)

    @property
    def max_peak_mib(self) -> float:
        return max(step.peak_mib for step in self.steps)

    @property
    def median_peak_mib(self) -> float:
        return statistics.median(step.peak_mib for step in self.steps)

    @property
    def seconds_per_100_jobs(self) -> float:
        return sum(step.seconds for step in self.steps) / (self.jobs / 100)


def _list_export(
    api_url: str,
    s3: Any,
    execution: str,
    batch_ids: tuple[str, ...],
    *,
    step_jobs: int,
    max_concurrency: int,
    traced: bool,
) -> list[tuple[Any, float, float]]:
    """Every listing step of one export: (summary, seconds, peak MiB or 0)."""
    client = PlaymentClient(api_url, API_KEY, pool_size=2)
    store = ResultStore(S3Storage(s3, BUCKET), "")
    records = RunRecords(S3Storage(s3, BUCKET), execution)
    request = ExportRequest.from_input({"project_id": PROJECT, "batch_ids": list(batch_ids)})
    started_at = datetime.now(UTC)
    cursor: ListingCursor | None = None
    steps: list[tuple[Any, float, float]] = []
    try:
        while True:
            if traced:
                tracemalloc.reset_peak()
                held = tracemalloc.get_traced_memory()[0]
            begun = time.perf_counter()
            summary = list_export_pages(
                client,
                store,
                records,
                request,
                max_concurrency=max_concurrency,
                started_at=started_at,
                cursor=cursor,
                step_jobs=step_jobs,
            )
            seconds = time.perf_counter() - begun
            peak = (tracemalloc.get_traced_memory()[1] - held) / MiB if traced else 0.0
            steps.append((summary, seconds, peak))
            cursor = summary.cursor
            if cursor is None:
                return steps
    finally:
        client.close()
        store.close()


def measure(
    step_jobs: int | None = None, max_concurrency: int | None = None
) -> tuple[ExportFigures, ...]:
    """Both exports, each listed twice: once timed, once under tracemalloc."""
    deployed = cost.deployed_sizes()
    step_jobs = step_jobs or deployed.listing_step_jobs
    max_concurrency = max_concurrency or deployed.map_max_concurrency
    figures = []
    batches = {**SMALL_BATCHES, HUGE_BATCH[0]: HUGE_BATCH[1]}
    with SimulatorProcess(batches, api_key=API_KEY) as simulator, mock_aws():
        s3 = s3_client(aws_session(), max_connections=4)
        s3.create_bucket(Bucket=BUCKET)
        for name, batch_ids in EXPORTS.items():
            timed = _list_export(
                simulator.api_url,
                s3,
                f"listing-{name}-timed",
                batch_ids,
                step_jobs=step_jobs,
                max_concurrency=max_concurrency,
                traced=False,
            )
            tracemalloc.start()
            try:
                traced = _list_export(
                    simulator.api_url,
                    s3,
                    f"listing-{name}-traced",
                    batch_ids,
                    step_jobs=step_jobs,
                    max_concurrency=max_concurrency,
                    traced=True,
                )
            finally:
                tracemalloc.stop()
            steps = tuple(
                StepFigure(
                    chunk=summary.chunk,
                    jobs_listed=summary.jobs_listed,
                    pages=summary.pages,
                    page_size=summary.page_size,
                    seconds=seconds,
                    peak_mib=peak,
                )
                for (summary, seconds, _), (_, _, peak) in zip(timed, traced, strict=True)
            )
            figures.append(
                ExportFigures(
                    name=name,
                    jobs=sum(step.jobs_listed for step in steps),
                    batches=len(batch_ids),
                    steps=steps,
                )
            )
    return tuple(figures)


def format_listing(figures: tuple[ExportFigures, ...], step_jobs: int) -> str:
    lines = [
        f"Listing at scale: list_export_pages step by step (ListingStepJobs {step_jobs:,}), "
        "simulator with no latency (own process, pages of 100), S3 in moto; duration from an "
        "untraced run, peak memory from a run under tracemalloc (Python allocations above what "
        "the step began with)",
        f"{'export':<8} {'step':>4} {'jobs listed':>11} {'pages':>6} {'size':>5} "
        f"{'seconds':>8} {'peak MiB':>9}",
    ]
    for export in figures:
        for step in export.steps:
            lines.append(
                f"{export.name:<8} {step.chunk:>4} {step.jobs_listed:>11,} {step.pages:>6,} "
                f"{step.page_size:>5} {step.seconds:>8.2f} {step.peak_mib:>9.1f}"
            )
    lines.append("")
    for export in figures:
        lines.append(
            f"{export.name}: {export.jobs:,} jobs in {export.batches} batch(es), "
            f"{len(export.steps)} steps; per step seconds max {export.max_seconds:.2f} / median "
            f"{export.median_seconds:.2f}, peak MiB max {export.max_peak_mib:.1f} / median "
            f"{export.median_peak_mib:.1f}; {export.seconds_per_100_jobs:.4f} s per 100 jobs"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------ projected


@dataclass(frozen=True)
class Projection:
    jobs: int
    seconds_per_listing_page: float
    fetch_page_seconds: float
    listing_steps: int
    report_steps: int
    pages: int
    invocations: int
    transitions: int
    history_events: int
    listing_seconds: float  # every listing step, one after another
    fetch_seconds: float  # every Map run, one after another
    report_seconds: float
    estimate: cost.CostEstimate

    @property
    def wall_seconds(self) -> float:
        """The loop runs a listing step, then the Map over its chunk, then the next listing
        step: nothing overlaps, so the wall time is the sum (Map run start-up and Step
        Functions' own latency not counted)."""
        return self.listing_seconds + self.fetch_seconds + self.report_seconds


def project(
    jobs: int = PROJECTION_JOBS,
    *,
    seconds_per_listing_page: float = PROJECTION_SECONDS_PER_LISTING_PAGE,
    fetch_page_seconds: float,
    report_seconds_per_page: float,
    deployed: cost.DeployedSizes | None = None,
) -> Projection:
    """A one-batch export of ``jobs``, listed at ``seconds_per_listing_page`` per Playment page
    of 100 jobs: the loop's counts from the cost model, its time by arithmetic."""
    inputs = cost.CostInputs(
        jobs=jobs,
        fetch_page_seconds=fetch_page_seconds,
        list_seconds_per_100_jobs=seconds_per_listing_page,
        report_seconds=0.0,
        deployed=deployed or cost.deployed_sizes(),
    )
    layout = cost.execution_layout(inputs)
    report_seconds = layout.pages * report_seconds_per_page
    inputs = replace(inputs, report_seconds=report_seconds)
    estimate = cost.estimate(inputs)
    concurrency = inputs.deployed.map_max_concurrency
    fetch_seconds = sum(
        ceil(pages / concurrency) * fetch_page_seconds for pages in layout.chunk_pages
    )
    return Projection(
        jobs=jobs,
        seconds_per_listing_page=seconds_per_listing_page,
        fetch_page_seconds=fetch_page_seconds,
        listing_steps=layout.listing_steps,
        report_steps=layout.report_steps,
        pages=layout.pages,
        invocations=cost.invocation_count(inputs, layout),
        transitions=estimate.paths.standard(
            layout.pages, layout.listing_steps, layout.report_steps
        ),
        history_events=estimate.history_events,
        listing_seconds=sum(ceil(chunk / 100) for chunk in layout.chunk_jobs)
        * seconds_per_listing_page,
        fetch_seconds=fetch_seconds,
        report_seconds=report_seconds,
        estimate=estimate,
    )


def format_projection(projection: Projection) -> str:
    paths = projection.estimate.paths
    per_state = ", ".join(
        f"{state} {cost.HISTORY_EVENTS_PER_STATE[state]}"
        for state in sorted({paths.types[name] for name in paths.parent})
    )
    listing_events = projection.estimate.paths.history_events(1, 0) - paths.history_events(0, 0)
    report_events = paths.history_events(0, 1) - paths.history_events(0, 0)
    hours = projection.wall_seconds / 3600
    return "\n".join(
        [
            f"Projection: {projection.jobs:,} jobs in one batch, "
            f"{projection.seconds_per_listing_page:g} s per listing page of 100, "
            f"{projection.fetch_page_seconds:.2f} s per fetched page",
            f"  listing steps {projection.listing_steps:,}, report steps "
            f"{projection.report_steps:,} (at most {MAX_PAGES_PER_STEP:,} pages each), pages "
            f"{projection.pages:,}",
            f"  Lambda invocations {projection.invocations:,} (FetchResult {projection.pages:,}, "
            f"ListPages {projection.listing_steps:,}, WriteReport {projection.report_steps:,})",
            f"  state transitions {projection.transitions:,} (STANDARD children)",
            f"  parent history events {projection.history_events:,} of "
            f"{cost.HISTORY_EVENTS_LIMIT:,} ({listing_events} per listing iteration, "
            f"{report_events} per report iteration; per state: {per_state}; + 2 per execution)",
            f"  wall time {projection.wall_seconds:,.0f} s = {hours:.1f} h: listing "
            f"{projection.listing_seconds:,.0f} s + fetching {projection.fetch_seconds:,.0f} s "
            f"+ report {projection.report_seconds:,.0f} s (the loop lists, then fetches the "
            "chunk, then lists the next: nothing overlaps)",
            f"  cost ${projection.estimate.total:,.2f} "
            f"(${projection.estimate.per_million_jobs:.2f} per 1,000,000 jobs), "
            + ", ".join(
                f"{service} {dollars:.2f}"
                for service, dollars in projection.estimate.by_service().items()
            ),
            *(f"  WARNING: {text}" for text in projection.estimate.warnings),
        ]
    )


def summary_for_json(
    figures: tuple[ExportFigures, ...], projection: Projection
) -> Mapping[str, Any]:
    return {
        "exports": [
            {
                "name": export.name,
                "jobs": export.jobs,
                "steps": [step.__dict__ for step in export.steps],
            }
            for export in figures
        ],
        "projection": {
            name: value for name, value in projection.__dict__.items() if name != "estimate"
        }
        | {"wall_seconds": projection.wall_seconds, "cost": projection.estimate.total},
    }
