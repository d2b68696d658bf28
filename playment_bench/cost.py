"""What exporting N jobs costs on AWS, service by service, as the stack is deployed.

A model, not a bill: the counts (state transitions, invocations, S3 requests) come from
``statemachine/export.asl.json`` and ``template.yaml`` as they stand, the durations are measured
by the caller (``make bench``), and the prices are the list prices below, written down with the
day they were checked, so a reader can tell when the figure has gone stale.

Step Functions' counting rule, as AWS documents it: every state entered is one state transition
(retries included), and a distributed Map is charged one more transition per child workflow
execution it starts. The export runs in bounded steps, so the parent loops: the model reads
the definition by following each state's ``Next``, and a ``Choice``'s ``Default`` (the happy
path: there are pages to fetch; the export is complete), and a Choice rule that leads back to
a state already on that path closes a loop. The loop holding the distributed Map runs once per
listing step (``ceil(jobs / ListingStepJobs)``), the other once per report step
(``ceil(pages / MAX_PAGES_PER_STEP)``), the states outside both once per execution. Retries and
``Catch`` paths cost more transitions than this and are not counted: the model is of an export
that goes well.
"""

import json
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from math import ceil
from pathlib import Path
from typing import Any, Literal

from playment_exporter.defaults import LISTING_STEP_JOBS
from playment_exporter.list_pages import PAGE_SIZE, page_size_for
from playment_exporter.report import MAX_PAGES_PER_STEP
from playment_local.cfn_template import load_template

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = ROOT / "template.yaml"
DEFINITION_PATH = ROOT / "statemachine" / "export.asl.json"
FUNCTIONS_DIR = ROOT / "functions"

# ------------------------------------------------------------------ price list
# us-east-1, on-demand list prices, no free tier. Checked on PRICES_CHECKED_ON against stored
# copies of the pages in PRICE_SOURCES (their crawl dates are not known): check them again
# before relying on the figures.
PRICE_REGION = "us-east-1"
PRICES_CHECKED_ON = "2026-11-23"
PRICE_SOURCES = (
    "https://aws.amazon.com/step-functions/pricing/",
    "https://docs.aws.amazon.com/step-functions/latest/dg/concepts-transitions.html",
    "https://aws.amazon.com/lambda/pricing/",
    "https://aws.amazon.com/s3/pricing/",
    "https://aws.amazon.com/secrets-manager/pricing/",
    "https://aws.amazon.com/cloudwatch/pricing/",
)
SFN_STANDARD_PER_TRANSITION = 0.025 / 1_000
SFN_EXPRESS_PER_REQUEST = 1.00 / 1_000_000
SFN_EXPRESS_PER_GB_SECOND = 0.00001667  # first tier (1,000 GB-hours a month)
SFN_EXPRESS_MEMORY_CHUNK_MB = 64  # memory is billed in 64 MB chunks
SFN_EXPRESS_DURATION_STEP_S = 0.1  # duration is rounded up to the next 100 ms
LAMBDA_ARM64_PER_GB_SECOND = 0.0000133334  # first tier (7.5 billion GB-seconds a month)
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
S3_STANDARD_PER_PUT = 0.005 / 1_000  # PUT, COPY, POST and LIST
S3_STANDARD_PER_GET = 0.0004 / 1_000  # GET, SELECT and the rest
SECRETS_PER_API_CALL = 0.05 / 10_000
SECRETS_PER_SECRET_MONTH = 0.40
LOGS_PER_GB_INGESTED = 0.50
CLOUDWATCH_PER_ALARM_MONTH = 0.10  # standard resolution
CLOUDWATCH_PER_METRIC_MONTH = 0.30  # first 10,000 metrics

