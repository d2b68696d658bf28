"""One cost line per AWS service an export is charged for, from its inputs and layout."""

from math import ceil

from playment_bench.cost.inputs import CostInputs, CostLine, ExecutionLayout
from playment_bench.cost.prices import (
    LAMBDA_ARM64_PER_GB_SECOND,
    LAMBDA_PER_REQUEST,
    LOGS_PER_GB_INGESTED,
    S3_STANDARD_PER_GET,
    S3_STANDARD_PER_PUT,
    SECRETS_PER_API_CALL,
    SFN_EXPRESS_DURATION_STEP_S,
    SFN_EXPRESS_MEMORY_CHUNK_MB,
    SFN_EXPRESS_PER_GB_SECOND,
    SFN_EXPRESS_PER_REQUEST,
    SFN_STANDARD_PER_TRANSITION,
)
from playment_bench.cost.stack import (
    GIB,
    RESULT_WRITER_PUTS,
    S3_LIST_PAGE,
    SECRET_CACHE_SECONDS,
    ChildExecutionType,
    FunctionSize,
)
from playment_bench.cost.transitions import TransitionPaths


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
