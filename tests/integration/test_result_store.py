"""The result store against S3 in moto: create-only writes, taking objects back, listing.

moto answers a create-only write on an existing key with 412 as S3 does, on ``PutObject`` and
on ``CompleteMultipartUpload`` alike; what it never produces, S3's 409 on a write race and a
``DeleteObjects`` that refuses some keys, the tests make with botocore event hooks
(``s3_answers``) on the moto-backed client.
"""

import io
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

import boto3
import pytest

from playment_exporter.errors import (
    AlreadyExported,
    ObjectsLeftBehind,
    ResultsBucketUnusable,
    TransientError,
)
from playment_exporter.result_store import ResultStore
from playment_exporter.storage import StorageError
from playment_exporter.storage_s3 import MiB, S3Storage, StackHome
from tests.conftest import BUCKET, REGION
from tests.integration.conftest import MOTO_ACCOUNT
from tests.integration.s3_answers import (
    BucketOwnerCondition,
    CountCalls,
    DamageInTransit,
    DenyDeletes,
    FailFirstCalls,
)

LARGE = 9 * MiB  # past the store's multipart threshold (8 MiB): CompleteMultipartUpload


@pytest.fixture
def store(s3: Any) -> Iterator[ResultStore]:
    made = ResultStore(S3Storage(s3, BUCKET), "")
    yield made
    made.close()


def read(s3: Any, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def open_uploads(s3: Any) -> list[Any]:
    return list(s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []))


@pytest.mark.parametrize("size_hint", [LARGE, None], ids=["large-hint", "no-hint"])
def test_a_large_create_only_write_never_replaces_an_existing_object(
    s3: Any, store: ResultStore, size_hint: int | None
) -> None:
    # Given an object already exported at the job's key
    s3.put_object(Bucket=BUCKET, Key="b1/a.json", Body=b'{"earlier": true}')
    # When a body over the multipart threshold is written create-only (the multipart path,
    # whose If-None-Match the store adds to CompleteMultipartUpload with an event hook)
    with pytest.raises(AlreadyExported, match=r"^b1/a\.json$"):
        store.write_result(
            "b1", "a", io.BytesIO(b"x" * LARGE), overwrite=False, size_hint=size_hint
        )
    # Then the earlier object is untouched and no upload is left open
    assert read(s3, "b1/a.json") == b'{"earlier": true}'
    assert open_uploads(s3) == []


def test_a_small_create_only_write_without_a_size_hint_never_replaces_an_object(
    s3: Any, store: ResultStore
) -> None:
    # Given an object already exported at the job's key
    s3.put_object(Bucket=BUCKET, Key="b1/a.json", Body=b'{"earlier": true}')
    # When a small body of unknown size is written create-only (the transfer manager sends it
    # in one PutObject, whose If-None-Match the store adds with an event hook)
    with pytest.raises(AlreadyExported, match=r"^b1/a\.json$"):
        store.write_result("b1", "a", io.BytesIO(b"{}"), overwrite=False)
    # Then the earlier object is untouched
    assert read(s3, "b1/a.json") == b'{"earlier": true}'


@pytest.mark.parametrize(
    ("operation", "size"), [("PutObject", 100), ("CompleteMultipartUpload", LARGE)]
)
def test_a_write_race_is_transient_not_already_exported(
    s3: Any, store: ResultStore, operation: str, size: int
) -> None:
    # Given S3 answering the create-only write with 409 ConditionalRequestConflict (another
    # write to the key under way), on the small path or the multipart one
    race = FailFirstCalls(s3, operation, status=409, code="ConditionalRequestConflict")
    # When the body is written create-only
    with pytest.raises(TransientError) as raised:
        store.write_result("b1", "a", io.BytesIO(b"{}" + b" " * (size - 2)), overwrite=False)
    # Then it is a failure to retry, with S3's code, and nothing was written or left open
    assert (raised.value.code, raised.value.message) == (
        "s3_ConditionalRequestConflict",
        "another write to b1/a.json was under way (HTTP 409)",
    )
    assert race.calls == 1
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
    assert open_uploads(s3) == []


