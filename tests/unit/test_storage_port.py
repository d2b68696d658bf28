"""The storage port's own parts: what its errors carry (the command line and the outcomes
show them), and the reading helpers every adapter shares."""

import io
from itertools import islice
from pathlib import Path

from playment_exporter.storage import (
    LIST_PAGE_KEYS,
    Listing,
    MissingObject,
    StorageError,
    iter_lines,
    list_all,
)
from playment_exporter.storage_folder import FolderStorage

PAGE = 3  # keys per listing call of the folder below


class PagedFolder(FolderStorage):
    """A folder whose listing calls return a few keys each (as S3's do, a thousand), counted."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.calls = 0

    def list(
        self,
        prefix: str,
        *,
        start_after: str = "",
        delimiter: str = "",
        max_keys: int = LIST_PAGE_KEYS,
    ) -> Listing:
        self.calls += 1
        return super().list(prefix, start_after=start_after, delimiter=delimiter, max_keys=PAGE)


class Recorded(io.BytesIO):
    """A stream that records each size it is asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.asked: list[int | None] = []

    def read(self, size: int | None = -1, /) -> bytes:
        self.asked.append(size)
        return super().read(size)


def test_a_storage_error_carries_its_code_message_and_who_refused() -> None:
    # When a storage error is made without saying who refused
    error = StorageError("s3_AccessDenied", "b1/a.json: denied")
    # Then it is S3's, and shows its code and message
    assert error.code == "s3_AccessDenied"
    assert error.message == "b1/a.json: denied"
    assert error.where == "S3"
    assert str(error) == "s3_AccessDenied: b1/a.json: denied"


def test_a_missing_object_is_s3s_no_such_key_by_default() -> None:
    # When a missing object is made from its key alone
    missing = MissingObject("b1/a.json")
    # Then it is S3's NoSuchKey, naming the key, and a storage error
    assert isinstance(missing, StorageError)
    assert missing.key == "b1/a.json"
    assert missing.code == "s3_NoSuchKey"
    assert missing.where == "S3"
    assert missing.message == "no object b1/a.json"
    assert str(missing) == "s3_NoSuchKey: no object b1/a.json"


def test_a_missing_object_keeps_the_adapters_code_and_where() -> None:
    # When an adapter names its own code and place
    missing = MissingObject("b1/a.json", "folder_missing", where="the output folder")
    # Then the error carries them
    assert (missing.code, missing.where, missing.key) == (
        "folder_missing",
        "the output folder",
        "b1/a.json",
    )


def test_lines_are_read_a_chunk_at_a_time_across_chunk_ends() -> None:
    # Given JSON Lines whose lines cross the chunks' ends, with an empty line, no final newline
    stream = Recorded(b'{"a": 1}\n\n{"b": 22}\n{"c": 3}')
    # When its lines are read four bytes at a time
    lines = list(iter_lines(stream, chunk_size=4))
    # Then each non-empty line comes whole, in order
    assert lines == [b'{"a": 1}', b'{"b": 22}', b'{"c": 3}']
    # And the stream was never asked for more than a chunk
    assert set(stream.asked) == {4}


def test_list_all_pages_through_every_key_once_in_order(tmp_path: Path) -> None:
    # Given seven keys, digits first, and a listing that gives three a call
    storage = PagedFolder(tmp_path / "out")
    keys = ["0.json", "1.json", "A.json", "b/a.json", "b/b.json", "c.json", "d.json"]
    for key in keys:
        storage.put(key, b"{}", content_type="application/json")
    # When every object is listed (at most twice as many taken, should it repeat)
    listed = [stored.key for stored in islice(list_all(storage, ""), 2 * len(keys))]
    # Then each key comes once, in order, in three calls: none after the one not cut
    assert listed == keys
    assert storage.calls == 3


def test_list_all_enters_after_start_after(tmp_path: Path) -> None:
    # Given keys over three pages
    storage = PagedFolder(tmp_path / "out")
    for key in ["a.json", "b.json", "c.json", "d.json", "e.json", "f.json", "g.json"]:
        storage.put(key, b"{}", content_type="application/json")
    # When the objects after b.json are listed
    listed = [stored.key for stored in islice(list_all(storage, "", start_after="b.json"), 14)]
    # Then the listing starts just after it
    assert listed == ["c.json", "d.json", "e.json", "f.json", "g.json"]
