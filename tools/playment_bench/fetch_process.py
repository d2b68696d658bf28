"""The FetchResult handler in a process of its own, as one Lambda container runs it.

Used to measure what is the handler's alone: its memory (peak RSS) and its speed per page.
The Playment simulator and S3 (``moto_server``, which assembles multipart uploads in its own
memory) live in other processes. Reads ``{"warmup": page, "pages": [page, ...]}`` on stdin,
runs the warm-up page (imports, pools, the secret), records the peak RSS so far, then runs
each page and prints one JSON line: ``{"baseline_mib", "peak_mib", "growth_mib",
"page_seconds", "results"}``.

    python -m playment_bench.fetch_process --api-url URL --aws-endpoint URL \\
        --bucket B --secret-arn ARN [--page-workers N] < pages.json
"""

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

from playment_local.lambda_context import LocalLambdaContext
from playment_local.lambda_loader import load_handler

FUNCTION = Path(__file__).resolve().parents[2] / "functions" / "fetch_result"


def _peak_mib() -> float:
    """This process's peak RSS. VmHWM, not ``ru_maxrss``: getrusage keeps the peak across
    fork and exec, so a child of a large parent would report the parent's size."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: best effort


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    for name in ("api-url", "aws-endpoint", "bucket", "secret-arn"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--page-workers", default="8")
    args = parser.parse_args(argv)
    work = json.load(sys.stdin)
    environment = {
        "RESULTS_BUCKET": args.bucket,
        "API_KEY_SECRET_ARN": args.secret_arn,
        "PLAYMENT_API_URL": args.api_url,
        "PAGE_WORKERS": args.page_workers,
        "POWERTOOLS_SERVICE_NAME": "playment-exporter",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "AWS_ENDPOINT_URL": args.aws_endpoint,  # every boto3 client, the secret's too
    }
    # A process of its own, like a Lambda container: its environment is the function's.
    os.environ.update(environment)
    handler = load_handler(FUNCTION, "app.lambda_handler", environment)

    def export(page: dict[str, Any]) -> dict[str, Any]:
        event = {"execution": "fetch-process", "overwrite": True, "page": page}
        result: dict[str, Any] = handler(event, LocalLambdaContext("fetch-result", 300, 512))
        return result

    export(work["warmup"])
    baseline = _peak_mib()
    seconds, results = [], []
    for page in work["pages"]:
        started = time.monotonic()
        results.append(export(page))
        seconds.append(time.monotonic() - started)
    peak = _peak_mib()
    figures = {
        "baseline_mib": round(baseline, 1),
        "peak_mib": round(peak, 1),
        "growth_mib": round(peak - baseline, 1),
        "page_seconds": seconds,
        "results": results,
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
