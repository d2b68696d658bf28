"""Measure the fetch path's memory in a process of its own.

Exports one small job (to load everything and fill the pools), records the peak RSS so far,
then exports the job under test and reports how much the peak grew. Run as a subprocess so the
figure is the exporter's alone: the simulator and S3 (``moto_server``) live in other processes.

    PLAYMENT_API_KEY=... python -m playment_local.fetch_memory --api-url URL \\
        --s3-endpoint URL --bucket B --project P --batch B --warmup-job J1 --job J2

Prints one JSON line: ``{"baseline_mib", "peak_mib", "growth_mib", "outcome"}``.
"""

import argparse
import json
import os
import resource
import sys

import boto3

from playment_exporter.export_page import export_page
from playment_exporter.outcomes import JobPage
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.result_store import ResultStore


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("api-url", "s3-endpoint", "bucket", "project", "batch", "warmup-job", "job"):
        parser.add_argument(f"--{name}", required=True)
    args = parser.parse_args(argv)
    s3 = boto3.client("s3", endpoint_url=args.s3_endpoint)
    client = PlaymentClient(args.api_url, os.environ["PLAYMENT_API_KEY"])
    store = ResultStore(s3, args.bucket)

    def export(job_id: str) -> str:
        page = JobPage(project_id=args.project, batch_id=args.batch, page=0, job_ids=[job_id])
        outcome = export_page(client, store, page, overwrite=True).outcomes[0]
        return outcome.status.value if outcome.error_code is None else outcome.error_code

    warmup = export(args.warmup_job)
    baseline = _peak_mib()
    outcome = export(args.job)
    peak = _peak_mib()
    json.dump(
        {
            "baseline_mib": round(baseline, 1),
            "peak_mib": round(peak, 1),
            "growth_mib": round(peak - baseline, 1),
            "warmup": warmup,
            "outcome": outcome,
        },
        sys.stdout,
    )
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
