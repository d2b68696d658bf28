"""Memory stays flat whatever the result size: measured, in a process of its own."""

import boto3
import pytest

from playment_bench.fetch_runner import page, run_fetch_process
from playment_simulator import Catalog, SimBatch, SimJob, SimProject
from tests.conftest import API_KEY

MiB = 1024 * 1024


@pytest.mark.slow
def test_a_200_mb_result_streams_with_flat_memory(start_simulator, moto_server) -> None:
    # Given a job whose result is 200 MB, S3 served by moto_server in another process
    jobs = (SimJob("small"), SimJob("big", body_size=200 * MiB))
    simulator = start_simulator(Catalog([SimProject("p1", (SimBatch("b1", jobs),))]))
    s3 = boto3.client("s3", endpoint_url=moto_server)
    s3.create_bucket(Bucket="memory")
    secrets = boto3.client("secretsmanager", endpoint_url=moto_server)
    secret_arn = secrets.create_secret(Name="memory-key", SecretString=API_KEY)["ARN"]
    # When the FetchResult handler, in a process of its own, exports it after a small job
    figures = run_fetch_process(
        api_url=simulator.api_url,
        aws_endpoint=moto_server,
        bucket="memory",
        secret_arn=secret_arn,
        warmup=page("p1", "b1", ["small"]),
        pages=[page("p1", "b1", ["big"])],
    )
    # Then the whole body was stored, and the process's peak memory grew by under 50 MB
    assert figures["results"][0]["exported"] == 1
    assert s3.head_object(Bucket="memory", Key="b1/big.json")["ContentLength"] == 200 * MiB
    assert figures["growth_mib"] < 50, figures