# ------------------------------------------------------------------ facts of the code
SECRET_CACHE_SECONDS = 300  # playment_exporter.api_key.CACHE_SECONDS
RESULT_WRITER_PUTS = 2  # per Map run, the ResultWriter: manifest.json and one SUCCEEDED_0.json
S3_LIST_PAGE = 1_000  # keys per ListObjectsV2 response
PLAYMENT_LIST_PAGE = 100  # jobs per page of Playment's batch listing (not ours to choose)
HISTORY_EVENTS_LIMIT = 25_000  # a STANDARD execution's event history, at most
# Events a state adds to the execution's history when it goes well: a Task entered, scheduled,
# started, succeeded and exited; a Choice, Pass or Succeed entered and exited; a distributed
# Map entered, its Map Run started and succeeded, exited (the children's events are in their
# own executions' histories). Plus ExecutionStarted and ExecutionSucceeded once.
HISTORY_EVENTS_PER_STATE = {"Task": 5, "Choice": 2, "Pass": 2, "Succeed": 2, "Map": 4}
HISTORY_EVENTS_PER_EXECUTION = 2
LAMBDA_DEFAULT_MEMORY_MB = 128
LAMBDA_DEFAULT_TIMEOUT_S = 3
GIB = 1024**3
NOTE_WIDTH = 100

ChildExecutionType = Literal["STANDARD", "EXPRESS"]


# ------------------------------------------------------------------ the deployed stack


@dataclass(frozen=True)
class FunctionSize:
    memory_mb: int
    timeout_s: int

    @property
    def memory_gb(self) -> float:
        return self.memory_mb / 1024


@dataclass(frozen=True)
class DeployedSizes:
    """What template.yaml gives the functions and the Map; the cost scales with these."""

    fetch_result: FunctionSize
    list_pages: FunctionSize
    write_report: FunctionSize
    map_max_concurrency: int
    alarms: int
    listing_step_jobs: int = LISTING_STEP_JOBS  # jobs one ListPages step lists, at most

    def __post_init__(self) -> None:
        if self.listing_step_jobs < 1 or self.map_max_concurrency < 1:
            raise ValueError("ListingStepJobs and MapMaxConcurrency must be at least 1")


def deployed_sizes(template_path: Path = TEMPLATE_PATH) -> DeployedSizes:
    document = load_template(template_path)
    return DeployedSizes(
        fetch_result=_function_size(document, "FetchResultFunction"),
        list_pages=_function_size(document, "ListPagesFunction"),
        write_report=_function_size(document, "WriteReportFunction"),
        map_max_concurrency=int(document["Parameters"]["MapMaxConcurrency"]["Default"]),
        listing_step_jobs=int(
            document["Parameters"].get("ListingStepJobs", {}).get("Default", LISTING_STEP_JOBS)
        ),
        alarms=sum(
            1
            for resource in document["Resources"].values()
            if resource.get("Type") == "AWS::CloudWatch::Alarm"
        ),
    )


def _function_size(document: Mapping[str, Any], logical_id: str) -> FunctionSize:
    """The function's own MemorySize and Timeout, else the Globals', else Lambda's defaults."""
    own = document["Resources"][logical_id].get("Properties", {})
    shared = document.get("Globals", {}).get("Function", {})

    def setting(name: str, default: int) -> int:
        value = own.get(name, shared.get(name, default))
        if not isinstance(value, int):
            raise ValueError(f"{logical_id}.{name} is not a plain number in the template: {value}")
        return value

    return FunctionSize(
        memory_mb=setting("MemorySize", LAMBDA_DEFAULT_MEMORY_MB),
        timeout_s=setting("Timeout", LAMBDA_DEFAULT_TIMEOUT_S),
    )


def handler_metric_names(functions_dir: Path = FUNCTIONS_DIR) -> frozenset[str]:
    """The custom metrics the handlers publish (each one a metric-month on CloudWatch)."""
    pattern = re.compile(r"""add_metric\(\s*["']([A-Za-z0-9_]+)["']""")
    return frozenset(
        name
        for app in sorted(functions_dir.glob("*/app.py"))
        for name in pattern.findall(app.read_text())
    )


# ------------------------------------------------------------------ state transitions


