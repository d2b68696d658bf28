"""What a cost figure assumes, and the warnings it carries: said beside the table so that
no figure is read without them."""

from playment_bench.cost.inputs import CostInputs, ExecutionLayout
from playment_bench.cost.prices import (
    CLOUDWATCH_PER_ALARM_MONTH,
    CLOUDWATCH_PER_METRIC_MONTH,
    SECRETS_PER_SECRET_MONTH,
    SFN_EXPRESS_MEMORY_CHUNK_MB,
)
from playment_bench.cost.service_lines import cold_containers, secrets_calls_per_execution
from playment_bench.cost.stack import (
    HISTORY_EVENTS_LIMIT,
    HISTORY_EVENTS_PER_STATE,
    RESULT_WRITER_PUTS,
    handler_metric_names,
)
from playment_bench.cost.transitions import TransitionPaths
from playment_exporter.report import MAX_PAGES_PER_STEP


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