@pytest.mark.parametrize("size", [100, LARGE])
def test_a_precondition_failure_is_already_exported_naming_the_key(
    s3: Any, store: ResultStore, size
) -> None:
    # Given an existing object (S3 answers the create-only write 412 PreconditionFailed)
    s3.put_object(Bucket=BUCKET, Key="b1/a.json", Body=b"{}")
    # When it is written create-only / Then the job counts as already exported
    with pytest.raises(AlreadyExported, match=r"^b1/a\.json$"):
        store.write_result(
            "b1", "a", io.BytesIO(b"{" + b" " * (size - 2) + b"}"), overwrite=False, size_hint=size
        )


def test_another_s3_error_is_raised_as_it_came(s3: Any, store: ResultStore) -> None:
    # Given S3 refusing the write for a reason that is neither 409 nor 412
    FailFirstCalls(s3, "PutObject", status=403, code="AccessDenied")
    # When written / Then S3's own code comes through, neither retried nor "already exported"
    with pytest.raises(StorageError) as raised:
        store.write_result("b1", "a", io.BytesIO(b"{}"), overwrite=False, size_hint=2)
    assert raised.value.code == "s3_AccessDenied"
    assert not isinstance(raised.value, (TransientError, AlreadyExported))


def test_delete_raises_naming_every_key_s3_refused(s3: Any, store: ResultStore) -> None:
    # Given three objects, the first and the last of which S3 refuses to delete
    for name in ("a", "b", "c"):
        s3.put_object(Bucket=BUCKET, Key=f"b1/j/{name}.png", Body=b"x")
    DenyDeletes(s3, {"b1/j/a.png", "b1/j/c.png"})
    # When all three are deleted
    with pytest.raises(ObjectsLeftBehind) as raised:
        store.delete(["b1/j/a.png", "b1/j/b.png", "b1/j/c.png"])
    # Then the error names each refused key with S3's code, and a refusal did not stop the
    # next key: only the allowed one is gone
    assert raised.value.left == {"b1/j/a.png": "s3_AccessDenied", "b1/j/c.png": "s3_AccessDenied"}
    assert "b1/j/a.png (s3_AccessDenied)" in str(raised.value)
    assert {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]} == {
        "b1/j/a.png",
        "b1/j/c.png",
    }


def test_delete_takes_back_every_key_one_call_each(s3: Any, store: ResultStore) -> None:
    # Given three objects
    keys = [f"b1/j/{n}.png" for n in range(3)]
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    calls = CountCalls(s3, "DeleteObject")
    # When they are all deleted
    store.delete(keys)
    # Then none is left, one DeleteObject each (authorized per key, as the role grants it),
    # and an empty list costs no call
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
    store.delete([])
    assert calls.calls == 3


def test_every_exported_job_asked_about_is_found_past_one_listing_page(
    s3: Any, store: ResultStore, put_many: Callable[[Iterable[str]], None]
) -> None:
    # Given 1,500 exported results (S3 lists 1,000 keys a call), each but a few with a folder
    # of referenced files, plus objects that are not results: a non-JSON key, a JSON file in
    # a job's folder, another batch's result, and IDs whose keys sort around the others
    exported = {f"j{n:04d}" for n in range(1_500)}
    put_many(f"b1/{job_id}.json" for job_id in exported)
    for other in ("b1/j0001/mask.png", "b1/j0002/x.json", "b1/notes.txt", "b10/j9999.json"):
        s3.put_object(Bucket=BUCKET, Key=other, Body=b"x")
    s3.put_object(Bucket=BUCKET, Key="b1/j0003-x.json", Body=b"{}")
    asked = exported | {"j0002/x", "j9999", "j0003-x", "j0003-y", "notes"}
    calls = CountCalls(s3, "ListObjectsV2")
    # When the store is asked which of them are exported
    found = store.exported_among("b1", asked)
    # Then exactly the results are found, each with when it was written, in two calls
    assert set(found.written) == exported | {"j0003-x"}
    assert all(isinstance(when, datetime) for when in found.written.values())
    assert found.unanswered == []
    assert calls.calls == 2


def test_asking_about_a_few_jobs_of_a_large_batch_costs_a_few_calls(
    s3: Any, store: ResultStore, put_many: Callable[[Iterable[str]], None]
) -> None:
    # Given a batch with 2,500 exported results
    put_many(f"b1/j{n:04d}.json" for n in range(2_500))
    calls = CountCalls(s3, "ListObjectsV2")
    # When the store is asked about three jobs far apart, one of them not exported
    found = store.exported_among("b1", ["j0007", "j1200", "j2499x"])
    # Then the answer costs one call per job asked about, not one per 1,000 keys of the batch
    assert set(found.written) == {"j0007", "j1200"}
    assert calls.calls <= 3
    assert store.exported_among("b1", []) == ({}, [])


