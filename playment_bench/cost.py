"""What exporting N jobs costs on AWS, service by service, as the stack is deployed.

A model, not a bill: the counts (state transitions, invocations, S3 requests) come from
``statemachine/export.asl.json`` and ``template.yaml`` as they stand, the durations are measured
by the caller (``make bench``), and the prices are the list prices below, written down with the
day they were checked, so a reader can tell when the figure has gone stale.

Step Functions' counting rule, as AWS documents it: every state entered is one state transition
(retries included), and a distributed Map is charged one more transition per child workflow
execution it starts. The parent's path and the child's path are read from the definition by
following each state's ``Next``, and a ``Choice``'s ``Default``, which in this definition is the
happy path (there are pages to fetch; the export is complete). Retries and ``Catch`` paths cost
more transitions than this and are not counted: the model is of an export that goes well.
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
RESULT_WRITER_PUTS = 2  # the Map's ResultWriter: manifest.json and one SUCCEEDED_0.json
S3_LIST_PAGE = 1_000  # keys per ListObjectsV2 response
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


def deployed_sizes(template_path: Path = TEMPLATE_PATH) -> DeployedSizes:
    document = load_template(template_path)
    return DeployedSizes(
        fetch_result=_function_size(document, "FetchResultFunction"),
        list_pages=_function_size(document, "ListPagesFunction"),
        write_report=_function_size(document, "WriteReportFunction"),
        map_max_concurrency=int(document["Parameters"]["MapMaxConcurrency"]["Default"]),
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
    """The states one export enters when it goes well: the parent's once, a child's per page."""

    parent: tuple[str, ...]
    child: tuple[str, ...]

    def standard(self, pages: int, executions: int = 1) -> int:
        """Billed transitions: the parent's states, and per page one for the child's start
        (distributed Map) plus the child's own states."""
        return executions * len(self.parent) + pages * (1 + len(self.child))

    def express(self, pages: int, executions: int = 1) -> int:
        """Billed transitions with EXPRESS children: their states are billed as duration."""
        return executions * len(self.parent) + pages


@cache
def transition_paths(definition_path: Path = DEFINITION_PATH) -> TransitionPaths:
    definition = json.loads(Path(definition_path).read_text())
    parent = success_path(definition)
    maps = [
        definition["States"][name] for name in parent if definition["States"][name]["Type"] == "Map"
    ]
    if len(maps) != 1 or "ItemProcessor" not in maps[0]:
        raise ValueError("expected one distributed Map on the parent's path")
    return TransitionPaths(parent=parent, child=success_path(maps[0]["ItemProcessor"]))


def success_path(machine: Mapping[str, Any]) -> tuple[str, ...]:
    """The states entered from ``StartAt`` to the end, a Choice taking its ``Default``."""
    states: Mapping[str, Any] = machine["States"]
    path: list[str] = []
    name: str | None = machine["StartAt"]
    while name is not None:
        if name in path:
            raise ValueError(f"the path loops back to {name}")
        path.append(name)
        name = _next_on_success(name, states[name])
    if states[path[-1]]["Type"] == "Fail":
        raise ValueError(f"the default path ends in the Fail state {path[-1]}")
    return tuple(path)


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
    fetch_page_seconds: float  # mean FetchResult duration for one page
    list_seconds_per_100_jobs: float  # ListPages duration per 100 jobs listed
    report_seconds: float  # WriteReport duration for one execution
    jobs_per_page: int = 100
    executions: int = 1
    batches_per_execution: int = 1
    s3_puts_per_job: float = 1.0  # one PutObject below 8 MiB; multipart is 2 + parts
    s3_requests_per_page: int = 1  # the page's outcome object
    secrets_calls: int | None = None  # per execution; None: one per container per 5 minutes
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
class CostLine:
    service: str
    item: str
    quantity: str
    dollars: float


@dataclass(frozen=True)
class CostEstimate:
    inputs: CostInputs
    pages: int
    paths: TransitionPaths
    lines: tuple[CostLine, ...]
    other_child_type: CostLine  # the Step Functions line had the children been the other type
    assumptions: tuple[str, ...]
    warnings: tuple[str, ...]

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


def page_count(inputs: CostInputs) -> int:
    """Pages of the manifest: each batch is cut into pages of its own."""
    batches = inputs.executions * inputs.batches_per_execution
    return batches * ceil(ceil(inputs.jobs / batches) / inputs.jobs_per_page)