@dataclass(frozen=True)
class TransitionPaths:
    """The states one export enters when it goes well: ``once`` per execution, ``listing``
    per listing step (the loop around the distributed Map), ``report`` per report step, and
    ``child`` per page. ``types`` maps each of them to its state type."""

    once: tuple[str, ...]
    listing: tuple[str, ...]
    report: tuple[str, ...]
    child: tuple[str, ...]
    types: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def parent(self) -> tuple[str, ...]:
        """Every state of the parent's path, in the order first entered."""
        return tuple(self.types) if self.types else self.once + self.listing + self.report

    def parent_transitions(self, listing_steps: int, report_steps: int, executions: int = 1) -> int:
        """The parent's own transitions, all executions together (steps are totals too)."""
        return (
            executions * len(self.once)
            + listing_steps * len(self.listing)
            + report_steps * len(self.report)
        )

    def standard(
        self, pages: int, listing_steps: int = 1, report_steps: int = 1, executions: int = 1
    ) -> int:
        """Billed transitions: the parent's states, and per page one for the child's start
        (distributed Map) plus the child's own states."""
        parent = self.parent_transitions(listing_steps, report_steps, executions)
        return parent + pages * (1 + len(self.child))

    def express(
        self, pages: int, listing_steps: int = 1, report_steps: int = 1, executions: int = 1
    ) -> int:
        """Billed transitions with EXPRESS children: their states are billed as duration."""
        return self.parent_transitions(listing_steps, report_steps, executions) + pages

    def history_events(self, listing_steps: int, report_steps: int) -> int:
        """Events in one execution's history (``HISTORY_EVENTS_PER_STATE``); AWS caps it at
        ``HISTORY_EVENTS_LIMIT``."""

        def events(states: tuple[str, ...]) -> int:
            return sum(HISTORY_EVENTS_PER_STATE[self.types[name]] for name in states)

        return (
            HISTORY_EVENTS_PER_EXECUTION
            + events(self.once)
            + listing_steps * events(self.listing)
            + report_steps * events(self.report)
        )


@cache
def transition_paths(definition_path: Path = DEFINITION_PATH) -> TransitionPaths:
    definition = json.loads(Path(definition_path).read_text())
    states: Mapping[str, Any] = definition["States"]
    path = success_path(definition)
    loops = path_loops(definition, path)
    with_map = [loop for loop in loops if any(states[name]["Type"] == "Map" for name in loop)]
    if len(loops) != 2 or len(with_map) != 1:
        raise ValueError(
            f"expected two loops on the parent's path, one around the distributed Map: {loops}"
        )
    listing = with_map[0]
    maps = [states[name] for name in listing if states[name]["Type"] == "Map"]
    if len(maps) != 1 or "ItemProcessor" not in maps[0]:
        raise ValueError("expected one distributed Map in the listing loop")
    report = next(loop for loop in loops if loop is not listing)
    looped = set(listing) | set(report)
    return TransitionPaths(
        once=tuple(name for name in path if name not in looped),
        listing=listing,
        report=report,
        child=success_path(maps[0]["ItemProcessor"]),
        types={name: str(states[name]["Type"]) for name in path},
    )


def success_path(machine: Mapping[str, Any]) -> tuple[str, ...]:
    """The states entered from ``StartAt`` to the end, each in the order first entered, a
    Choice taking its ``Default`` (the way out of a loop, in this definition)."""
    states: Mapping[str, Any] = machine["States"]
    path: list[str] = []
    name: str | None = machine["StartAt"]
    while name is not None:
        if name in path:
            raise ValueError(f"the default path loops back to {name}")
        path.append(name)
        name = _next_on_success(name, states[name])
    if states[path[-1]]["Type"] == "Fail":
        raise ValueError(f"the default path ends in the Fail state {path[-1]}")
    return tuple(path)