def test_a_job_behind_a_thousand_ids_it_prefixes_is_still_found(
    s3: Any, store: ResultStore, put_many: Callable[[Iterable[str]], None]
) -> None:
    # Given job "j" exported, and 500 jobs whose IDs it prefixes ("j-0000"...), each with a
    # folder of referenced files: a thousand entries that S3 sorts before "j.json"
    put_many(f"b1/j-{n:04d}{end}" for n in range(500) for end in (".json", "/mask.png"))
    s3.put_object(Bucket=BUCKET, Key="b1/j.json", Body=b"{}")
    calls = CountCalls(s3, "ListObjectsV2")
    # When the store is asked about "j"
    found = store.exported_among("b1", ["j"])
    # Then it is found: the first thousand entries decided nothing, and the listing went on
    # after the last of them (past that folder's files) rather than giving "j" up
    assert set(found.written) == {"j"}
    assert calls.calls == 2


def test_asking_stops_at_the_deadline_and_says_which_jobs_were_not_reached(
    s3: Any, store: ResultStore, put_many: Callable[[Iterable[str]], None]
) -> None:
    # Given six exported jobs sparse among the batch's results (a thousand others after each),
    # so that each costs a LIST of its own
    jobs = [f"j{n}" for n in range(6)]
    put_many(
        f"b1/{job}{end}"
        for job in jobs
        for end in [".json"] + [f"_{k:03d}.json" for k in range(999)]
    )
    calls = CountCalls(s3, "ListObjectsV2")

    # And a clock that each LIST moves on by a second, with the deadline 2.5 s away
    def clock() -> float:
        return float(calls.calls)

    # When the store is asked about all six (in another order than the keys')
    found = store.exported_among("b1", reversed(jobs), deadline=2.5, clock=clock)
    # Then it made three calls, none begun past the deadline, and answered the first three
    # jobs in key order; the other three are left to ask again
    assert calls.calls == 3
    assert (set(found.written), found.unanswered) == ({"j0", "j1", "j2"}, ["j3", "j4", "j5"])
    # And past the deadline already, one call is still made: asking always moves on
    assert set(store.exported_among("b1", jobs, deadline=0.0, clock=clock).written) == {"j0"}
    assert calls.calls == 4


def test_a_result_says_which_execution_wrote_it(s3: Any, store: ResultStore) -> None:
    # Given a small and a large result written for two executions
    store.write_result("b1", "a", io.BytesIO(b"{}"), overwrite=False, size_hint=2, execution="e1")
    large = b"[" + b" " * (LARGE - 2) + b"]"
    store.write_result("b1", "b", io.BytesIO(large), overwrite=False, execution="e2")
    s3.put_object(Bucket=BUCKET, Key="b1/c.json", Body=b"{}")
    # When asked / Then each names its execution, and one written by another tool none
    assert [store.written_by("b1", job) for job in ("a", "b", "c")] == ["e1", "e2", ""]


def test_the_prefix_scopes_every_key(s3: Any) -> None:
    # Given a store writing under a prefix
    store = ResultStore(S3Storage(s3, BUCKET), "exports/")
    try:
        # When a result and a referenced file are written
        store.write_result("b1", "a", io.BytesIO(b"{}"), overwrite=False, size_hint=2)
        key = store.write_referenced("b1", "a", "m.png", io.BytesIO(b"x"), overwrite=False)
        # Then both keys are under the prefix, and the listing finds the job there
        assert key == "exports/b1/a/m.png"
        assert read(s3, "exports/b1/a.json") == b"{}"
        assert s3.head_object(Bucket=BUCKET, Key=key)["ContentType"] == "image/png"
        assert set(store.exported_among("b1", ["a", "z"]).written) == {"a"}
    finally:
        store.close()


def test_a_create_only_write_puts_no_condition_on_later_writes_of_its_key(
    s3: Any, store: ResultStore
) -> None:
    # Given a large result written create-only by the store (one per container: a warm
    # container keeps it from run to run)
    store.write_result("b1", "a", io.BytesIO(b"[" + b" " * (LARGE - 2) + b"]"), overwrite=False)
    # When a later run writes the same job's large result with overwrite, through that store
    body = b"{" + b" " * (LARGE - 2) + b"}"
    store.write_result("b1", "a", io.BytesIO(body), overwrite=True)
    # Then it replaced the first: the create-only condition went with the write it was for
    assert read(s3, "b1/a.json") == body


