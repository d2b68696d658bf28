"""``make bench``: every figure, measured the same way each time, printed; nothing asserted.

python -m playment_bench [--runs N] [--json FILE]
    [--only requests,throughput,container,cost,imports,local-command]

Scale (memory, durations and state sizes at 100,000 and 1,000,000 jobs and 20,000 batches,
held to bounds) is ``make scale``: ``python -m playment_bench.scale``.
"""

import argparse
import datetime
import json
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playment_bench import (
    cold_start,
    container,
    cost,
    local_command,
    request_counts,
    throughput,
)
from playment_bench.doc_figures.bench import write_bench
from playment_bench.measure import RUNS, AwsCallCounter
from playment_exporter.list_pages import PAGE_SIZE, page_size_for

SECTIONS = (
    "requests",
    "throughput",
    "container",
    "cost",
    "imports",
    "local-command",
)
# Without the sections that measure them: a page of PAGE_SIZE jobs at 2 s per 100 jobs, a
# million jobs' report in 5 s.
ASSUMED_PAGE_SECONDS = 2.0 * PAGE_SIZE / 100
ASSUMED_REPORT_SECONDS = 5.0


@dataclass
class _Measured:
    """What the sections measure that the cost section uses (``None``: not run, assumed)."""

    page_seconds: float | None = None
    list_seconds: float | None = None
    report_seconds: float | None = None
    secrets_calls: int | None = None


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    sections = set(args.only.split(","))
    counter = _count_aws_calls()
    print(
        f"playment-exporter benchmarks, {datetime.date.today()}, {platform.python_version()}, "
        f"{os.cpu_count()} cores, {platform.machine()}; median of {args.runs} runs\n",
        flush=True,
    )
    recorded: dict[str, Any] = {}
    measured = _Measured()
    if "requests" in sections:
        recorded["requests"] = _requests(counter, measured)
    if "throughput" in sections:
        recorded["throughput"] = _throughput(args.runs, measured)
    if "container" in sections:
        recorded["container"] = _container(args.runs, measured)
    if "cost" in sections:
        recorded["cost"] = cost_section(
            measured.page_seconds,
            measured.list_seconds,
            measured.report_seconds,
            measured.secrets_calls,
        )
    if "imports" in sections:
        times = cold_start.handler_import_times(runs=args.runs)
        recorded["imports_ms"] = times
        print(cold_start.format_import_times(times), "\n", flush=True)
    if "local-command" in sections:
        local = local_command.measure(args.runs)
        recorded["local_command"] = local.as_json()
        print(local_command.format_local_command(local), "\n", flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(recorded, indent=1, default=str))
    if sections == set(SECTIONS):  # the pages show a full run's figures
        given = sys.argv[1:] if argv is None else argv
        command = " ".join(["python -m playment_bench", *given])
        print(f"wrote {write_bench(json.loads(json.dumps(recorded, default=str)), command)}")
    return 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m playment_bench")
    parser.add_argument("--runs", type=int, default=RUNS, help="runs per figure (median)")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--json", type=Path, default=None, help="also write figures here")
    args = parser.parse_args(argv)
    if unknown := set(args.only.split(",")) - set(SECTIONS):
        parser.error(f"--only: no section {', '.join(sorted(unknown))} (sections: {SECTIONS})")
    return args


def _count_aws_calls() -> AwsCallCounter:
    """Fake credentials for moto, and a counter of AWS calls installed before any boto3
    session exists."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
    }.items():  # fmt: skip
        os.environ.setdefault(name, value)
    counter = AwsCallCounter()
    counter.install()
    return counter


def _requests(counter: AwsCallCounter, measured: _Measured) -> dict[str, Any]:
    figures = request_counts.measure(counter)
    print(request_counts.format_requests(figures), "\n", flush=True)
    measured.secrets_calls = figures.aws.get("secretsmanager:GetSecretValue")
    return dict(figures.__dict__)


def _throughput(runs: int, measured: _Measured) -> dict[str, Any]:
    sweep, baseline = throughput.run(runs)
    print(throughput.format_throughput(sweep, baseline), "\n", flush=True)
    default_run = next(
        f for f in sweep if (f.max_concurrency, f.page_workers) == throughput.DEFAULT
    )
    measured.list_seconds = default_run.list_s / (throughput.JOBS / 100)
    # The report reads one outcome object per page: scale its time to a million jobs' pages
    # (pages of 250 there, of 50 in the 2,000-job run: page_size_for).
    million_pages = -(-1_000_000 // page_size_for(1_000_000, throughput.DEFAULT[0]))
    measured.report_seconds = default_run.report_s * (million_pages / default_run.pages)
    return {
        "sweep": [f.__dict__ | {"pages": f.pages, "page_size": f.page_size} for f in sweep],
        "baseline": baseline,
    }


def _container(runs: int, measured: _Measured) -> dict[str, Any]:
    speed = container.measure_speed(runs)
    memory = container.measure_memory(runs)
    print(container.format_container(speed, memory), "\n", flush=True)
    default = next(f for f in speed if f.workers == throughput.DEFAULT[1])
    measured.page_seconds = PAGE_SIZE / default.jobs_per_s  # a page as a large export cuts it
    return {"speed": [f.__dict__ for f in speed], "memory": [m.__dict__ for m in memory]}


def cost_section(
    page_seconds: float | None,
    list_seconds: float | None,
    report_seconds: float | None,
    secrets_calls: int | None,
) -> dict[str, Any]:
    """The cost of 1,000,000 jobs, from the durations measured above (assumed if not run)."""
    inputs = cost.CostInputs(
        jobs=1_000_000,
        fetch_page_seconds=page_seconds or ASSUMED_PAGE_SECONDS,
        list_seconds_per_100_jobs=list_seconds or 0.15,
        report_seconds=report_seconds or ASSUMED_REPORT_SECONDS,
        secrets_calls=secrets_calls,
    )
    measured = "measured" if page_seconds and list_seconds else "assumed (not run)"
    print(f"Cost model inputs ({measured}): FetchResult {inputs.fetch_page_seconds:.2f} s "
          f"per page, ListPages {inputs.list_seconds_per_100_jobs:.3f} s per 100 jobs, "
          f"WriteReport {inputs.report_seconds:.1f} s")  # fmt: skip
    estimate = cost.estimate(inputs)
    print(cost.format_estimate(estimate), "\n", flush=True)
    return {
        "per_million_jobs": estimate.per_million_jobs,
        "lines": [line.__dict__ for line in estimate.lines],
    }


if __name__ == "__main__":
    sys.exit(main())
