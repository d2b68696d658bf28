"""The local engine's other seams into moto: the results folder, the per-request tuning and the
deferred Batch import. If one of these fails, moto moved: read the module the test names."""

import gc
import inspect
import json
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from moto.core.base_backend import BackendDict
from moto.core.botocore_stubber import BotocoreStubber
from moto.s3.models import S3Backend, s3_backends

from playment_exporter.errors import AlreadyExported
from playment_exporter.result_store import ResultStore
from playment_exporter.storage_s3 import S3Storage
from playment_local import map_iteration, moto_tuning
from playment_local.map_iteration import IterativeMapWorkers
from playment_local.moto_tuning import EmulatorTuning
from playment_local.results_folder import SEAMS, FolderBackedS3, ResultsFolder

MiB = 1024 * 1024
ACCOUNT = "123456789012"


def test_the_results_folder_seams_still_have_their_shape() -> None:
    # Given the backend methods results_folder.py wraps / Then they take what it passes on
    shapes = {name: list(inspect.signature(getattr(S3Backend, name)).parameters) for name in SEAMS}
    assert shapes["put_object"][:4] == ["self", "bucket_name", "key_name", "value"]
    assert shapes["complete_multipart_upload"] == ["self", "bucket_name", "multipart_id", "body"]
    assert shapes["delete_object"][:3] == ["self", "bucket_name", "key_name"]


def test_the_tuning_seams_still_exist() -> None:
    # Given what moto_tuning.py replaces / Then each is where it expects it
    for owner, name in moto_tuning.SEAMS:
        assert name in vars(owner), f"{owner.__name__}.{name}"
    assert isinstance(vars(S3Backend)["_url_module"], property)
    assert list(inspect.signature(BotocoreStubber.process_request).parameters) == [
        "self",
        "request",
    ]


@pytest.fixture
def folder_s3(aws, tmp_path):
    """An S3 bucket whose results are kept in ``tmp_path/out`` (the engine's arrangement)."""
    folder = ResultsFolder(tmp_path / "out", "results-bucket")
    hooks = FolderBackedS3()
    hooks.register(folder)
    hooks.install()
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="results-bucket")
    yield folder, s3
    hooks.uninstall()


def test_a_result_is_staged_as_s3_accepts_it_and_appears_when_its_page_is_published(
    folder_s3,
) -> None:
    # Given the results folder in place of the bucket's result objects
    folder, s3 = folder_s3
    body = b'{"a": 1}'
    # When a handler puts a result, and a run record
    s3.put_object(Bucket="results-bucket", Key="b1/j1.json", Body=body, IfNoneMatch="*")
    s3.put_object(Bucket="results-bucket", Key="_exports/e/report.json", Body=b"{}")
    # Then the result's bytes wait in staging, not in OUT and not in moto; the record stays in moto
    assert (folder.staging / "b1" / "j1.json").read_bytes() == body
    assert not (folder.root / "b1").exists()
    backend = s3_backends[ACCOUNT]["aws"]
    kept = backend.get_object("results-bucket", "b1/j1.json")
    assert kept is not None
    assert kept.value == b""
    assert s3.get_object(Bucket="results-bucket", Key="_exports/e/report.json")["Body"].read()
    # And the key still counts for a create-only write
    with pytest.raises(s3.exceptions.ClientError, match="PreconditionFailed"):
        s3.put_object(Bucket="results-bucket", Key="b1/j1.json", Body=body, IfNoneMatch="*")
    # When its page is published / Then it is in OUT, whole, and staging is empty of it
    assert folder.publish("b1", ["j1"]) == 1
    assert (folder.root / "b1" / "j1.json").read_bytes() == body
    assert not (folder.staging / "b1" / "j1.json").exists()


def test_a_deleted_object_is_dropped_from_staging_and_never_published(folder_s3) -> None:
    # Given a referenced file a job wrote, then took back (the job failed)
    folder, s3 = folder_s3
    s3.put_object(Bucket="results-bucket", Key="b1/j1/mask.png", Body=b"png")
    s3.delete_objects(
        Bucket="results-bucket", Delete={"Objects": [{"Key": "b1/j1/mask.png"}], "Quiet": True}
    )
    # When the page is published / Then nothing of the job appears
    assert folder.publish("b1", ["j1"]) == 0
    assert not (folder.root / "b1").exists()


def test_a_multipart_result_streams_into_staging_with_s3s_checks(folder_s3) -> None:
    # Given a result over the multipart threshold, written create-only by the real ResultStore
    folder, s3 = folder_s3
    store = ResultStore(S3Storage(s3, "results-bucket", workers=2))
    body = bytes(range(256)) * (40 * MiB // 256)
    import io

    store.write_result("b1", "big", io.BytesIO(body), overwrite=False)
    # Then staging holds it byte for byte, with S3's multipart ETag, and no part is kept in moto
    assert (folder.staging / "b1" / "big.json").read_bytes() == body
    head = s3.head_object(Bucket="results-bucket", Key="b1/big.json")
    assert head["ETag"].strip('"').endswith("-5")
    assert not s3_backends[ACCOUNT]["aws"].get_bucket("results-bucket").multiparts
    # And a second create-only write of the same key is refused as S3 refuses it
    with pytest.raises(AlreadyExported):
        store.write_result("b1", "big", io.BytesIO(body), overwrite=False)
    store.close()


@pytest.mark.parametrize("key", ["../escape.json", "b1/../../escape.json", "/etc/passwd"])
def test_a_key_that_would_lead_out_of_the_folder_is_refused(tmp_path, key) -> None:
    # Given the output folder / When a key would resolve outside it / Then it is refused
    folder = ResultsFolder(tmp_path / "out", "results-bucket")
    with pytest.raises(ValueError, match="outside"):
        folder.path_for(key)
    with pytest.raises(ValueError, match="outside"):
        folder.stage(key, [b"x"])
    assert list(tmp_path.iterdir()) == []


def test_results_already_in_the_folder_are_listed_without_their_bytes(folder_s3) -> None:
    # Given results an earlier run left in OUT (and a stray file that is not one)
    folder, s3 = folder_s3
    (folder.root / "b1").mkdir(parents=True)
    (folder.root / "b1" / "j1.json").write_bytes(b"x" * 1000)
    (folder.root / "b1" / "notes.txt").write_text("not a result")
    # When they are added as keys
    added = FolderBackedS3().add_existing(
        s3_backends[ACCOUNT]["aws"], folder, folder.existing_result_keys(["b1"])
    )
    # Then the listing sees the result, with no body in moto
    listed = s3.list_objects_v2(Bucket="results-bucket", Prefix="b1/")["Contents"]
    assert added == 1
    assert [(item["Key"], item["Size"]) for item in listed] == [("b1/j1.json", 0)]


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


def test_moto_batch_is_imported_only_when_used() -> None:
    # Given a fresh interpreter where the engine deferred moto.batch
    code = (
        "import sys\n"
        "from playment_local.moto_imports import defer_batch\n"
        "defer_batch()\n"
        "import moto.stepfunctions.parser.models\n"
        "print('ec2' if 'moto.ec2' in sys.modules else 'no-ec2')\n"
        "import moto.batch\n"
        "print(type(moto.batch.batch_backends).__name__)\n"
    )
    # When moto's Step Functions engine is imported, then moto.batch is used
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    # Then EC2 was not imported for the engine, and Batch still works when asked for
    assert done.stdout.split() == ["no-ec2", "BackendDict"]


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