def test_overwrite_replaces_a_large_object(s3: Any, store: ResultStore) -> None:
    # Given an existing object
    s3.put_object(Bucket=BUCKET, Key="b1/a.json", Body=b'{"earlier": true}')
    body = b"[" + b" " * (LARGE - 2) + b"]"
    # When a large body is written with overwrite
    store.write_result("b1", "a", io.BytesIO(body), overwrite=True)
    # Then it replaced the earlier one, typed as JSON
    assert read(s3, "b1/a.json") == body
    assert s3.head_object(Bucket=BUCKET, Key="b1/a.json")["ContentType"] == "application/json"


@pytest.mark.parametrize(
    ("size", "operation"),
    [(2_000, "PutObject"), (LARGE, "UploadPart")],
    ids=["single", "multipart"],
)
def test_a_result_damaged_on_the_way_is_refused_and_nothing_is_stored(
    s3: Any, store: ResultStore, size: int, operation: str
) -> None:
    # Given a result (small: one PutObject; large: a multipart upload) and a byte that changes
    # between the SDK and S3
    body = b"[" + b" " * (size - 2) + b"]"
    damage = DamageInTransit(s3, operation)
    hint = size if operation == "PutObject" else None
    # When it is written / Then S3's own check refuses it (BadDigest), and no object is left
    with pytest.raises(StorageError, match="BadDigest"):
        store.write_result("b1", "a", io.BytesIO(body), overwrite=False, size_hint=hint)
    assert damage.damaged == 1
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


HOME = StackHome(region=REGION, account=MOTO_ACCOUNT)


def test_a_bucket_in_the_stacks_region_and_account_passes_the_check(
    s3: Any, store: ResultStore
) -> None:
    # Given the results bucket in the stack's own region and account
    calls = CountCalls(s3, "GetBucketLocation")
    # When it is checked / Then nothing is raised, for the price of one call
    S3Storage(s3, BUCKET).check_home(HOME)
    assert calls.calls == 1


def test_a_bucket_in_another_region_is_refused_naming_both_regions(s3: Any) -> None:
    # Given a results bucket made in eu-west-1, and the stack in us-east-1
    far = "far-results"
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket=far, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    storage = S3Storage(s3, far)
    # When it is checked / Then one line names the bucket's region and account and the stack's
    with pytest.raises(ResultsBucketUnusable) as raised:
        storage.check_home(HOME)
    storage.close()
    assert str(raised.value) == (
        f"results bucket {far} is in eu-west-1, account {MOTO_ACCOUNT}; this stack runs in "
        f"us-east-1, account {MOTO_ACCOUNT}: a distributed Map reads its manifest and writes "
        "its results only in its own region and account; give ResultsBucketName a bucket "
        "there, or deploy the stack where the bucket is"
    )


def test_a_bucket_of_another_account_is_refused_naming_the_stacks(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a results bucket another account made (in the stack's region), and S3 answering
    # the bucket owner condition as it does (moto ignores it)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "111122223333")
    s3.create_bucket(Bucket="their-results")
    monkeypatch.delenv("MOTO_ACCOUNT_ID")
    owner_check = BucketOwnerCondition(s3, "GetBucketLocation")
    storage = S3Storage(s3, "their-results")
    # When it is checked from the stack's account
    with pytest.raises(ResultsBucketUnusable) as raised:
        storage.check_home(HOME)
    storage.close()
    # Then S3 refused it, and one line says the bucket is not the stack's account's
    assert owner_check.refused == 1
    assert str(raised.value).startswith(
        f"results bucket their-results is not in account {MOTO_ACCOUNT} (S3 refused the "
        "bucket owner check, AccessDenied, as it does for another account's bucket or a role "
        f"without s3:GetBucketLocation); this stack runs in us-east-1, account {MOTO_ACCOUNT}: "
        "a distributed Map reads its manifest"
    )


def test_a_bucket_that_does_not_exist_is_refused_by_name(s3: Any) -> None:
    # Given a results bucket name nobody made
    storage = S3Storage(s3, "no-such-results")
    # When it is checked / Then the error says so, with where the stack runs
    with pytest.raises(
        ResultsBucketUnusable,
        match=r"^results bucket no-such-results does not exist; this stack runs in us-east-1",
    ):
        storage.check_home(HOME)
    storage.close()
