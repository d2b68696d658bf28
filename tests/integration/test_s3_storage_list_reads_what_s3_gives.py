"""S3Storage.list against S3 in moto: a listing with only a prefix starts at the first key and
folds nothing, carries each object's size as S3 gives it, and a refused listing names its
prefix."""

from collections.abc import Iterator
from typing import Any

import pytest

from playment_exporter.storage import StorageError
from playment_exporter.storage_s3 import S3Storage
from tests.conftest import BUCKET


@pytest.fixture
def storage(s3: Any) -> Iterator[S3Storage]:
    made = S3Storage(s3, BUCKET)
    yield made
    made.close()


def test_a_listing_with_only_a_prefix_starts_at_the_first_key(s3: Any, storage: S3Storage) -> None:
    # Given keys that sort before letters: digits and capitals first, as batch ids may be
    for key in ("0/a.json", "A/b.json", "b/c.json"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"{}")
    # When the whole bucket is listed, with no key to start after
    listing = storage.list("")
    # Then every key is there, from the first
    assert [stored.key for stored in listing.objects] == ["0/a.json", "A/b.json", "b/c.json"]


def test_a_listing_without_a_delimiter_folds_no_key(s3: Any, storage: S3Storage) -> None:
    # Given keys in folders under b1/, their names of any characters
    keys = ["b1/XXXX/1.json", "b1/a.json", "b1/parts/x/2.json"]
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"{}")
    # When b1/ is listed with no delimiter
    listing = storage.list("b1/")
    # Then every key is an object of its own, and no folder is folded out of any
    assert [stored.key for stored in listing.objects] == keys
    assert listing.folders == []


def test_a_listing_gives_each_objects_size(s3: Any, storage: S3Storage) -> None:
    # Given an empty object and one of 5 bytes
    s3.put_object(Bucket=BUCKET, Key="b1/empty.json", Body=b"")
    s3.put_object(Bucket=BUCKET, Key="b1/five.json", Body=b"12345")
    # When b1/ is listed
    listing = storage.list("b1/")
    # Then each object carries the size S3 gives
    assert [(stored.key, stored.size) for stored in listing.objects] == [
        ("b1/empty.json", 0),
        ("b1/five.json", 5),
    ]


def test_a_refused_listing_names_its_prefix_and_s3s_code(s3: Any) -> None:
    # Given a bucket nobody made
    storage = S3Storage(s3, "no-such-results")
    # When a prefix in it is listed / Then the refusal names the prefix and S3's code
    with pytest.raises(StorageError) as raised:
        storage.list("b1/")
    storage.close()
    assert raised.value.code == "s3_NoSuchBucket"
    assert raised.value.message == "S3 refused ListObjectsV2 of b1/"
