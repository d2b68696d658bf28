"""What the cost model is given (``CostInputs``), the shape of one execution it works out
from them (``ExecutionLayout``: listing steps, pages, report steps), and what it answers."""

from dataclasses import dataclass, field
from math import ceil

from playment_bench.cost.stack import (
    PLAYMENT_LIST_PAGE,
    ChildExecutionType,
    DeployedSizes,
    deployed_sizes,
)
from playment_bench.cost.transitions import TransitionPaths
from playment_exporter.list_pages import PAGE_SIZE, page_size_for
from playment_exporter.report import MAX_PAGES_PER_STEP


@dataclass(frozen=True)
class CostInputs:
    """One export workload. The three durations are measured by the caller, not guessed here."""

    jobs: int
    fetch_page_seconds: float  # mean FetchResult duration for one page (of jobs_per_page)
    list_seconds_per_100_jobs: float  # ListPages duration per 100 jobs listed
    report_seconds: float  # WriteReport duration for one execution, all its steps
    jobs_per_page: int = PAGE_SIZE  # at most; a small chunk gets smaller pages (page_size_for)
    executions: int = 1
    batches_per_execution: int = 1
    s3_puts_per_job: float = 1.0  # one PutObject below 8 MiB; multipart is 2 + parts
    s3_requests_per_page: int = 2  # the page's outcome object and its index part
    secrets_calls: int | None = None  # per execution; None: as secrets_calls_per_execution
    child_execution_type: ChildExecutionType = "STANDARD"
    init_seconds: float = 1.0  # INIT of a cold container (billed since 2025-08-01); assumed
    log_bytes_per_invocation: int = 0  # CloudWatch Logs; 0 leaves the line out
    deployed: DeployedSizes = field(default_factory=deployed_sizes)

    def __post_init__(self) -> None:
        if self.jobs < 1 or self.jobs_per_page < 1 or self.executions < 1:
            raise ValueError("jobs, jobs_per_page and executions must be at least 1")
        if self.batches_per_execution < 1:
            raise ValueError("batches_per_execution must be at least 1")


@dataclass(frozen=True)
class ExecutionLayout:
    """How one execution's jobs fall into listing steps and pages, as ListPages cuts them:
    a step lists Playment pages of 100 until it has ``ListingStepJobs`` jobs (across batch
    boundaries); each (step, batch) piece is cut into pages of the step's page size."""

    chunk_jobs: tuple[int, ...]  # jobs listed by each listing step
    chunk_pages: tuple[int, ...]  # manifest pages of each step's chunk
    chunk_batches: tuple[int, ...]  # batches each step lists from
    page_sizes: tuple[int, ...]  # each step's page size

    @property
    def listing_steps(self) -> int:
        return len(self.chunk_jobs)

    @property
    def pages(self) -> int:
        return sum(self.chunk_pages)

    @property
    def report_steps(self) -> int:
        return max(1, ceil(self.pages / MAX_PAGES_PER_STEP))


@dataclass(frozen=True)
class CostLine:
    service: str
    item: str
    quantity: str
    dollars: float


@dataclass(frozen=True)
class CostEstimate:
    inputs: CostInputs
    layout: ExecutionLayout  # of one execution (all are alike)
    paths: TransitionPaths
    lines: tuple[CostLine, ...]
    other_child_type: CostLine  # the Step Functions line had the children been the other type
    assumptions: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def pages(self) -> int:
        return self.inputs.executions * self.layout.pages

    @property
    def listing_steps(self) -> int:
        """ListPages invocations, all executions together."""
        return self.inputs.executions * self.layout.listing_steps

    @property
    def report_steps(self) -> int:
        """WriteReport invocations, all executions together."""
        return self.inputs.executions * self.layout.report_steps

    @property
    def history_events(self) -> int:
        """Events in one execution's history."""
        return self.paths.history_events(self.layout.listing_steps, self.layout.report_steps)

    @property
    def total(self) -> float:
        return sum(line.dollars for line in self.lines)

    @property
    def per_million_jobs(self) -> float:
        return self.total * 1_000_000 / self.inputs.jobs

    def by_service(self) -> dict[str, float]:
        services: dict[str, float] = {}
        for line in self.lines:
            services[line.service] = services.get(line.service, 0.0) + line.dollars
        return services

    def line(self, service: str, item: str) -> CostLine:
        for line in self.lines:
            if (line.service, line.item) == (service, item):
                return line
        raise KeyError(f"no line {service} / {item}")


def execution_layout(inputs: CostInputs) -> ExecutionLayout:
    """One execution's steps and pages: its jobs in ``batches_per_execution`` batches of equal
    size (the last smaller), all completed and none exported yet."""
    jobs = ceil(inputs.jobs / inputs.executions)
    per_batch = ceil(jobs / inputs.batches_per_execution)
    batches = [min(per_batch, jobs - start) for start in range(0, jobs, per_batch)]
    step_jobs = inputs.deployed.listing_step_jobs
    chunks: list[list[int]] = [[]]  # per step: the jobs of each batch piece it lists
    for size in batches:
        left = size
        while left:
            if sum(chunks[-1]) >= step_jobs:
                chunks.append([])
            wanted = step_jobs - sum(chunks[-1])
            piece = min(left, ceil(wanted / PLAYMENT_LIST_PAGE) * PLAYMENT_LIST_PAGE)
            chunks[-1].append(piece)
            left -= piece
    sizes = [
        min(inputs.jobs_per_page, page_size_for(sum(chunk), inputs.deployed.map_max_concurrency))
        for chunk in chunks
    ]
    return ExecutionLayout(
        chunk_jobs=tuple(sum(chunk) for chunk in chunks),
        chunk_pages=tuple(
            sum(ceil(piece / size) for piece in chunk)
            for chunk, size in zip(chunks, sizes, strict=True)
        ),
        chunk_batches=tuple(len(chunk) for chunk in chunks),
        page_sizes=tuple(sizes),
    )


def page_count(inputs: CostInputs) -> int:
    """Manifest pages of the whole export, all executions together."""
    return inputs.executions * execution_layout(inputs).pages
