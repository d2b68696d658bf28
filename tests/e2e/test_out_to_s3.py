"""``run --out s3://bucket/prefix``: the local command exports into a bucket with the user's
own credentials, in the deployed layout, without a stack. Against moto's server on loopback."""

import hashlib
import json
import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from playment_cli.main import main
from playment_simulator import sample_catalog
from tests.conftest import API_KEY

PROJECT = "demo-project"
BUCKET = "team-results"
pytestmark = pytest.mark.usefixtures("scrubbed_aws_environment")


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's S3 on a loopback port, and a user's shell configured for it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "team-key",
        "AWS_SECRET_ACCESS_KEY": "team-secret",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL_S3": url,
        "PLAYMENT_API_KEY": API_KEY,
    }.items():
        monkeypatch.setenv(name, value)
    yield url
    server.stop()


def objects(client: Any, prefix: str = "") -> dict[str, bytes]:
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for item in page.get("Contents", []):
            body = client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
            found[item["Key"]] = body
    return found


def test_run_exports_into_a_bucket_in_the_deployed_layout(start_simulator, s3_endpoint) -> None:
    # Given a team's bucket (its own credentials and endpoint in the shell) and a batch
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="eu-west-1")
    client.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    catalog = sample_catalog(PROJECT, {"batch-a": 45})
    simulator = start_simulator(catalog)
    args = ["run", "--api-url", simulator.api_url, "--project-id", PROJECT]
    # When it is exported to s3://bucket/prefix
    status = main([*args, "--batch-id", "batch-a", "--out", f"s3://{BUCKET}/playment"])
    # Then each completed job's result is under the prefix, byte-identical
    assert status == 0
    results = objects(client, "playment/batch-a/")
    assert len(results) == 45 - 45 // 9
    for key, body in results.items():
        job_id = key.rsplit("/", 1)[1].removesuffix(".json")
        assert hashlib.sha256(body).hexdigest() == catalog.body_sha256(PROJECT, job_id)
    # And the index beside them names each, and the run's report is under _exports/
    lines = [
        json.loads(line)
        for body in objects(client, "playment/index.v1/batch_id=batch-a/").values()
        for line in body.splitlines()
    ]
    assert sorted(line["key"] for line in lines) == sorted(results)
    (report_key,) = [key for key in objects(client, "_exports/") if key.endswith("/report.json")]
    report = json.loads(objects(client, report_key)[report_key])
    assert report["totals"]["exported"] == len(results)
    # When it runs again into the same bucket / Then nothing is downloaded again
    downloads = simulator.stats.requests["storage"]
    assert main([*args, "--batch-id", "batch-a", "--out", f"s3://{BUCKET}/playment"]) == 0
    assert simulator.stats.requests["storage"] == downloads


@pytest.mark.parametrize(
    "target", ["s3://", "s3:///prefix", f"s3://{BUCKET}/_exports/x", f"s3://{BUCKET}/p?x=1"]
)
def test_a_bad_s3_target_exits_2_before_any_request(
    start_simulator, s3_endpoint, capsys, target
) -> None:
    # Given a simulator / When --out names no usable bucket and prefix
    simulator = start_simulator()
    args = ["run", "--api-url", simulator.api_url, "--project-id", PROJECT, "--batch-id", "b"]
    # Then the command exits 2 naming --out, before any request
    assert main([*args, "--out", target]) == 2
    assert "--out" in capsys.readouterr().err
    assert sum(simulator.stats.requests.values()) == 0