def estimate(inputs: CostInputs) -> CostEstimate:
    pages = page_count(inputs)
    paths = transition_paths()
    other: ChildExecutionType = (
        "EXPRESS" if inputs.child_execution_type == "STANDARD" else "STANDARD"
    )
    lines = (
        step_functions_line(inputs, paths, pages, inputs.child_execution_type),
        *lambda_compute_lines(inputs, pages),
        lambda_requests_line(inputs, pages),
        s3_put_line(inputs, pages),
        s3_other_line(inputs, pages),
        secrets_line(inputs, pages),
        *logs_lines(inputs, pages),
    )
    return CostEstimate(
        inputs=inputs,
        pages=pages,
        paths=paths,
        lines=lines,
        other_child_type=step_functions_line(inputs, paths, pages, other),
        assumptions=assumptions(inputs, paths, pages),
        warnings=warnings(inputs, pages),
    )


def step_functions_line(
    inputs: CostInputs, paths: TransitionPaths, pages: int, child_type: ChildExecutionType
) -> CostLine:
    if child_type == "STANDARD":
        transitions = paths.standard(pages, inputs.executions)
        return CostLine(
            "Step Functions",
            "transitions (STANDARD children)",
            f"{transitions:,} transitions",
            transitions * SFN_STANDARD_PER_TRANSITION,
        )
    transitions = paths.express(pages, inputs.executions)
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


