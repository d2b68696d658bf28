"""Memory stays flat whatever the result size: measured, in a process of its own."""

import json
import os
import subprocess
import sys

import boto3
import pytest

from playment_local.simulator import Catalog, SimBatch, SimJob, SimProject
from tests.conftest import API_KEY

MiB = 1024 * 1024


@pytest.mark.slow
def test_a_200_mb_result_streams_with_flat_memory(start_simulator, moto_server) -> None:
    # Given a job whose result is 200 MB, S3 served by moto_server in another process
    catalog = Catalog(
        [SimProject("p1", (SimBatch("b1", (SimJob("small"), SimJob("big", body_size=200 * MiB))),))]
    )
    simulator = start_simulator(catalog)
    s3 = boto3.client("s3", endpoint_url=moto_server)
    s3.create_bucket(Bucket="memory")
    # When a separate process exports it after warming up on a small job
    run = subprocess.run(
        [
            sys.executable, "-m", "playment_local.fetch_memory",
            "--api-url", simulator.api_url, "--s3-endpoint", moto_server, "--bucket", "memory",
            "--project", "p1", "--batch", "b1", "--warmup-job", "small", "--job", "big",
        ],
        env={**os.environ, "PLAYMENT_API_KEY": API_KEY},
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    figures = json.loads(run.stdout)
    # Then the whole body was stored, and the exporter's peak memory grew by under 50 MB
    assert figures["outcome"] == "exported"
    assert s3.head_object(Bucket="memory", Key="b1/big.json")["ContentLength"] == 200 * MiB
    assert figures["growth_mib"] < 50, figures