def path_loops(machine: Mapping[str, Any], path: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """The loops on ``path``: a Choice rule whose ``Next`` is a state earlier on the path (or
    the Choice itself) closes one, from that state to the Choice. Loops may not overlap."""
    states: Mapping[str, Any] = machine["States"]
    loops: list[tuple[str, ...]] = []
    for index, name in enumerate(path):
        if states[name]["Type"] != "Choice":
            continue
        for rule in states[name].get("Choices", []):
            target = rule.get("Next")
            if target in path[: index + 1]:
                loop = path[path.index(target) : index + 1]
                if any(set(loop) & set(other) for other in loops):
                    raise ValueError(f"the loop {loop} overlaps another: {loops}")
                loops.append(loop)
    return tuple(loops)


def _next_on_success(name: str, state: Mapping[str, Any]) -> str | None:
    if state["Type"] in ("Succeed", "Fail") or state.get("End"):
        return None
    if state["Type"] == "Choice":
        if "Default" not in state:
            raise ValueError(f"Choice {name} has no Default to follow")
        return str(state["Default"])
    return str(state["Next"])


# ------------------------------------------------------------------ inputs and results


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


# ------------------------------------------------------------------ the model


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


def estimate(inputs: CostInputs) -> CostEstimate:
    layout = execution_layout(inputs)
    paths = transition_paths()
    other: ChildExecutionType = (
        "EXPRESS" if inputs.child_execution_type == "STANDARD" else "STANDARD"
    )
    lines = (
        step_functions_line(inputs, paths, layout, inputs.child_execution_type),
        *lambda_compute_lines(inputs, layout),
        lambda_requests_line(inputs, layout),
        s3_put_line(inputs, layout),
        s3_other_line(inputs, layout),
        secrets_line(inputs, layout),
        *logs_lines(inputs, layout),
    )
    return CostEstimate(
        inputs=inputs,
        layout=layout,
        paths=paths,
        lines=lines,
        other_child_type=step_functions_line(inputs, paths, layout, other),
        assumptions=assumptions(inputs, paths, layout),
        warnings=warnings(inputs, paths, layout),
    )


def step_functions_line(
    inputs: CostInputs,
    paths: TransitionPaths,
    layout: ExecutionLayout,
    child_type: ChildExecutionType,
) -> CostLine:
    runs = inputs.executions
    pages = runs * layout.pages
    steps = (runs * layout.listing_steps, runs * layout.report_steps, runs)
    if child_type == "STANDARD":
        transitions = paths.standard(pages, *steps)
        return CostLine(
            "Step Functions",
            "transitions (STANDARD children)",
            f"{transitions:,} transitions",
            transitions * SFN_STANDARD_PER_TRANSITION,
        )
    transitions = paths.express(pages, *steps)
    billed_seconds = _round_up(inputs.fetch_page_seconds, SFN_EXPRESS_DURATION_STEP_S)
    gb_seconds = pages * billed_seconds * SFN_EXPRESS_MEMORY_CHUNK_MB / 1024
    dollars = (
        transitions * SFN_STANDARD_PER_TRANSITION
        + pages * SFN_EXPRESS_PER_REQUEST
        + gb_seconds * SFN_EXPRESS_PER_GB_SECOND
    )
    return CostLine(
        "Step Functions",
        "EXPRESS children",
        f"{transitions:,} transitions + {pages:,} req + {gb_seconds:,.0f} GB-s",
        dollars,
    )


def lambda_compute_lines(inputs: CostInputs, layout: ExecutionLayout) -> tuple[CostLine, ...]:
    sizes = inputs.deployed
    pages = inputs.executions * layout.pages
    runs = (
        ("FetchResult", sizes.fetch_result, pages * inputs.fetch_page_seconds),
        ("ListPages", sizes.list_pages, inputs.jobs / 100 * inputs.list_seconds_per_100_jobs),
        ("WriteReport", sizes.write_report, inputs.executions * inputs.report_seconds),
    )
    lines = [_gb_second_line(name, size, seconds) for name, size, seconds in runs]
    init_gb_seconds = sum(
        containers * inputs.init_seconds * size.memory_gb
        for containers, size in cold_containers(inputs, layout)
    )
    lines.append(
        CostLine(
            "Lambda compute",
            "INIT (cold starts)",
            f"{init_gb_seconds:,.1f} GB-s",
            init_gb_seconds * LAMBDA_ARM64_PER_GB_SECOND,
        )
    )
    return tuple(lines)


def _gb_second_line(name: str, size: FunctionSize, seconds: float) -> CostLine:
    gb_seconds = seconds * size.memory_gb
    return CostLine(
        "Lambda compute",
        name,
        f"{gb_seconds:,.1f} GB-s ({size.memory_mb} MB)",
        gb_seconds * LAMBDA_ARM64_PER_GB_SECOND,
    )


def cold_containers(
    inputs: CostInputs, layout: ExecutionLayout
) -> tuple[tuple[int, FunctionSize], ...]:
    """Containers started per export: each execution is assumed to start cold (a daily
    schedule outlives Lambda's idle containers), FetchResult as wide as the widest Map run;
    the steps of a loop follow each other within minutes and reuse their warm containers."""
    sizes = inputs.deployed
    fetch_containers = min(sizes.map_max_concurrency, max(layout.chunk_pages))
    return (
        (inputs.executions * fetch_containers, sizes.fetch_result),
        (inputs.executions, sizes.list_pages),
        (inputs.executions, sizes.write_report),
    )


def lambda_requests_line(inputs: CostInputs, layout: ExecutionLayout) -> CostLine:
    invocations = invocation_count(inputs, layout)
    return CostLine(
        "Lambda requests",
        "invocations",
        f"{invocations:,} invocations",
        invocations * LAMBDA_PER_REQUEST,
    )


def invocation_count(inputs: CostInputs, layout: ExecutionLayout) -> int:
    """FetchResult per page, ListPages per listing step, WriteReport per report step."""
    return inputs.executions * (layout.pages + layout.listing_steps + layout.report_steps)


def s3_puts(inputs: CostInputs, layout: ExecutionLayout) -> int:
    """Results and the pages' outcomes; per listing step its manifest and listing outcome,
    the Map run's ResultWriter files, and the report's two job lists of that chunk (written
    empty too); per execution the batch plan (first step) and the report."""
    per_step = 2 + RESULT_WRITER_PUTS + 2
    per_execution = 1 + layout.listing_steps * per_step + 1
    return (
        ceil(inputs.jobs * inputs.s3_puts_per_job)
        + inputs.executions * layout.pages * inputs.s3_requests_per_page
        + inputs.executions * per_execution
    )


def s3_put_line(inputs: CostInputs, layout: ExecutionLayout) -> CostLine:
    puts = s3_puts(inputs, layout)
    return CostLine("S3 PUT", "PutObject", f"{puts:,} PUT", puts * S3_STANDARD_PER_PUT)


def s3_lists_and_gets(inputs: CostInputs, layout: ExecutionLayout) -> tuple[int, int]:
    """Per execution, times executions. LISTs (billed as PUTs): each listing step lists the
    exported keys of each batch it lists from (one LIST on a first export); the report lists
    each chunk's page outcomes (one per 1,000 pages). GETs: the Map's ItemReader reads each
    chunk's manifest; each step after the first reads the batch plan; the report reads each
    chunk's manifest and settled jobs, every page outcome, and the batch plan."""
    lists = sum(layout.chunk_batches) + sum(
        ceil(pages / S3_LIST_PAGE) for pages in layout.chunk_pages
    )
    steps = layout.listing_steps
    gets = steps + (steps - 1) + 2 * steps + layout.pages + 1
    return inputs.executions * lists, inputs.executions * gets


def s3_other_line(inputs: CostInputs, layout: ExecutionLayout) -> CostLine:
    lists, gets = s3_lists_and_gets(inputs, layout)
    dollars = lists * S3_STANDARD_PER_PUT + gets * S3_STANDARD_PER_GET
    return CostLine("S3 other", "LIST + GET", f"{lists:,} LIST + {gets:,} GET", dollars)


def secrets_line(inputs: CostInputs, layout: ExecutionLayout) -> CostLine:
    calls = inputs.executions * secrets_calls_per_execution(inputs, layout)
    return CostLine(
        "Secrets Manager",
        "GetSecretValue",
        f"{calls:,} calls",
        calls * SECRETS_PER_API_CALL,
    )


def secrets_calls_per_execution(inputs: CostInputs, layout: ExecutionLayout) -> int:
    """As given, else: each listing step reads the key once (steps are further apart than
    the five minutes it is cached, at most one more call than needed), and each FetchResult
    container once per five minutes of the Map runs (Powertools' cache)."""
    if inputs.secrets_calls is not None:
        return inputs.secrets_calls
    containers = min(inputs.deployed.map_max_concurrency, max(layout.chunk_pages))
    map_seconds = sum(
        ceil(pages / containers) * inputs.fetch_page_seconds for pages in layout.chunk_pages
    )
    return layout.listing_steps + containers * max(1, ceil(map_seconds / SECRET_CACHE_SECONDS))


def logs_lines(inputs: CostInputs, layout: ExecutionLayout) -> tuple[CostLine, ...]:
    if inputs.log_bytes_per_invocation <= 0:
        return ()
    gigabytes = invocation_count(inputs, layout) * inputs.log_bytes_per_invocation / GIB
    return (
        CostLine(
            "CloudWatch Logs",
            "ingestion",
            f"{gigabytes:,.3f} GB",
            gigabytes * LOGS_PER_GB_INGESTED,
        ),
    )


def _round_up(value: float, step: float) -> float:
    return ceil(round(value / step, 9)) * step


# ------------------------------------------------------------------ what the figure assumes


def assumptions(
    inputs: CostInputs, paths: TransitionPaths, layout: ExecutionLayout
) -> tuple[str, ...]:
    sizes = inputs.deployed
    metrics = handler_metric_names()
    fixed_monthly = (
        SECRETS_PER_SECRET_MONTH
        + sizes.alarms * CLOUDWATCH_PER_ALARM_MONTH
        + len(metrics) * CLOUDWATCH_PER_METRIC_MONTH
    )
    page_sizes = sorted(set(layout.page_sizes))
    return (
        f"Step Functions: each state entered is billed; per execution "
        f"{' > '.join(paths.once)} = {len(paths.once)}; per listing step "
        f"{' > '.join(paths.listing)} = {len(paths.listing)} ({layout.listing_steps:,} step(s) of "
        f"at most {sizes.listing_step_jobs:,} jobs, ListingStepJobs); per report step "
        f"{' > '.join(paths.report)} = {len(paths.report)} ({layout.report_steps:,} step(s) of at "
        f"most {MAX_PAGES_PER_STEP:,} pages); each page: 1 for the child's start (distributed "
        f"Map) + {' > '.join(paths.child)} = {1 + len(paths.child)} (STANDARD) or 1 + "
        f"{SFN_EXPRESS_MEMORY_CHUNK_MB} MB x duration rounded up to 100 ms (EXPRESS). "
        f"Retries and Catch paths are not counted. {history_note(paths, layout)}",
        f"Pages of {', '.join(str(size) for size in page_sizes)} jobs (page_size_for: at most "
        f"{inputs.jobs_per_page}, fewer in a chunk under {inputs.jobs_per_page} x "
        f"MapMaxConcurrency jobs); {inputs.batches_per_execution} batch(es) per execution, "
        "every job completed and none exported yet.",
        f"Lambda arm64, memory from template.yaml (FetchResult {sizes.fetch_result.memory_mb} MB, "
        f"ListPages {sizes.list_pages.memory_mb} MB, WriteReport {sizes.write_report.memory_mb} "
        f"MB); measured: {inputs.fetch_page_seconds:g} s per page, "
        f"{inputs.list_seconds_per_100_jobs:g} s per 100 jobs listed, {inputs.report_seconds:g} s "
        f"of report per execution; INIT {inputs.init_seconds:g} s per cold container, "
        f"{cold_containers(inputs, layout)[0][0]:,} FetchResult containers "
        f"(MapMaxConcurrency {sizes.map_max_concurrency}), one ListPages and one WriteReport "
        "container per execution (its steps reuse it).",
        f"S3 Standard: {inputs.s3_puts_per_job:g} PUT per job (a result of 8 MiB or more is a "
        f"multipart upload: 2 + parts), {inputs.s3_requests_per_page} per page, 2 per listing "
        f"step and {RESULT_WRITER_PUTS} per Map run; a first export (a re-run adds one LIST "
        "per 1,000 jobs already exported); LIST billed as PUT.",
        f"Secrets Manager: {secrets_calls_per_execution(inputs, layout):,} calls per execution.",
        f"Fixed monthly, not in the total: ${fixed_monthly:.2f} (1 secret, {sizes.alarms} alarms, "
        f"{len(metrics)} custom metrics).",
        "Not included: free tiers; S3 storage; X-Ray traces (sampled); KMS; data transfer "
        "(inbound from Playment is free, no NAT: the functions are not in a VPC)"
        + (
            "; CloudWatch Logs (give log_bytes_per_invocation)."
            if not inputs.log_bytes_per_invocation
            else "."
        ),
    )


def history_note(paths: TransitionPaths, layout: ExecutionLayout) -> str:
    events = paths.history_events(layout.listing_steps, layout.report_steps)
    return (
        f"The execution's history: {events:,} events (limit {HISTORY_EVENTS_LIMIT:,}; a Task "
        f"{HISTORY_EVENTS_PER_STATE['Task']}, a Choice or Pass {HISTORY_EVENTS_PER_STATE['Pass']}"
        f", the Map {HISTORY_EVENTS_PER_STATE['Map']})."
    )


def warnings(
    inputs: CostInputs, paths: TransitionPaths, layout: ExecutionLayout
) -> tuple[str, ...]:
    """Where the workload would not run as modelled: a function past its timeout (a listing
    step lists at most ListingStepJobs jobs; a report step reads at most MAX_PAGES_PER_STEP
    pages), or an execution past its history's limit."""
    sizes = inputs.deployed
    list_seconds = max(layout.chunk_jobs) / 100 * inputs.list_seconds_per_100_jobs
    report_seconds = inputs.report_seconds / layout.report_steps
    checks = (
        ("ListPages", list_seconds, sizes.list_pages.timeout_s, "lower ListingStepJobs"),
        ("FetchResult", inputs.fetch_page_seconds, sizes.fetch_result.timeout_s, "smaller pages"),
        ("WriteReport", report_seconds, sizes.write_report.timeout_s, "fewer pages per step"),
    )
    found = [
        f"{name} would run {seconds:,.0f} s per invocation, past its {timeout} s timeout "
        f"(its deadline would cut the step short: {remedy})"
        for name, seconds, timeout, remedy in checks
        if seconds > timeout
    ]
    events = paths.history_events(layout.listing_steps, layout.report_steps)
    if events > HISTORY_EVENTS_LIMIT:
        found.append(
            f"an execution would log {events:,} history events, past the limit of "
            f"{HISTORY_EVENTS_LIMIT:,}: raise ListingStepJobs or split the export into more "
            "executions"
        )
    if inputs.child_execution_type == "EXPRESS" and inputs.fetch_page_seconds > 300:
        found.append("an EXPRESS child runs at most 5 minutes")
    return tuple(found)


# ------------------------------------------------------------------ the table


def format_estimate(estimate: CostEstimate) -> str:
    inputs = estimate.inputs
    header = (
        f"Export of {inputs.jobs:,} jobs: {estimate.pages:,} pages of up to "
        f"{max(estimate.layout.page_sizes)}, {inputs.executions:,} execution(s) of "
        f"{estimate.layout.listing_steps:,} listing step(s) and {estimate.layout.report_steps:,} "
        f"report step(s), {inputs.child_execution_type} children"
    )
    rows = [("service", "item", "quantity", "USD")]
    rows += [
        (line.service, line.item, line.quantity, _dollars(line.dollars)) for line in estimate.lines
    ]
    rows.append(("Total", "", "", f"{estimate.total:.4f}"))
    rows.append(("Per 1,000,000 jobs", "", "", f"{estimate.per_million_jobs:.2f}"))
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    table = [
        "  ".join(
            (cell.rjust(width) if column == 3 else cell.ljust(width))
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    other = estimate.other_child_type
    comparison = (
        f"With {'EXPRESS' if inputs.child_execution_type == 'STANDARD' else 'STANDARD'} children "
        f"instead: Step Functions {other.dollars:.4f} ({other.quantity}), total "
        f"{estimate.total - estimate.by_service()['Step Functions'] + other.dollars:.4f}."
    )
    notes = [
        f"Prices: {PRICE_REGION} on-demand list prices, checked {PRICES_CHECKED_ON}.",
        comparison,
        *(f"- {text}" for text in estimate.assumptions),
        *(f"WARNING: {text}" for text in estimate.warnings),
    ]
    wrapped = [textwrap.fill(note, width=NOTE_WIDTH, subsequent_indent="  ") for note in notes]
    return "\n".join([header, *table, "", *wrapped])


def _dollars(amount: float) -> str:
    """Four decimals; an amount too small to show says so rather than printing 0.0000."""
    return "<0.0001" if 0 < amount < 0.00005 else f"{amount:.4f}"