def lambda_compute_lines(inputs: CostInputs, pages: int) -> tuple[CostLine, ...]:
    sizes = inputs.deployed
    runs = (
        ("FetchResult", sizes.fetch_result, pages * inputs.fetch_page_seconds),
        ("ListPages", sizes.list_pages, inputs.jobs / 100 * inputs.list_seconds_per_100_jobs),
        ("WriteReport", sizes.write_report, inputs.executions * inputs.report_seconds),
    )
    lines = [_gb_second_line(name, size, seconds) for name, size, seconds in runs]
    init_gb_seconds = sum(
        containers * inputs.init_seconds * size.memory_gb
        for containers, size in cold_containers(inputs, pages)
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


def cold_containers(inputs: CostInputs, pages: int) -> tuple[tuple[int, FunctionSize], ...]:
    """Containers started per export: each execution is assumed to start cold (a daily
    schedule outlives Lambda's idle containers), FetchResult as wide as the Map runs."""
    sizes = inputs.deployed
    fetch_containers = min(sizes.map_max_concurrency, ceil(pages / inputs.executions))
    return (
        (inputs.executions * fetch_containers, sizes.fetch_result),
        (inputs.executions, sizes.list_pages),
        (inputs.executions, sizes.write_report),
    )


def lambda_requests_line(inputs: CostInputs, pages: int) -> CostLine:
    invocations = invocation_count(inputs, pages)
    return CostLine(
        "Lambda requests",
        "invocations",
        f"{invocations:,} invocations",
        invocations * LAMBDA_PER_REQUEST,
    )


def invocation_count(inputs: CostInputs, pages: int) -> int:
    return pages + 2 * inputs.executions  # FetchResult per page; ListPages, WriteReport


def s3_put_line(inputs: CostInputs, pages: int) -> CostLine:
    """Results, the pages' outcomes, and per execution: the manifest, one listing outcome per
    batch, the report and the ResultWriter's files."""
    per_execution = 2 + inputs.batches_per_execution + RESULT_WRITER_PUTS
    puts = (
        ceil(inputs.jobs * inputs.s3_puts_per_job)
        + pages * inputs.s3_requests_per_page
        + inputs.executions * per_execution
    )
    return CostLine("S3 PUT", "PutObject", f"{puts:,} PUT", puts * S3_STANDARD_PER_PUT)


def s3_other_line(inputs: CostInputs, pages: int) -> CostLine:
    """LISTs (billed as PUTs) and GETs: ListPages lists each batch's exported keys (one LIST
    on a first export); the Map reads the manifest; WriteReport lists and reads every outcome
    object and the manifest."""
    batches = inputs.executions * inputs.batches_per_execution
    outcome_objects_per_execution = ceil(pages / inputs.executions) + inputs.batches_per_execution
    lists = batches + inputs.executions * ceil(outcome_objects_per_execution / S3_LIST_PAGE)
    gets = inputs.executions * (1 + 1 + outcome_objects_per_execution)
    dollars = lists * S3_STANDARD_PER_PUT + gets * S3_STANDARD_PER_GET
    return CostLine("S3 other", "LIST + GET", f"{lists:,} LIST + {gets:,} GET", dollars)


def secrets_line(inputs: CostInputs, pages: int) -> CostLine:
    calls = inputs.executions * secrets_calls_per_execution(inputs, pages)
    return CostLine(
        "Secrets Manager",
        "GetSecretValue",
        f"{calls:,} calls",
        calls * SECRETS_PER_API_CALL,
    )


def secrets_calls_per_execution(inputs: CostInputs, pages: int) -> int:
    """As given, else: ListPages reads the key once, and each FetchResult container once per
    five minutes of the Map's run (Powertools' cache)."""
    if inputs.secrets_calls is not None:
        return inputs.secrets_calls
    pages_per_execution = ceil(pages / inputs.executions)
    containers = min(inputs.deployed.map_max_concurrency, pages_per_execution)
    map_seconds = ceil(pages_per_execution / containers) * inputs.fetch_page_seconds
    return 1 + containers * max(1, ceil(map_seconds / SECRET_CACHE_SECONDS))


def logs_lines(inputs: CostInputs, pages: int) -> tuple[CostLine, ...]:
    if inputs.log_bytes_per_invocation <= 0:
        return ()
    gigabytes = invocation_count(inputs, pages) * inputs.log_bytes_per_invocation / GIB
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


def assumptions(inputs: CostInputs, paths: TransitionPaths, pages: int) -> tuple[str, ...]:
    sizes = inputs.deployed
    metrics = handler_metric_names()
    fixed_monthly = (
        SECRETS_PER_SECRET_MONTH
        + sizes.alarms * CLOUDWATCH_PER_ALARM_MONTH
        + len(metrics) * CLOUDWATCH_PER_METRIC_MONTH
    )
    return (
        f"Step Functions: each state entered is billed; parent {' > '.join(paths.parent)} "
        f"= {len(paths.parent)} per execution; each page: 1 for the child's start (distributed "
        f"Map) + {' > '.join(paths.child)} = {1 + len(paths.child)} (STANDARD) or 1 + "
        f"{SFN_EXPRESS_MEMORY_CHUNK_MB} MB x duration rounded up to 100 ms (EXPRESS). "
        "Retries and Catch paths are not counted.",
        f"Lambda arm64, memory from template.yaml (FetchResult {sizes.fetch_result.memory_mb} MB, "
        f"ListPages {sizes.list_pages.memory_mb} MB, WriteReport {sizes.write_report.memory_mb} "
        f"MB); measured: {inputs.fetch_page_seconds:g} s per page, "
        f"{inputs.list_seconds_per_100_jobs:g} s per 100 jobs listed, {inputs.report_seconds:g} s "
        f"per report; INIT {inputs.init_seconds:g} s per cold container, "
        f"{cold_containers(inputs, pages)[0][0]:,} FetchResult containers "
        f"(MapMaxConcurrency {sizes.map_max_concurrency}).",
        f"S3 Standard: {inputs.s3_puts_per_job:g} PUT per job (a result of 8 MiB or more is a "
        f"multipart upload: 2 + parts), {inputs.s3_requests_per_page} per page; a first export "
        "(a re-run adds one LIST per 1,000 objects already exported); LIST billed as PUT.",
        f"Secrets Manager: {secrets_calls_per_execution(inputs, pages):,} calls per execution.",
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


def warnings(inputs: CostInputs, pages: int) -> tuple[str, ...]:
    """Where the workload would not run as modelled: a function past its timeout."""
    sizes = inputs.deployed
    list_seconds = inputs.jobs / inputs.executions / 100 * inputs.list_seconds_per_100_jobs
    checks = (
        ("ListPages", list_seconds, sizes.list_pages.timeout_s),
        ("FetchResult", inputs.fetch_page_seconds, sizes.fetch_result.timeout_s),
        ("WriteReport", inputs.report_seconds, sizes.write_report.timeout_s),
    )
    found = [
        f"{name} would run {seconds:,.0f} s per invocation, past its {timeout} s timeout: "
        "split the export into more executions"
        for name, seconds, timeout in checks
        if seconds > timeout
    ]
    if inputs.child_execution_type == "EXPRESS" and inputs.fetch_page_seconds > 300:
        found.append("an EXPRESS child runs at most 5 minutes")
    return tuple(found)


# ------------------------------------------------------------------ the table


def format_estimate(estimate: CostEstimate) -> str:
    inputs = estimate.inputs
    header = (
        f"Export of {inputs.jobs:,} jobs: {estimate.pages:,} pages of {inputs.jobs_per_page}, "
        f"{inputs.executions:,} execution(s), {inputs.child_execution_type} children"
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
