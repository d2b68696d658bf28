"""The local engine's other seams into moto: the per-request tuning and the Map workers. If
one of these fails, moto moved: read the module the test names."""

import gc
import inspect
import json
import time
from typing import Any

import boto3
from moto import mock_aws
from moto.core.base_backend import BackendDict
from moto.core.botocore_stubber import BotocoreStubber
from moto.s3.models import S3Backend, s3_backends

from playment_local import map_iteration, moto_tuning
from playment_local.map_iteration import IterativeMapWorkers
from playment_local.moto_tuning import EmulatorTuning

MiB = 1024 * 1024
ACCOUNT = "123456789012"


def test_the_tuning_seams_still_exist() -> None:
    # Given what moto_tuning.py replaces / Then each is where it expects it
    for owner, name in moto_tuning.SEAMS:
        assert name in vars(owner), f"{owner.__name__}.{name}"
    assert isinstance(vars(S3Backend)["_url_module"], property)
    assert list(inspect.signature(BotocoreStubber.process_request).parameters) == [
        "self",
        "request",
    ]


def test_the_tuned_emulator_still_answers_and_collects_after_enough_bytes(aws, monkeypatch) -> None:
    # Given the tuning installed, and a collection due after 1 MiB of bodies
    tuning = EmulatorTuning()
    tuning.install()
    monkeypatch.setattr(moto_tuning, "COLLECT_AFTER_BYTES", MiB)
    collections: list[tuple[object, ...]] = []

    def collect(*generation: object) -> int:
        collections.append(generation)
        return 0

    monkeypatch.setattr(gc, "collect", collect)
    try:
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="tuned")
        backends = s3_backends
        before = id(backends[ACCOUNT])
        # When S3 is used as the handlers use it
        for n in range(3):
            s3.put_object(Bucket="tuned", Key=f"k{n}", Body=b"x" * (MiB // 2))
        # Then a collection ran once the bodies passed 1 MiB (1.5 MiB so far)
        assert len(collections) == 1
        # And it answers as before, from the same backend (the answer's body counts too)
        assert s3.get_object(Bucket="tuned", Key="k1")["Body"].read() == b"x" * (MiB // 2)
        assert id(backends[ACCOUNT]) == before
        assert len(collections) == 2
    finally:
        tuning.uninstall()
    assert isinstance(vars(S3Backend)["_url_module"], property)
    assert vars(BackendDict)["_create_account_specific_backend"].__name__ != "create_if_missing"
    gc.collect()


def test_the_map_worker_seam_still_has_its_shape() -> None:
    # Given the method map_iteration.py replaces / Then it is where it expects it, taking what
    # the loop takes
    owner, name = map_iteration.SEAM
    assert name in vars(owner)
    assert list(inspect.signature(vars(owner)[name]).parameters) == ["self", "job", "worker_frame"]


def test_a_distributed_map_takes_thousands_of_items_on_one_worker() -> None:
    # Given a distributed Map over 1,500 items in S3, one child at a time (moto's worker takes
    # its next item by calling itself: about a thousand deep, it dies and the run hangs)
    workers = IterativeMapWorkers()
    workers.install()
    try:
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
            arn = _map_over_items(1_500, max_concurrency=1)
            # When it runs
            status = _run_to_the_end(arn, limit_s=60)
    finally:
        workers.uninstall()
    # Then it ends, every item processed
    assert status == "SUCCEEDED"


def _map_over_items(count: int, max_concurrency: int) -> str:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="items-bucket")
    s3.put_object(Bucket="items-bucket", Key="items.json", Body=json.dumps(list(range(count))))
    role = boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]
    definition = {
        "StartAt": "Pages",
        "States": {
            "Pages": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON"},
                    "Parameters": {"Bucket": "items-bucket", "Key": "items.json"},
                },
                "MaxConcurrency": max_concurrency,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Page",
                    "States": {"Page": {"Type": "Pass", "End": True}},
                },
                "ResultPath": None,
                "End": True,
            }
        },
    }
    sfn = boto3.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="items", definition=json.dumps(definition), roleArn=role["Arn"]
    )
    return str(sfn.start_execution(stateMachineArn=machine["stateMachineArn"])["executionArn"])


def _run_to_the_end(execution_arn: str, limit_s: float) -> str:
    sfn = boto3.client("stepfunctions")
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        status = str(sfn.describe_execution(executionArn=execution_arn)["status"])
        if status != "RUNNING":
            return status
        time.sleep(0.1)
    return "RUNNING"


def test_a_prefix_listing_reads_only_the_keys_under_it_and_answers_as_moto_does(
    aws, monkeypatch
) -> None:
    # Given a bucket of 600 keys in two batches' folders (nested files, an overwritten and a
    # deleted key among them), and listings as the handlers ask them
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="listed")
    for batch in ("b1", "b2"):
        for n in range(300):
            key = f"{batch}/j{n:03d}/mask.png" if n % 50 == 7 else f"{batch}/j{n:03d}.json"
            s3.put_object(Bucket="listed", Key=key, Body=b"{}")
    s3.put_object(Bucket="listed", Key="b2/j010.json", Body=b"[]")
    s3.delete_object(Bucket="listed", Key="b2/j011.json")
    asks: list[dict[str, Any]] = [
        {"Prefix": "b2/", "Delimiter": "/", "StartAfter": "b2/j005", "MaxKeys": 20},
        {"Prefix": "b2/", "Delimiter": "/", "StartAfter": "b2/j290", "MaxKeys": 1000},
        {"Prefix": "b1/j05", "MaxKeys": 1000},
        {"Prefix": "b3/"},
        {"MaxKeys": 5},
    ]

    def answers() -> list[object]:
        listed = [s3.list_objects_v2(Bucket="listed", **ask) for ask in asks]
        listed.append(s3.list_objects(Bucket="listed", Prefix="b1/", Marker="b1/j100", MaxKeys=7))
        return [
            (a.get("Contents", []), a.get("CommonPrefixes", []), a.get("IsTruncated"))
            for a in listed
        ]

    untuned = answers()
    reads: list[str] = []
    store = type(s3_backends[ACCOUNT]["aws"].buckets["listed"].keys)
    original = store.__getitem__

    def counted(self: Any, key: str) -> Any:
        reads.append(key)
        return original(self, key)

    monkeypatch.setattr(store, "__getitem__", counted)
    tuning = EmulatorTuning()
    tuning.install()
    try:
        # When the same listings are asked with the tuning installed
        tuned = answers()
        reads.clear()
        s3.list_objects_v2(Bucket="listed", Prefix="b2/", Delimiter="/", MaxKeys=1000)
    finally:
        tuning.uninstall()
    # Then the answers are moto's own, and a listing of one batch reads only that batch's keys
    assert tuned == untuned
    assert len(reads) == 299
    assert all(key.startswith("b2/") for key in reads)
