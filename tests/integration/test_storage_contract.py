"""What every storage adapter promises the domain, held to the S3 adapter (moto) and the
folder adapter alike: create-only writes, whole objects, S3's listing semantics."""

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from playment_exporter.errors import AlreadyExported
from playment_exporter.storage import MissingObject, Storage, StorageError, list_all, read_all
from playment_exporter.storage_folder import FolderStorage
from playment_exporter.storage_s3 import MiB, S3Storage
from tests.conftest import BUCKET
from tests.integration.s3_answers import DenyDeletes

LARGE = 9 * MiB  # past the S3 adapter's multipart threshold


class Breaks:
    """A body that gives some bytes, then raises (a transfer cut short, a body rejected)."""

    def __init__(self, first: bytes) -> None:
        self._first = first

    def read(self, size: int = -1, /) -> bytes:
        if self._first:
            given, self._first = self._first, b""
            return given
        raise ValueError("the body broke off")


@pytest.fixture(params=["s3", "folder"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "s3":
        s3: Any = request.getfixturevalue("s3")
        made = S3Storage(s3, BUCKET, workers=2)
        yield made
        made.close()
    else:
        folder = FolderStorage(tmp_path / "out")
        yield folder
        folder.close()


def put(storage: Storage, key: str, body: bytes = b"{}", **options: Any) -> None:
    storage.put(key, io.BytesIO(body), content_type="application/json", **options)


@pytest.mark.parametrize("size_hint", [2, LARGE, None], ids=["small", "large", "no-hint"])
def test_a_create_only_write_never_replaces_an_object(
    storage: Storage, size_hint: int | None
) -> None:
    # Given an object at the key
    put(storage, "b1/a.json", b'{"earlier": 1}')
    # When another body is written there create-only
    # Then it is refused as already exported, and the object is as it was
    with pytest.raises(AlreadyExported):
        put(storage, "b1/a.json", b"{}", create_only=True, size_hint=size_hint)
    assert read_all(storage, "b1/a.json") == b'{"earlier": 1}'


def test_a_plain_write_replaces_the_object_whole(storage: Storage) -> None:
    # Given an object at the key
    put(storage, "b1/a.json", b'{"earlier": 1}')
    # When a new body is written there without create_only
    put(storage, "b1/a.json", b'{"later": 2}')
    # Then the key holds the new body
    assert read_all(storage, "b1/a.json") == b'{"later": 2}'


@pytest.mark.parametrize("size_hint", [None, LARGE], ids=["no-hint", "large"])
def test_a_body_that_breaks_off_leaves_nothing_under_its_key(
    storage: Storage, size_hint: int | None
) -> None:
    # When a body raises after its first bytes
    with pytest.raises(ValueError, match="broke off"):
        storage.put(
            "b1/a.json", Breaks(b"x" * 1000), content_type="application/json", size_hint=size_hint
        )
    # Then no object is there, nor listed
    with pytest.raises(MissingObject):
        storage.head("b1/a.json")
    assert storage.list("b1/").objects == []


def test_a_large_body_is_stored_byte_for_byte(storage: Storage) -> None:
    # Given a body past the multipart threshold
    body = bytes(range(256)) * (LARGE // 256)
    # When it is written with no size known
    put(storage, "b1/big.json", body)
    # Then it reads back the same, and its head says its size
    assert read_all(storage, "b1/big.json") == body
    assert storage.head("b1/big.json").size == len(body)


def test_metadata_and_head(storage: Storage) -> None:
    # When an object is written with metadata
    put(storage, "b1/a.json", b"{}", metadata={"export-execution": "run-1"})
    # Then its head gives it back
    assert storage.head("b1/a.json").metadata == {"export-execution": "run-1"}
    # And a key with nothing there is missing, to head and to open
    with pytest.raises(MissingObject):
        storage.head("b1/none.json")
    with pytest.raises(MissingObject):
        storage.open("b1/none.json")


def test_list_in_key_order_with_prefix_start_after_and_delimiter(storage: Storage) -> None:
    # Given keys whose order differs from a folder walk's ('-' sorts before '/')
    keys = ["a-1.json", "a.json", "a/x.png", "b/c.json", "b/c/d.png", "ba.json", "z.json"]
    for key in reversed(keys):
        put(storage, key)
    # Then a listing of everything is in key order
    assert [item.key for item in list_all(storage, "")] == sorted(keys)
    # And a prefix picks keys by their start, not by folder
    assert [item.key for item in storage.list("b").objects] == ["b/c.json", "b/c/d.png", "ba.json"]
    # And start_after enters the listing just after it
    listed = storage.list("", start_after="a/x.png")
    assert [item.key for item in listed.objects] == ["b/c.json", "b/c/d.png", "ba.json", "z.json"]
    # And a delimiter folds the keys past the next '/' into folders
    folded = storage.list("", delimiter="/")
    assert [item.key for item in folded.objects] == ["a-1.json", "a.json", "ba.json", "z.json"]
    assert folded.folders == ["a/", "b/"]
    # And a folder given as start_after is skipped with its keys
    after = storage.list("b/", start_after="b/c/", delimiter="/")
    assert after.objects == []
    assert after.folders == []
    # And max_keys cuts the listing, saying so
    cut = storage.list("", max_keys=2)
    assert [item.key for item in cut.objects] == ["a-1.json", "a.json"]
    assert cut.truncated


def test_delete_removes_and_a_missing_key_is_no_error(storage: Storage) -> None:
    # Given an object
    put(storage, "b1/a/mask.png", b"png")
    # When it is deleted, and deleted again
    storage.delete("b1/a/mask.png")
    storage.delete("b1/a/mask.png")
    # Then it is gone
    assert storage.list("b1/").objects == []


def test_a_refused_delete_names_the_object_and_s3s_code(s3: Any) -> None:
    # Given an S3 bucket whose policies refuse to delete one object
    storage = S3Storage(s3, BUCKET, workers=2)
    put(storage, "b1/a/mask.png", b"png")
    DenyDeletes(s3, {"b1/a/mask.png"})
    # When it is deleted / Then the error says which object S3 refused, and S3's code
    with pytest.raises(StorageError) as raised:
        storage.delete("b1/a/mask.png")
    storage.close()
    assert raised.value.code == "s3_AccessDenied"
    assert raised.value.message == "S3 refused DeleteObject of b1/a/mask.png"
