"""Run ``fetch_process`` as a subprocess against a simulator and a ``moto_server``."""

import json
import subprocess
import sys
from typing import Any

from playment_exporter.defaults import PAGE_WORKERS

FETCH_PROCESS = "playment_bench.fetch_process"


def page(project_id: str, batch_id: str, job_ids: list[str], number: int = 0) -> dict[str, Any]:
    return {"project_id": project_id, "batch_id": batch_id, "page": number, "job_ids": job_ids}


def run_fetch_process(  # noqa: PLR0913 - keyword-only: the command line it passes on
    *,
    api_url: str,
    aws_endpoint: str,
    bucket: str,
    secret_arn: str,
    warmup: dict[str, Any],
    pages: list[dict[str, Any]],
    page_workers: int = PAGE_WORKERS,
    timeout_s: float = 600,
) -> dict[str, Any]:
    """The figures the handler's process printed (its last stdout line: it may log above)."""
    completed = subprocess.run(  # noqa: S603 - our own module, our own interpreter
        [
            sys.executable, "-m", FETCH_PROCESS, "--api-url", api_url,
            "--aws-endpoint", aws_endpoint, "--bucket", bucket, "--secret-arn", secret_arn,
            "--page-workers", str(page_workers),
        ],
        input=json.dumps({"warmup": warmup, "pages": pages}),
        capture_output=True, text=True, timeout=timeout_s, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise RuntimeError(f"{FETCH_PROCESS} failed:\n{completed.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return figures
