"""Fixtures of the unit tier: the figures a run records, as the snippet writers read them."""

from typing import Any

import pytest

MB = 1_000_000


def _run(seconds: float, peak_mb: int, cpu_s: float | None) -> dict[str, Any]:
    return {"seconds": seconds, "first_request_s": None, "peak_rss_bytes": peak_mb * MB,
            "cpu_s": cpu_s, "results": 2000, "requests": {}}  # fmt: skip


@pytest.fixture
def bench_figures() -> dict[str, Any]:
    """What ``python -m playment_bench --json`` records of a full run (every section)."""
    return {
        "requests": {
            "jobs": 1000, "exported": 1000,
            "playment": {"list": 10, "job": 1000, "attachment": 1000, "storage": 1000},
            "aws": {"s3:PutObject": 1044}, "rerun_playment": {"list": 10}, "rerun_aws": {},
        },
        "throughput": {
            "sweep": [{"max_concurrency": 40, "page_workers": 8, "jobs_per_s": 107.9,
                       "fetch_page_s": 2.1, "list_s": 0.4, "report_s": 0.2, "pages": 40,
                       "page_size": 50}],
            "baseline": 7.1,
        },
        "container": {
            "speed": [{"workers": 8, "jobs_per_s": 46.4}],
            "memory": [{"body_bytes": 2048, "peak_mib": 85.1, "growth_mib": 1.5},
                       {"body_bytes": 300 * 1024 * 1024, "peak_mib": 108.4, "growth_mib": 24.0}],
        },
        "cost": {
            "per_million_jobs": 5.39,
            "lines": [{"service": "S3 PUT", "item": "PutObject", "quantity": "1,008,122 PUT",
                       "dollars": 5.041}],
        },
        "imports_ms": {"fetch_result": 563.2},
        "local_command": {
            "memory": [{"label": "2,000 x 256 KB", "jobs": 2000, "body_bytes": 262144,
                        "first": _run(35.1, 100, 27.2), "rerun": _run(1.5, 61, 0.9)}],
            "speed": [{"jobs": 400, "runs": 3, "run_s": 2.36, "startup_s": 0.4,
                       "reference_s": 51.0, "reference_extrapolated": False,
                       "concurrent_s": None, "same_in_flight_s": None, "speedup": 21.61,
                       "bound_s": 1.5, "bound": 0.64}],
            "reference": {"jobs": 400, "listing_s": 1.0, "fetch_s": 50.0, "listings_s": {},
                          "per_job_s": 0.125},
            "startup_samples_s": [0.4],
            "verdicts": {"start-up": True, "flat memory": False},
        },
    }  # fmt: skip


@pytest.fixture
def scale_figures() -> dict[str, Any]:
    """What ``python -m playment_bench.scale --json`` records of a full run."""

    def function(name: str, calls: int, peak: int | None, seconds: float) -> dict[str, Any]:
        return {"function": name, "invocations": calls, "max_peak_bytes": peak,
                "median_peak_bytes": peak, "max_duration_s": seconds, "max_input_bytes": 300,
                "max_output_bytes": 600, "overlapped": 0, "errors": 0,
                "timeout_s": 900}  # fmt: skip

    return {
        "exports": [{
            "project": "1M jobs", "description": "1,000,000 jobs in 1 batch", "status": "FAILED",
            "error": "ExportIncomplete", "totals": None, "history_events": 323, "seconds": 246.7,
            "functions": [function("ListPages", 20, 96_573_059, 9.3),
                          function("FetchResult", 10_000, None, 0.29),
                          function("WriteReport", 1, 93_806_441, 91.0)],
            "states": [{"state": "ListPages", "entered": 20, "max_input_bytes": 631,
                        "max_output_bytes": 1229}],
        }],
        "command": [{
            "batch_id": "run-600000", "jobs": 600_000, "completed": 1200, "exit_code": 0,
            "seconds": 65.2, "peak_rss_bytes": 173 * MB, "results": 1200,
            "named_not_completed": 598_800, "report_files": [], "output_tail": "",
        }],
        "violations": ["1M jobs: WriteReport peak 151.0 MiB over 150 MiB"],
    }  # fmt: skip


@pytest.fixture
def mutmut_stats() -> dict[str, int]:
    """mutmut's ``export-cicd-stats`` counts."""
    return {"total": 2043, "killed": 1440, "timeout": 5, "survived": 43, "no_tests": 2,
            "suspicious": 0, "segfault": 0, "skipped": 10}  # fmt: skip
