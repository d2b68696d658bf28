"""S3Storage's head and its home check against S3 in moto: what a head reads of an object, and
the bucket answers (a legacy "EU" location, a 403 without a body, no such bucket) the check
must tell apart."""

from collections.abc import Iterator
from typing import Any

import pytest

from playment_exporter.errors import ResultsBucketUnusable
from playment_exporter.storage import MissingObject
from playment_exporter.storage_s3 import S3Storage, StackHome
from tests.conftest import BUCKET, REGION
from tests.integration.conftest import MOTO_ACCOUNT
from tests.integration.s3_answers import FailFirstCalls

HOME = StackHome(region=REGION, account=MOTO_ACCOUNT)


@pytest.fixture
def storage(s3: Any) -> Iterator[S3Storage]:
    made = S3Storage(s3, BUCKET)
    yield made
    made.close()


def test_head_reads_the_key_size_and_time_s3_gives(s3: Any, storage: S3Storage) -> None:
    # Given an object of 5 bytes, written without metadata
    s3.put_object(Bucket=BUCKET, Key="b1/a.json", Body=b"12345")
    # When its head is read
    head = storage.head("b1/a.json")
    # Then it is S3's own: key, size, last modified, and no metadata
    assert head.key == "b1/a.json"
    assert head.size == 5
    assert head.last_modified == s3.head_object(Bucket=BUCKET, Key="b1/a.json")["LastModified"]
    assert head.metadata == {}


def test_head_of_a_missing_key_names_the_key(storage: S3Storage) -> None:
    # Given nothing under b1/none.json
    # When its head is read / Then MissingObject names the key
    with pytest.raises(MissingObject) as raised:
        storage.head("b1/none.json")
    assert raised.value.key == "b1/none.json"
    assert raised.value.message == "no object b1/none.json"


def test_a_bucket_in_the_legacy_eu_location_is_in_eu_west_1(s3: Any) -> None:
    # Given a bucket made with the legacy location constraint "EU", which GetBucketLocation
    # gives back as it was made
    s3.create_bucket(Bucket="eu-results", CreateBucketConfiguration={"LocationConstraint": "EU"})
    storage = S3Storage(s3, "eu-results")
    # When it is checked for a stack in eu-west-1 / Then it passes
    storage.check_home(StackHome(region="eu-west-1", account=MOTO_ACCOUNT))
    # And for a stack in us-east-1 it is refused as in eu-west-1
    with pytest.raises(ResultsBucketUnusable, match=r"^results bucket eu-results is in eu-west-1,"):
        storage.check_home(HOME)
    storage.close()


def test_a_refusal_without_a_code_is_read_as_another_accounts_bucket(
    s3: Any, storage: S3Storage
) -> None:
    # Given S3 answering the location request 403 with no body: botocore's code is "403"
    FailFirstCalls(s3, "GetBucketLocation", status=403, code="403")
    # When the bucket is checked / Then it is refused as not the stack's account's, with "403"
    with pytest.raises(ResultsBucketUnusable) as raised:
        storage.check_home(HOME)
    assert str(raised.value).startswith(
        f"results bucket {BUCKET} is not in account {MOTO_ACCOUNT} (S3 refused the bucket "
        "owner check, 403, as it does"
    )


def test_a_missing_bucket_is_refused_with_what_to_do(s3: Any) -> None:
    # Given a results bucket name nobody made
    storage = S3Storage(s3, "no-such-results")
    # When it is checked / Then the whole line says so, where the stack runs, and what to do
    with pytest.raises(ResultsBucketUnusable) as raised:
        storage.check_home(HOME)
    storage.close()
    assert str(raised.value) == (
        f"results bucket no-such-results does not exist; this stack runs in us-east-1, account "
        f"{MOTO_ACCOUNT}: create it there, or leave ResultsBucketName empty for the stack to "
        "make one"
    )
